#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""python doubleratchet (Syndace's DoubleRatchet 1.3.0) as a peer of the bench's family
"signal-dr", configured to the bench's profile (references/src/signal_dr/).

Speaks the shim protocol v1 (shims/PROTOCOL.md) on stdin / stdout, logs on stderr.
See README.md for the profile mapping, the limits and how far bytes agree.
"""

import copy
import hashlib
import json
import sys
import traceback
from collections import OrderedDict

from doubleratchet import DoubleRatchet as LibraryDoubleRatchet
from doubleratchet import Header
from doubleratchet.aead import AuthenticationFailedException, DecryptionFailedException
from doubleratchet.diffie_hellman_ratchet import DoSProtectionException, DuplicateMessageException
from doubleratchet.recommended import HashFunction
from doubleratchet.recommended import aead_aes_hmac, diffie_hellman_ratchet_curve25519
from doubleratchet.recommended import kdf_hkdf, kdf_separate_hmacs
from doubleratchet.types import EncryptedMessage
from doubleratchet.version import __version__ as LIBRARY_VERSION

PROTOCOL = 1

# The bench's signal-dr profile (references/src/signal_dr/mod.rs).
KDF_RK_INFO = b"ratchet-bench signal-dr KDF_RK"
ENCRYPT_INFO = b"ratchet-bench signal-dr ENCRYPT"
# KDF_CK: the library's message chain feeds this constant to its KDF and keeps the first 32
# bytes of the output as the next chain key, the rest as the message key; the separate-HMACs
# KDF computes one HMAC-SHA-256 per constant byte: next ck = HMAC(ck, 0x02), mk = HMAC(ck, 0x01).
MESSAGE_CHAIN_CONSTANT = b"\x02\x01"
# What the shim configures (README.md): the most keys one message may make the library
# derive in one chain (its dos_protection_threshold), and the skipped keys it keeps in all
# (max_num_skipped_message_keys; the library then drops the oldest).
MAX_SKIP = 1000
MAX_STORED = 2000

KEY_LEN = 32
HEADER_LEN = 40
MAC_LEN = 32
BLOCK = 16


class Refusal(Exception):
    """A refusal to answer as {"err": {"class", "detail"}}."""

    def __init__(self, klass, detail):
        super().__init__(detail)
        self.klass = klass
        self.detail = detail


class Unimplemented(Exception):
    """A request this shim does not support."""


# --- randomness -------------------------------------------------------------------------


class SeededBytes:
    """The party's random bytes, all drawn from the 32-byte seed the bench sends.

    Block i of the stream is SHA-256("ratchet-bench doubleratchet shim rng" || seed ||
    u64 BE i); draws take the stream's bytes in order. The only draws are X25519 private
    keys, 32 bytes each, where the reference draws them.
    """

    def __init__(self, seed):
        self.seed = bytes(seed)
        self.block = 0
        self.buffer = b""

    def __call__(self, n):
        while len(self.buffer) < n:
            h = hashlib.sha256(b"ratchet-bench doubleratchet shim rng")
            h.update(self.seed)
            h.update(self.block.to_bytes(8, "big"))
            self.buffer += h.digest()
            self.block += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


class HostBytes:
    """The party's random bytes asked from the bench (the protocol's host_rng feature):
    while a request is under way, `{"id": <request id>, "random": n}` on stdout, and the
    bench's `{"id": <request id>, "random": "<hex>"}` read from stdin, drawn from the
    generator of the party the request is about. The bench gives these bytes from the same
    stream as the other peers', so the keys are the reference's keys."""

    def __init__(self):
        self.offered = False
        self.request = None

    def __call__(self, n):
        if n == 0:
            return b""
        if self.request is None:
            raise RuntimeError("random bytes asked for outside a request")
        sys.stdout.write(json.dumps({"id": self.request, "random": n}) + "\n")
        sys.stdout.flush()
        answer = json.loads(sys.stdin.readline())
        if answer.get("id") != self.request or not isinstance(answer.get("random"), str):
            raise RuntimeError("the bench answered an ask with %r" % (answer,))
        out = bytes.fromhex(answer["random"])
        if len(out) != n:
            raise RuntimeError("asked for %d random bytes, got %d" % (n, len(out)))
        return out


HOST = HostBytes()


class StandIn:
    """The key bytes of a trial decrypt, counted: any 32 bytes are an X25519 private key,
    and whether the message is accepted does not depend on them (only the next sending
    chain does)."""

    def __init__(self):
        self.drawn = 0

    def __call__(self, n):
        self.drawn += n
        return bytes([0x42]) * n


def trial_copy(dr):
    """A copy of `dr` on which a decrypt leaves `dr` as it was: the library's decrypt
    replaces its Diffie-Hellman ratchet by a deep copy (so sharing the old one is safe) and
    changes its dict of skipped keys in place (so the copy gets its own). Private names of
    DoubleRatchet 1.3.0, the pinned version."""
    trial = copy.copy(dr)
    trial._DoubleRatchet__skipped_message_keys = OrderedDict(
        dr._DoubleRatchet__skipped_message_keys)
    return trial


class _Draw:
    """Where the DH ratchet's key generation draws from during one call of one party (the
    library asks a static method, so the shim points it at the party before each call)."""

    source = None


def _draw(n):
    if _Draw.source is None:
        raise RuntimeError("the library drew a key outside a party's call")
    return _Draw.source(n)


# --- the profile, from the library's building blocks --------------------------------------


class RootChainKDF(kdf_hkdf.KDF):
    """KDF_RK: HKDF-SHA-256, salt = root key, input = DH output, info KDF_RK_INFO."""

    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256

    @staticmethod
    def _get_info():
        return KDF_RK_INFO


class MessageChainKDF(kdf_separate_hmacs.KDF):
    """KDF_CK: one HMAC-SHA-256 of the chain key per byte of MESSAGE_CHAIN_CONSTANT."""

    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256


class MalformedCiphertext(Exception):
    """The ciphertext cannot be one of the profile's (checked before the MAC, as the
    reference checks it)."""


class AEAD(aead_aes_hmac.AEAD):
    """ENCRYPT / DECRYPT: HKDF-SHA-256 (zero salt, ENCRYPT_INFO) -> 80 bytes, AES-256-CBC
    with PKCS#7, HMAC-SHA-256 over ad || ciphertext appended whole: the library's
    recommended AEAD, with the reference's length check added in front of its decrypt."""

    @staticmethod
    def _get_hash_function():
        return HashFunction.SHA_256

    @staticmethod
    def _get_info():
        return ENCRYPT_INFO

    @classmethod
    async def decrypt(cls, ciphertext, key, associated_data):
        if len(ciphertext) < BLOCK + MAC_LEN or (len(ciphertext) - MAC_LEN) % BLOCK:
            raise MalformedCiphertext(
                "expected a ciphertext of a positive multiple of %d bytes and a %d-byte MAC, "
                "got %d bytes" % (BLOCK, MAC_LEN, len(ciphertext)))
        return await super().decrypt(ciphertext, key, associated_data)


