#!/usr/bin/env python3
"""A ratchet-bench shim skeleton (shim protocol version 1, see ../PROTOCOL.md).

Copy this file into your project, then fill in `Implementation` with calls into your
ratchet library. Everything else -- the JSON-lines framing, the hello, the dispatch of
requests, the table of parties, the mapping of errors -- is done here and needs no change.

    python3 shim.py           the skeleton: a valid hello, every request `unimplemented`
    python3 shim.py --echo    a stand-in with no cryptography at all, used only by the
                              bench's own tests and its benchmark of the shim host (below)
    python3 shim.py --echo --host-rng
                              the same, drawing its session ids and nonces from the bench
                              (the protocol's optional host_rng feature, below)
    python3 shim.py --echo --own-family
                              the same, declaring a family of its own ("template-echo")
                              instead of claiming signal-dr (the hello's `declares`)

Randomness: if your library lets you pass it random bytes, declare `host_rng` (set
`HOST_RNG = True`) and take every random byte from `random(n)` while handling a request: the
bench answers from the party's own generator, so your bytes can be compared with the other
peers' byte for byte and the bench's vectors replay on your shim. Otherwise take them from
the `seed` (or the OS) and leave `HOST_RNG = False`.

Check your shim with:

    ratchet-bench list --peer shim:mine="python3 path/to/shim.py"
    ratchet-bench run  --peer shim:mine="python3 path/to/shim.py" --peer reference

Standard library only, Python 3.8 or later.
"""

import hashlib
import json
import sys

PROTOCOL = 1


class Refused(Exception):
    """The implementation refused an input: becomes an `err` answer.

    `klass` is one of the protocol's canonical classes; `detail` should be your library's
    own error text, so that a person reading a finding sees what it said.
    """

    CLASSES = ("auth", "replay", "too-far-ahead", "malformed", "storage-full",
               "unknown-session", "other")

    def __init__(self, klass, detail):
        super().__init__(detail)
        self.klass = klass if klass in self.CLASSES else "other"
        self.detail = str(detail)


class Unimplemented(Exception):
    """The shim does not support this request: becomes an `unimplemented` answer (not a
    finding; the bench treats the capability as absent)."""


def classify(error):
    """Map your library's exceptions onto the canonical classes, as precisely as its error
    types allow. Replace the examples with your library's exception types."""
    name = type(error).__name__.lower()
    if "mac" in name or "auth" in name or "signature" in name:
        return Refused("auth", f"{type(error).__name__}: {error}")
    if "duplicate" in name or "replay" in name:
        return Refused("replay", f"{type(error).__name__}: {error}")
    if "decode" in name or "parse" in name:
        return Refused("malformed", f"{type(error).__name__}: {error}")
    return Refused("other", f"{type(error).__name__}: {error}")


# ---------------------------------------------------------------------------------------
# Your implementation goes here.
# ---------------------------------------------------------------------------------------

class Implementation:
    """One peer: replace each method's body with calls into your library.

    A *party* is whatever object your library uses for one side of a session; return it
    from `respond` / `initiate` / `restore` and it is handed back to the other methods.
    Byte arguments and results are `bytes`. Raise `Refused` (or let your library's own
    exception through: `classify` maps it) to refuse, `Unimplemented` for what you do not
    support.
    """

    # What the hello says. Take the limits from your library's source and say where in
    # your README: the oracle holds the implementation to them.
    IMPLEMENTATION = "my-ratchet"
    VERSION = "0.0.0"
    FAMILY = "signal-dr"  # signal-dr, signal-v3, dr2, mls, olm, megolm or libsignal
    # A wire format the bench does not know: name it in FAMILY and describe it here, with
    # what the oracles need (see PROTOCOL.md, "A family of your own"); None for a built-in
    # family. For example:
    # DECLARES = {"description": "my messenger's ratchet, v2 wire format",
    #             "ratchets_per_turn": True, "uses_previous_length": True,
    #             "deletes_used_keys": True}
    DECLARES = None
    LIMITS = {
        "max_skip": 1000,             # most keys one message may make it derive per chain
        "max_stored": 2000,           # skipped keys kept in all (None: unbounded)
        "max_stored_per_chain": None,  # skipped keys kept per chain (None: unbounded)
        "when_full": "refuse",        # refuse, evict-oldest or unbounded
        "window": None,               # drops keys this far behind the newest (None: no)
        "max_chains": None,           # receiving chains kept (None: unbounded)
    }
    CAPABILITIES = {"injectable_rng": False, "export_state": False}
    # True if every random byte of a party comes from `random(n)` (below), in the order and
    # amounts your library consumes them. Declared only when the bench offers the feature.
    HOST_RNG = False
    WEAKENED = []

    def respond(self, shared_secret, seed):
        """Build the responder (Bob); return (party, bundle). `seed` is None when the bench
        gives the random bytes through `random(n)` instead."""
        raise Unimplemented("respond: connect your library here")

    def initiate(self, shared_secret, bundle, seed):
        """Build the initiator (Alice) from the responder's bundle; return the party."""
        raise Unimplemented("initiate: connect your library here")

    def handshake(self, party):
        """Bytes the responder must take before any message, or None."""
        return None

    def join(self, party, handshake):
        """The responder takes the initiator's handshake bytes."""
        raise Unimplemented("join: this family needs no handshake")

    def encrypt(self, party, ad, plaintext):
        """Return the wire bytes, exactly as your library puts them on the network."""
        raise Unimplemented("encrypt: connect your library here")

    def decrypt(self, party, ad, wire):
        """Return the plaintext; refuse forgeries, replays, foreign messages."""
        raise Unimplemented("decrypt: connect your library here")

    def export(self, party):
        """The party's whole state as bytes (a pickle, a serialisation)."""
        raise Unimplemented("export: no state serialisation")

    def restore(self, state, seed):
        """A new party from bytes `export` returned."""
        raise Unimplemented("restore: no state serialisation")

    def layout(self, wire):
        """Where header, body, MAC (and the ratchet key) lie, as [start, end] pairs."""
        raise Unimplemented("layout: the bench then treats the whole message as body")