class DiffieHellmanRatchet(diffie_hellman_ratchet_curve25519.DiffieHellmanRatchet):
    """X25519, the library's recommended ratchet, with GENERATE_DH drawing the private key's
    32 bytes from the party's source instead of the OS."""

    @staticmethod
    def _generate_priv():
        return _draw(KEY_LEN)


def encode_header(header):
    """The profile's header: DH public key || N (u32 BE) || PN (u32 BE)."""
    return (header.ratchet_pub + header.sending_chain_length.to_bytes(4, "big")
            + header.previous_sending_chain_length.to_bytes(4, "big"))


class DoubleRatchet(LibraryDoubleRatchet):
    @staticmethod
    def _build_associated_data(associated_data, header):
        """The profile's AEAD associated data: ad || encoded header (no length prefix, as the
        reference)."""
        return associated_data + encode_header(header)


CONFIG = dict(
    diffie_hellman_ratchet_class=DiffieHellmanRatchet,
    root_chain_kdf=RootChainKDF,
    message_chain_kdf=MessageChainKDF,
    message_chain_constant=MESSAGE_CHAIN_CONSTANT,
    dos_protection_threshold=MAX_SKIP,
    max_num_skipped_message_keys=MAX_STORED,
    aead=AEAD,
)

def run(coroutine):
    """Runs one of the library's coroutines to its end. With the recommended (synchronous)
    crypto provider they never suspend, so they are driven directly: an event loop per
    call cost about 40% of an encrypt."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the library suspended on an awaitable, which this shim does not run")


def x25519_public(priv):
    return DiffieHellmanRatchet._derive_pub(priv)


# --- a party ------------------------------------------------------------------------------


def parse_wire(wire):
    if len(wire) < HEADER_LEN:
        raise Refusal("malformed", "expected at least a %d-byte header, got %d bytes"
                      % (HEADER_LEN, len(wire)))
    header = Header(
        ratchet_pub=bytes(wire[:32]),
        previous_sending_chain_length=int.from_bytes(wire[36:40], "big"),
        sending_chain_length=int.from_bytes(wire[32:36], "big"),
    )
    return EncryptedMessage(header=header, ciphertext=bytes(wire[HEADER_LEN:]))


def refusal_of(e):
    """The bench's class of one of the library's exceptions (its own text kept)."""
    name = type(e).__name__
    if isinstance(e, AuthenticationFailedException):
        return Refusal("auth", "%s: %s" % (name, e))
    if isinstance(e, DecryptionFailedException):
        # Bad padding (or AES failing) under a MAC that verified: the reference says Auth.
        return Refusal("auth", "%s: %s" % (name, e))
    if isinstance(e, DuplicateMessageException):
        return Refusal("replay", "%s: %s" % (name, e))
    if isinstance(e, DoSProtectionException):
        return Refusal("too-far-ahead", "%s: %s" % (name, e))
    if isinstance(e, MalformedCiphertext):
        return Refusal("malformed", "%s: %s" % (name, e))
    if isinstance(e, ValueError):
        # cryptography refuses an X25519 exchange whose result is all zeros (a header
        # carrying a low-order point) before any MAC is checked; the reference computes the
        # zero secret and then fails the MAC. Neither a parse failure nor a MAC failure.
        return Refusal("other", "%s: %s (the header's DH key)" % (name, e))
    return None


class Party:
    """One side. The library builds Alice's ratchet with her first message
    (encrypt_initial_message) and Bob's with the first message he takes
    (decrypt_initial_message); until then the party holds what those need."""

    def __init__(self, role, shared_secret, draw, own_priv=None, their_pub=None, dr=None):
        self.role = role
        self.shared_secret = shared_secret
        self.draw = draw
        self.own_priv = own_priv
        self.their_pub = their_pub
        self.dr = dr

    def _call(self, make):
        return self._with(self.draw, make)

    @staticmethod
    def _with(source, make):
        _Draw.source = source
        try:
            return run(make())
        finally:
            _Draw.source = None

    def encrypt(self, ad, plaintext):
        if self.dr is None:
            if self.role != "A":
                raise Refusal("unknown-session", "no sending chain yet: a responder must "
                              "receive a message before it sends")
            self.dr, message = self._call(lambda: DoubleRatchet.encrypt_initial_message(
                shared_secret=self.shared_secret, recipient_ratchet_pub=self.their_pub,
                message=plaintext, associated_data=ad, **CONFIG))
        else:
            message = self._call(lambda: self.dr.encrypt_message(plaintext, ad))
        return encode_header(message.header) + message.ciphertext

    def decrypt(self, ad, wire):
        message = parse_wire(wire)
        if self.dr is None and self.role != "B":
            raise Refusal("unknown-session", "the initiator has sent nothing yet: no "
                          "session to decrypt in")
        # The library generates the next ratchet key pair before the AEAD check (on a copy
        # of its ratchet that it drops when the check fails). The reference draws that key
        # only for a message it accepts, so the shim must draw only then: the message is
        # tried on a copy with a stand-in key; if that took no key the copy is the new
        # state, and if it did, the accepted message is decrypted again with the party's
        # own bytes.
        try:
            if self.dr is not None:
                trial, stand_in = trial_copy(self.dr), StandIn()
                plaintext = self._with(stand_in, lambda: trial.decrypt_message(message, ad))
                if not stand_in.drawn:
                    self.dr = trial
                    return plaintext
                return self._call(lambda: self.dr.decrypt_message(message, ad))

            def initial():
                return DoubleRatchet.decrypt_initial_message(
                    shared_secret=self.shared_secret, own_ratchet_priv=self.own_priv,
                    message=message, associated_data=ad, **CONFIG)

            self._with(StandIn(), initial)
            self.dr, plaintext = self._call(initial)
            return plaintext
        except Exception as e:  # noqa: BLE001 - classed below, or said as other
            r = refusal_of(e)
            if r is None:
                raise
            raise r

    def export(self):
        return {
            "role": self.role,
            "shared_secret": self.shared_secret.hex(),
            "own_priv": self.own_priv.hex() if self.own_priv else None,
            "their_pub": self.their_pub.hex() if self.their_pub else None,
            "double_ratchet": self.dr.json if self.dr is not None else None,
        }

    @classmethod
    def restore(cls, state, draw):
        dr = None
        if state.get("double_ratchet") is not None:
            dr = DoubleRatchet.from_json(state["double_ratchet"], **CONFIG)
        hexed = lambda k: bytes.fromhex(state[k]) if state.get(k) else None  # noqa: E731
        if state["role"] not in ("A", "B"):
            raise ValueError("role must be A or B")
        return cls(state["role"], bytes.fromhex(state["shared_secret"]), draw,
                   own_priv=hexed("own_priv"), their_pub=hexed("their_pub"), dr=dr)


def layout(wire):
    if len(wire) < HEADER_LEN + MAC_LEN:
        return {"header": [0, 0], "body": [0, len(wire)], "mac": [0, 0], "ratchet_key": None}
    return {"header": [0, HEADER_LEN], "body": [HEADER_LEN, len(wire) - MAC_LEN],
            "mac": [len(wire) - MAC_LEN, len(wire)], "ratchet_key": [0, KEY_LEN]}


# --- the protocol -------------------------------------------------------------------------

LIMITS = {
    "max_skip": MAX_SKIP,
    "max_stored": MAX_STORED,
    "max_stored_per_chain": None,
    "when_full": "evict-oldest",
    "window": None,
    "max_chains": None,
}


class Shim:
    def __init__(self):
        self.parties = {}
        self.features = []  # the optional features taken up (hello)

    def hello(self, req):
        if req.get("protocol") != PROTOCOL:
            raise Refusal("other", "this shim speaks protocol %d, asked for %r"
                          % (PROTOCOL, req.get("protocol")))
        HOST.offered = "host_rng" in (req.get("features") or [])
        self.features = taken_up(req)
        return {
            "protocol": PROTOCOL,
            "implementation": "python doubleratchet",
            "version": LIBRARY_VERSION,
            "peers": [{
                "family": "signal-dr",
                "limits": LIMITS,
                # With host_rng every key comes from the party's own stream, as the other
                # peers' do: byte for byte comparable. Without it (an older bench), keys come
                # from the seed: same bytes every run, not the same bytes as they.
                "capabilities": {"injectable_rng": HOST.offered, "export_state": True,
                                 "host_rng": HOST.offered},
                "weakened": [],
            }],
            "features": self.features,
        }

    def check_peer(self, req):
        if req.get("peer") != 0:
            raise Refusal("other", "no peer %r (this shim serves one, 0)" % (req.get("peer"),))

    def party(self, req):
        number = req.get("party")
        if number not in self.parties:
            raise Refusal("other", "no party %r" % (number,))
        return self.parties[number]

    def new_party(self, req, party):
        number = req.get("party")
        if not isinstance(number, int) or number in self.parties:
            raise Refusal("other", "party %r is not a new party number" % (number,))
        self.parties[number] = party

    def source(self, req):
        """A new party's random bytes: the bench's (host_rng), else the seed's."""
        return HOST if HOST.offered else SeededBytes(bytes.fromhex(req["seed"]))

    def encrypted(self, party, wire):
        """The `ok` fields of one encryption: the wire, and with wire_layout its layout."""
        if "wire_layout" in self.features:
            return {"wire": wire.hex(), "layout": layout(wire)}
        return {"wire": wire.hex()}

    def encrypt_many(self, req):
        """`encrypt_many` (PROTOCOL.md): `count` encryptions of one party in a row, stopped
        by the first refusal; the wires made before it stand, `refused` says why the rest
        were not made."""
        party = self.party(req)
        ad, plaintext, count = bytes.fromhex(req["ad"]), bytes.fromhex(req["plaintext"]), req["count"]
        if not isinstance(count, int) or count < 1:
            raise Refusal("other", "encrypt_many: count %r is not a positive integer" % (count,))
        out = {"wires": []}
        if "wire_layout" in self.features:
            out["layouts"] = []
        for _ in range(count):
            try:
                made = self.encrypted(party, party.encrypt(ad, plaintext))
            except Unimplemented:
                raise
            except Exception as e:  # noqa: BLE001 - the batch stops at its first refusal
                if not out["wires"]:
                    raise
                out["refused"] = error_of(e)
                return out
            out["wires"].append(made["wire"])
            if "layouts" in out:
                out["layouts"].append(made["layout"])
        return out

    def handle(self, op, req):
        h = lambda k: bytes.fromhex(req[k])  # noqa: E731
        if op == "hello":
            return self.hello(req)
        if op == "respond":
            self.check_peer(req)
            draw = self.source(req)
            priv = draw(KEY_LEN)
            party = Party("B", h("shared_secret"), draw, own_priv=priv)
            self.new_party(req, party)
            return {"bundle": x25519_public(priv).hex()}
        if op == "initiate":
            self.check_peer(req)
            bundle = h("bundle")
            if len(bundle) != KEY_LEN:
                raise Refusal("malformed", "a signal-dr bundle is Bob's 32-byte X25519 ratchet "
                              "public key, got %d bytes" % len(bundle))
            party = Party("A", h("shared_secret"), self.source(req), their_pub=bundle)
            self.new_party(req, party)
            return {}
        if op == "handshake":
            self.party(req)
            return {"handshake": None}
        if op == "join":
            raise Unimplemented("join: signal-dr has no handshake, the first message carries it")
        if op == "encrypt":
            party = self.party(req)
            return self.encrypted(party, party.encrypt(h("ad"), h("plaintext")))
        if op == "encrypt_many" and "encrypt_many" in self.features:
            return self.encrypt_many(req)
        if op == "decrypt":
            return {"plaintext": self.party(req).decrypt(h("ad"), h("wire")).hex()}
        if op == "export":
            state = self.party(req).export()
            return {"state": json.dumps(state, sort_keys=True).encode("utf-8").hex()}
        if op == "restore":
            self.check_peer(req)
            try:
                state = json.loads(h("state").decode("utf-8"))
                party = Party.restore(state, self.source(req))
            except Exception as e:  # noqa: BLE001 - pydantic's, json's, ours: all malformed
                raise Refusal("malformed", "restore: %s: %s" % (type(e).__name__, e))
            self.new_party(req, party)
            return {}
        if op == "layout":
            self.check_peer(req)
            return layout(h("wire"))
        if op == "drop":
            self.parties.pop(req.get("party"), None)
            return {}
        raise Unimplemented("unknown op %r" % (op,))


FEATURES = ("encrypt_many", "wire_layout")


def taken_up(req):
    """The optional features of the hello request (PROTOCOL.md) this shim takes up: every
    one it knows that the bench offers."""
    offered = req.get("features") or []
    return [f for f in FEATURES if f in offered]


def error_of(e):
    """The `err` object of an answer for exception `e`: a refusal as it is, anything else
    (a field missing from the request, a bug of the shim or the library) said as other."""
    if isinstance(e, Refusal):
        return {"class": e.klass, "detail": e.detail}
    traceback.print_exc(file=sys.stderr)
    if isinstance(e, (KeyError, ValueError, TypeError)):
        return {"class": "other", "detail": "bad request: %r" % (e,)}
    return {"class": "other", "detail": "shim error: %r" % (e,)}


def answer(shim, line):
    try:
        req = json.loads(line)
    except ValueError as e:
        print("doubleratchet shim: a request that is not JSON: %s" % e, file=sys.stderr)
        return None
    if not isinstance(req, dict):
        print("doubleratchet shim: a request that is not a JSON object", file=sys.stderr)
        return None
    rid = req.get("id")
    HOST.request = rid
    try:
        return {"id": rid, "ok": shim.handle(req.get("op"), req)}
    except Unimplemented as u:
        return {"id": rid, "unimplemented": str(u)}
    except Exception as e:  # noqa: BLE001 - a refusal, or a bug said as other
        return {"id": rid, "err": error_of(e)}


def main():
    shim = Shim()
    for line in sys.stdin:
        if not line.strip():
            continue
        out = answer(shim, line)
        HOST.request = None
        if out is None:
            continue
        sys.stdout.write(json.dumps(out, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