class Echo(Implementation):
    """`--echo`: NOT a ratchet. A stand-in for the bench's own tests and its benchmark of
    the shim host: it exercises every request with trivial work, so that what is measured
    or tested is the protocol, not a library.

    Wire: b"ECHO" || counter (4 bytes, big-endian) || plaintext || 8-byte SHA-256 checksum
    over the session id, the associated data and the rest. No secrecy and no authentication
    (anyone can compute the checksum): the hello says so in `weakened`. It refuses a
    counter it has seen (replay), a bad checksum (auth) and short input (malformed).
    """

    IMPLEMENTATION = "template-echo"
    VERSION = "1 (no cryptography)"
    LIMITS = {"max_skip": 2**31 - 1, "max_stored": None, "max_stored_per_chain": None,
              "when_full": "unbounded", "window": None, "max_chains": None}
    CAPABILITIES = {"injectable_rng": False, "export_state": True}
    WEAKENED = ["echo mode: no encryption and no authentication (a public checksum); "
                "only for the bench's own tests and benchmark"]

    def __init__(self, host_rng=False, own_family=False):
        # --host-rng: session ids and a 4-byte nonce per message come from the bench.
        self.HOST_RNG = host_rng
        if host_rng:
            self.VERSION = "1 (no cryptography, host randomness)"
        if own_family:
            # --own-family: the echo format is no signal-dr; say what it is. Each side
            # numbers its messages in one sequence for the whole session (no new chain per
            # turn, no previous-chain length in the header), and refuses a number it has
            # seen (a used "key" is gone).
            self.FAMILY = "template-echo"
            self.DECLARES = {
                "description": "the template's echo stand-in: a counter and a public checksum, "
                               "no cryptography",
                "ratchets_per_turn": False,
                "uses_previous_length": False,
                "deletes_used_keys": True,
            }

    @staticmethod
    def _tag(session, ad, body):
        return hashlib.sha256(session + len(ad).to_bytes(4, "big") + ad + body).digest()[:8]

    def respond(self, shared_secret, seed):
        if seed is None:
            session = random(16)
        else:
            session = hashlib.sha256(b"echo session" + seed).digest()[:16]
        return {"session": session, "sent": 0, "seen": set()}, session

    def initiate(self, shared_secret, bundle, seed):
        if len(bundle) != 16:
            raise Refused("malformed", f"bundle of {len(bundle)} bytes, expected 16")
        return {"session": bytes(bundle), "sent": 0, "seen": set()}

    def encrypt(self, party, ad, plaintext):
        # With host randomness a 4-byte nonce follows the plaintext.
        nonce = random(4) if self.HOST_RNG else b""
        body = b"ECHO" + party["sent"].to_bytes(4, "big") + plaintext + nonce
        party["sent"] += 1
        return body + self._tag(party["session"], ad, body)

    def decrypt(self, party, ad, wire):
        if len(wire) < 16 or wire[:4] != b"ECHO":
            raise Refused("malformed", f"not an echo message ({len(wire)} bytes)")
        body, tag = wire[:-8], wire[-8:]
        if tag != self._tag(party["session"], ad, body):
            raise Refused("auth", "checksum mismatch")
        n = int.from_bytes(body[4:8], "big")
        if n in party["seen"]:
            raise Refused("replay", f"counter {n} already received")
        party["seen"].add(n)
        return body[8:-4] if self.HOST_RNG else body[8:]

    def export(self, party):
        return json.dumps({"session": party["session"].hex(), "sent": party["sent"],
                           "seen": sorted(party["seen"])}).encode()

    def restore(self, state, seed):
        try:
            s = json.loads(state)
            return {"session": bytes.fromhex(s["session"]), "sent": int(s["sent"]),
                    "seen": set(s["seen"])}
        except (ValueError, KeyError, TypeError) as e:
            raise Refused("malformed", f"not an echo state: {e}")

    def layout(self, wire):
        n = len(wire)
        return {"header": [0, min(8, n)], "body": [min(8, n), max(8, n - 8)],
                "mac": [max(8, n - 8), n], "ratchet_key": None}


# ---------------------------------------------------------------------------------------
# The protocol: nothing below needs changing.
# ---------------------------------------------------------------------------------------

def log(*args):
    """Logs go to stderr: stdout carries answers only. The bench shows the last lines of
    stderr when the shim misbehaves."""
    print(*args, file=sys.stderr, flush=True)


class HostRandom:
    """`random(n)` while a request is under way: asks the bench for n random bytes of the
    party the request is about (`{"id": <request id>, "random": n}`, n from 1 to 4096, at
    most 65536 in one request) and reads its answer (`{"id": <request id>, "random": hex}`)
    from stdin before going on. Only for a peer that declared `host_rng`."""

    def __init__(self):
        self.stdin = self.stdout = None
        self.request = None

    def __call__(self, n):
        if n == 0:
            return b""
        if self.request is None:
            raise RuntimeError("random(%d) outside a request" % n)
        out = b""
        while len(out) < n:  # asks of at most 4096 bytes
            k = min(n - len(out), 4096)
            line = json.dumps({"id": self.request, "random": k}, separators=(",", ":"))
            self.stdout.write(line.encode() + b"\n")
            self.stdout.flush()
            answer = json.loads(self.stdin.readline())
            if answer.get("id") != self.request or not isinstance(answer.get("random"), str):
                raise RuntimeError("the bench answered an ask with %r" % (answer,))
            chunk = bytes.fromhex(answer["random"])
            if len(chunk) != k:
                raise RuntimeError("asked for %d random bytes, got %d" % (k, len(chunk)))
            out += chunk
        return out


random = HostRandom()


def b(fields, key):
    """A byte-string field of a request (lowercase hex on the wire)."""
    try:
        return bytes.fromhex(fields[key])
    except (KeyError, TypeError, ValueError):
        raise Refused("malformed", f"request field {key!r} is missing or not hex")


def seed_of(req):
    """The `seed` of a request building a party: None when the bench sends none (it gives
    the bytes through `random(n)` to a peer that declared host_rng)."""
    return b(req, "seed") if "seed" in req else None


class Shim:
    def __init__(self, peers):
        self.peers = peers      # index in the hello's "peers" -> Implementation
        self.parties = {}       # party number (chosen by the bench) -> (peer, party object)
        # The optional features that save round trips, taken up when the bench offers them:
        # `encrypt_many` (a jump's lost messages in one request) and `wire_layout` (each
        # encryption's answer carries the wire's layout; only when `layout` is implemented).
        self.encrypt_many = self.wire_layout = False

    def hello(self, req):
        if req.get("protocol") != PROTOCOL:
            log(f"the bench speaks protocol {req.get('protocol')}, this shim {PROTOCOL}")
        features = req.get("features") or []
        offered = "host_rng" in features
        for p in self.peers:
            if p.HOST_RNG and not offered:
                # An older bench: no asks; take randomness from the seed instead.
                log("the bench does not offer host_rng: drawing from the seed")
                p.HOST_RNG = False
        self.encrypt_many = "encrypt_many" in features
        self.wire_layout = "wire_layout" in features and all(
            type(p).layout is not Implementation.layout for p in self.peers)
        first = self.peers[0]
        return {
            "protocol": PROTOCOL,
            "implementation": first.IMPLEMENTATION,
            "version": first.VERSION,
            "peers": [self.declared(p) for p in self.peers],
            "features": [f for f, on in (("encrypt_many", self.encrypt_many),
                                         ("wire_layout", self.wire_layout)) if on],
        }

    @staticmethod
    def declared(p):
        """One peer of the hello: its family (and the family's declaration, if it is one of
        its own), limits, capabilities and weakened checks."""
        peer = {"family": p.FAMILY, "limits": p.LIMITS,
                "capabilities": dict(p.CAPABILITIES, host_rng=p.HOST_RNG),
                "weakened": p.WEAKENED}
        if p.DECLARES is not None:
            peer["declares"] = p.DECLARES
        return peer

    def encrypted(self, impl, wire):
        """The `ok` fields of one encryption: the wire, and its layout with wire_layout."""
        if self.wire_layout:
            return {"wire": wire.hex(), "layout": impl.layout(wire)}
        return {"wire": wire.hex()}

    def batch(self, impl, party, req):
        """`encrypt_many`: `count` encryptions in a row, stopped by the first refusal (the
        wires made before it stand, `refused` says why the rest were not made)."""
        ad, plaintext = b(req, "ad"), b(req, "plaintext")
        count = req.get("count")
        if not isinstance(count, int) or count < 1:
            raise Refused("other", f"encrypt_many: count {count!r} is not a positive integer")
        wires, layouts, refused = [], [], None
        for _ in range(count):
            try:
                wire = impl.encrypt(party, ad, plaintext)
            except Unimplemented:
                raise
            except Exception as e:  # noqa: BLE001 - the refusal stops the batch
                refused = e if isinstance(e, Refused) else classify(e)
                break
            wires.append(wire.hex())
            if self.wire_layout:
                layouts.append(impl.layout(wire))
        if not wires and refused is not None:
            raise refused
        out = {"wires": wires}
        if self.wire_layout:
            out["layouts"] = layouts
        if refused is not None:
            out["refused"] = {"class": refused.klass, "detail": refused.detail}
        return out

    def peer(self, req):
        try:
            return self.peers[req["peer"]]
        except (KeyError, IndexError, TypeError):
            raise Refused("other", f"no peer {req.get('peer')!r}")

    def party(self, req):
        try:
            return self.parties[req["party"]]
        except KeyError:
            raise Refused("unknown-session", f"no party {req.get('party')!r}")

    def dispatch(self, req):
        """The `ok` fields of the answer to `req`."""
        op = req.get("op")
        if op == "hello":
            return self.hello(req)
        if op == "respond":
            impl = self.peer(req)
            party, bundle = impl.respond(b(req, "shared_secret"), seed_of(req))
            self.parties[req["party"]] = (impl, party)
            return {"bundle": bundle.hex()}
        if op == "initiate":
            impl = self.peer(req)
            party = impl.initiate(b(req, "shared_secret"), b(req, "bundle"), seed_of(req))
            self.parties[req["party"]] = (impl, party)
            return {}
        if op == "restore":
            impl = self.peer(req)
            self.parties[req["party"]] = (impl, impl.restore(b(req, "state"), seed_of(req)))
            return {}
        if op == "layout":
            return self.peer(req).layout(b(req, "wire"))
        if op == "drop":
            self.parties.pop(req.get("party"), None)
            return {}
        impl, party = self.party(req)
        if op == "encrypt":
            return self.encrypted(impl, impl.encrypt(party, b(req, "ad"), b(req, "plaintext")))
        if op == "encrypt_many" and self.encrypt_many:
            return self.batch(impl, party, req)
        if op == "decrypt":
            return {"plaintext": impl.decrypt(party, b(req, "ad"), b(req, "wire")).hex()}
        if op == "handshake":
            h = impl.handshake(party)
            return {"handshake": None if h is None else h.hex()}
        if op == "join":
            impl.join(party, b(req, "handshake"))
            return {}
        if op == "export":
            return {"state": impl.export(party).hex()}
        raise Unimplemented(f"unknown op {op!r}")

    def answer(self, line):
        try:
            req = json.loads(line)
        except ValueError as e:
            # The bench never sends this; answer something it can show rather than die.
            return {"id": -1, "err": {"class": "other", "detail": f"request not JSON: {e}"}}
        rid = req.get("id")
        random.request = rid
        try:
            return {"id": rid, "ok": self.dispatch(req)}
        except Refused as e:
            return {"id": rid, "err": {"class": e.klass, "detail": e.detail}}
        except Unimplemented as e:
            return {"id": rid, "unimplemented": str(e)}
        except Exception as e:  # the library's own exceptions
            r = classify(e)
            return {"id": rid, "err": {"class": r.klass, "detail": r.detail}}

    def serve(self, stdin, stdout):
        random.stdin, random.stdout = stdin, stdout
        for line in stdin:
            if not line.strip():
                continue
            answer = self.answer(line)
            random.request = None
            stdout.write(json.dumps(answer, separators=(",", ":")).encode())
            stdout.write(b"\n")
            stdout.flush()


def main(argv):
    if "--echo" in argv:
        impl = Echo("--host-rng" in argv, "--own-family" in argv)
    else:
        impl = Implementation()
    Shim([impl]).serve(sys.stdin.buffer, sys.stdout.buffer)
    return 0  # stdin closed: the bench is done


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
