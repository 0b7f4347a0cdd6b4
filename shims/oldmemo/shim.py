#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-only
"""oldmemo 2.1.0 (python-omemo's backend for OMEMO's legacy namespace
eu.siacs.conversations.axolotl, on the x3dh and doubleratchet packages) as a peer of the
bench's family "signal-v3".

Speaks the shim protocol v1 (shims/PROTOCOL.md) on stdin / stdout, logs on stderr.
See README.md for the conventions, where oldmemo departs from libsignal, the limits and how
far bytes agree.
"""

import base64
import hashlib
import json
import sys
import traceback
import types
import xml.etree.ElementTree as ET

import doubleratchet
import omemo.identity_key_pair
import oldmemo.oldmemo
import x3dh
import x3dh.base_state
import xeddsa
import xeddsa.bindings
from doubleratchet.recommended import diffie_hellman_ratchet_curve25519
from omemo.backend import DecryptionFailed, KeyExchangeFailed
from omemo.session import Initiation
from omemo.storage import Just, Nothing, Storage
from oldmemo import etree
from oldmemo.oldmemo import (
    NAMESPACE,
    EncryptedKeyMaterialImpl,
    KeyExchangeImpl,
    Oldmemo,
    PlainKeyMaterialImpl,
    StateImpl,
)
from oldmemo.version import __version__ as LIBRARY_VERSION

PROTOCOL = 1
LIBRARY = "oldmemo"

# oldmemo's defaults (oldmemo.py, Oldmemo.__init__): the skipped message keys kept per
# session (all chains together, oldest dropped first), and the most one message may make it
# derive (None: the same number). The shim builds its backends with these defaults.
MAX_STORED = 1000
MAX_SKIP = 1000
# doubleratchet keeps one receiving chain: a ratchet step replaces it, and an earlier
# chain's late message decrypts only from the store above, which the step fills from the
# header's previous-chain length (none of it when that would be more than MAX_SKIP keys).
# signal-v3's model keeps earlier chains and derives such a message from where its chain
# stopped, as libsignal does; declaring the one chain makes those messages a may.
MAX_CHAINS = 1

TYPE_WHISPER = 2
TYPE_PREKEY = 3
DEVICE_ID = 1
KEY_LEN = 32
MAC_LEN = 8
NS = "{%s}" % NAMESPACE


class Refusal(Exception):
    """A refusal to answer as {"err": {"class", "detail"}}."""

    def __init__(self, klass, detail):
        super().__init__(detail)
        self.klass = klass
        self.detail = detail


class Unimplemented(Exception):
    """A request this shim does not support."""


# --- the family's conventions (PROTOCOL.md, signal-v3) ------------------------------------

REGISTRATION_MIN, REGISTRATION_SPAN = 128, 16253        # ids 128..=16380
KEY_ID_MIN, KEY_ID_SPAN = 1 << 21, (1 << 24) - (1 << 21)  # ids 2^21..=2^24-1


def registration_id(two):
    return REGISTRATION_MIN + int.from_bytes(two, "big") % REGISTRATION_SPAN


def key_id(three):
    return KEY_ID_MIN + int.from_bytes(three, "big") % KEY_ID_SPAN


def encode_bundle(reg, identity, spk_id, spk, sig, opk_id=None, opk=None):
    """The family's fixed binary bundle, integers big-endian."""
    out = (reg.to_bytes(4, "big") + DEVICE_ID.to_bytes(4, "big") + identity
           + spk_id.to_bytes(4, "big") + spk + sig)
    if opk is None:
        return out + b"\x00"
    return out + b"\x01" + opk_id.to_bytes(4, "big") + opk


def decode_bundle(b):
    if len(b) not in (143, 180):
        raise Refusal("malformed", "a signal-v3 bundle is 143 or 180 bytes, got %d" % len(b))
    flag = b[142]
    if (flag, len(b)) not in ((0, 143), (1, 180)):
        raise Refusal("malformed", "bundle byte 142 is %d but the bundle is %d bytes"
                      % (flag, len(b)))
    u32 = lambda at: int.from_bytes(b[at:at + 4], "big")  # noqa: E731
    return {
        "registration_id": u32(0), "device_id": u32(4), "identity_key": bytes(b[8:41]),
        "signed_pre_key_id": u32(41), "signed_pre_key": bytes(b[45:78]),
        "signature": bytes(b[78:142]),
        "pre_key_id": u32(143) if flag else None,
        "pre_key": bytes(b[147:180]) if flag else None,
    }


def bind_ad(ad, plaintext):
    """Associated data bound in the payload: u32 BE len(ad) || ad || plaintext."""
    return len(ad).to_bytes(4, "big") + ad + plaintext


def unbind_ad(ad, payload):
    n = len(ad)
    if len(payload) < 4 + n or payload[:4] != n.to_bytes(4, "big") or payload[4:4 + n] != ad:
        raise Refusal("auth", "the decrypted payload does not carry this associated data")
    return payload[4 + n:]


def read_varint(b, at):
    value, shift = 0, 0
    for _ in range(10):
        if at >= len(b):
            raise Refusal("malformed", "protobuf varint runs past the end")
        c = b[at]
        at += 1
        value |= (c & 0x7F) << shift
        if not c & 0x80:
            return value, at
        shift += 7
    raise Refusal("malformed", "protobuf varint too long")


def proto_fields(b, start, end):
    """Field number -> [start, end) of the value of each length-delimited field."""
    fields = {}
    at = start
    while at < end:
        tag, at = read_varint(b, at)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            _, at = read_varint(b, at)
        elif wire_type == 2:
            n, at = read_varint(b, at)
            if at + n > end:
                raise Refusal("malformed", "protobuf field %d runs past the end" % number)
            fields[number] = [at, at + n]
            at += n
        else:
            raise Refusal("malformed", "protobuf wire type %d is not used by signal-v3" % wire_type)
    return fields


def layout(wire):
    """Header (the type byte and the fields up to the ciphertext), body (the ciphertext),
    MAC (the inner message's last 8 bytes) and ratchet key (its field 1, 05 || 32 bytes)."""
    if len(wire) < 2:
        raise Refusal("malformed", "wire shorter than its type and version bytes")
    if wire[0] == TYPE_WHISPER:
        start, end = 1, len(wire)
    elif wire[0] == TYPE_PREKEY:
        inner = proto_fields(wire, 2, len(wire)).get(4)
        if inner is None:
            raise Refusal("malformed", "pre-key message without its message field")
        start, end = inner
    else:
        raise Refusal("malformed", "unknown message type byte %d" % wire[0])
    if end - start < 1 + MAC_LEN:
        raise Refusal("malformed", "whisper message shorter than its version byte and MAC")
    fields = proto_fields(wire, start + 1, end - MAC_LEN)
    if 4 not in fields:
        raise Refusal("malformed", "whisper message without its ciphertext field")
    return {"header": [0, fields[4][0]], "body": fields[4], "mac": [end - MAC_LEN, end],
            "ratchet_key": fields.get(1)}


# --- randomness ---------------------------------------------------------------------------


class SeededBytes:
    """A party's random bytes drawn from the 32-byte seed the bench sends (used only when
    the bench does not offer host_rng): block i is SHA-256("ratchet-bench oldmemo shim rng"
    || seed || u64 BE i)."""

    def __init__(self, seed, label=b"ratchet-bench oldmemo shim rng"):
        self.seed = bytes(seed)
        self.label = label
        self.block = 0
        self.buffer = b""

    def __call__(self, n):
        while len(self.buffer) < n:
            h = hashlib.sha256(self.label)
            h.update(self.seed)
            h.update(self.block.to_bytes(8, "big"))
            self.buffer += h.digest()
            self.block += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


class HostBytes:
    """Random bytes asked from the bench (host_rng): `{"id": <request>, "random": n}` on
    stdout, the bench's `{"id": <request>, "random": "<hex>"}` read from stdin, drawn from
    the generator of the party the request is about."""

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
    """The key bytes of a trial decrypt, counted. Whether a message is accepted does not
    depend on them; only the next sending chain does."""

    def __init__(self):
        self.draws = []

    def __call__(self, n):
        out = hashlib.sha256(b"stand-in %d" % len(self.draws)).digest()[:n].ljust(n, b"\x42")
        self.draws.append(out)
        return out


class Stash:
    """Bytes drawn earlier, handed out in order (an initiator's base key and first ratchet
    key, asked for in `initiate` as the family's draw order says, used by the library at the
    first `encrypt`)."""

    def __init__(self, parts):
        self.parts = list(parts)

    def __call__(self, n):
        if not self.parts or len(self.parts[0]) != n:
            raise RuntimeError("the library drew %d bytes where the stash holds %r"
                               % (n, [len(p) for p in self.parts]))
        return self.parts.pop(0)


class _Source:
    """Where the libraries' draws go while a request runs."""
    current = None


def _draw(n):
    if _Source.current is None:
        raise RuntimeError("oldmemo drew %d random bytes outside a party's request" % n)
    return _Source.current(n)


def clamp(key):
    """An X25519 private key as libsignal (and python-axolotl) store a new one. x3dh and
    doubleratchet use 32 random bytes as a private key as they come; X25519 clamps them on
    use, so the public key is the same, but libxeddsa's signing nonce hashes the bytes as
    given: clamped, the signature equals libsignal's for the same random bytes."""
    k = bytearray(key)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


def _key_bytes(n):
    out = _draw(n)
    return clamp(out) if n == KEY_LEN else out


def _choice(seq):
    # x3dh picks one of the bundle's pre-keys at random; a bench bundle holds one.
    seq = list(seq)
    if len(seq) != 1:
        raise RuntimeError("a bundle with %d pre-keys (the bench's hold one)" % len(seq))
    return seq[0]


# Every random byte the libraries use goes through these names (README.md lists them): x3dh
# (signed pre-key, pre-keys, ephemeral key, pre-key choice), libxeddsa's bindings (the
# signature's 64-byte nonce), doubleratchet's recommended Curve25519 ratchet (each ratchet
# key) and, never reached by the shim, python-omemo's identity seed and oldmemo's message
# keys. Each is routed to the party whose request is running.
x3dh.base_state.secrets = types.SimpleNamespace(token_bytes=_key_bytes, choice=_choice)
xeddsa.bindings.secrets = types.SimpleNamespace(token_bytes=_draw)
omemo.identity_key_pair.secrets = types.SimpleNamespace(token_bytes=_draw)
oldmemo.oldmemo.secrets = types.SimpleNamespace(token_bytes=_draw)
diffie_hellman_ratchet_curve25519.DiffieHellmanRatchet._generate_priv = \
    staticmethod(lambda: _key_bytes(KEY_LEN))


def run(coroutine):
    """Runs one of the library's coroutines to its end. With its synchronous crypto
    providers and this shim's storage they never suspend, so they are driven directly."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the library suspended on an awaitable, which this shim does not run")


def drawing(source, make):
    _Source.current = source
    try:
        return run(make())
    finally:
        _Source.current = None


# --- storage ------------------------------------------------------------------------------


class DictStorage(Storage):
    """python-omemo's key/value storage over a dict of JSON texts: the library's own
    serialisation of everything the backend keeps (identity key, X3DH state, pre-key ids,
    sessions with their Double Ratchet). A copy of the dict is a copy of the party. The
    storage's cache is off, so every load parses what was stored."""

    def __init__(self, data):
        super().__init__(disable_cache=True)
        self.data = data

    async def _load(self, key):
        if key in self.data:
            return Just(json.loads(self.data[key]))
        return Nothing()

    async def _store(self, key, value):
        self.data[key] = json.dumps(value, sort_keys=True)

    async def _delete(self, key):
        self.data.pop(key, None)


def backend_of(data):
    return Oldmemo(DictStorage(data))


# --- bundles through oldmemo's own XML (de)serialisation ----------------------------------


def b64(b):
    return base64.b64encode(b).decode("ascii")


def bundle_to_binary(bundle, reg):
    """The bench's binary bundle from oldmemo's own bundle serialisation (oldmemo.etree,
    which turns the Ed25519 identity key into its Curve25519 form and puts the Ed25519 key's
    sign bit into the signature, as libsignal's XEdDSA signatures carry it)."""
    elt = etree.serialize_bundle(bundle)
    spk = elt.find(NS + "signedPreKeyPublic")
    pre_keys = list(elt.iter(NS + "preKeyPublic"))
    if len(pre_keys) != 1:
        raise RuntimeError("expected one pre-key in the bundle, got %d" % len(pre_keys))
    dec = lambda e: base64.b64decode(e.text)  # noqa: E731
    return encode_bundle(
        reg, dec(elt.find(NS + "identityKey")), int(spk.get("signedPreKeyId")), dec(spk),
        dec(elt.find(NS + "signedPreKeySignature")),
        int(pre_keys[0].get("preKeyId")), dec(pre_keys[0]))


def bundle_from_binary(b):
    """An oldmemo BundleImpl from the bench's binary bundle, through oldmemo's own parser
    (schema check, Curve25519 to Ed25519 with the signature's sign bit)."""
    elt = ET.Element(NS + "bundle")
    spk = ET.SubElement(elt, NS + "signedPreKeyPublic",
                        attrib={"signedPreKeyId": str(b["signed_pre_key_id"])})
    spk.text = b64(b["signed_pre_key"])
    ET.SubElement(elt, NS + "signedPreKeySignature").text = b64(b["signature"])
    ET.SubElement(elt, NS + "identityKey").text = b64(b["identity_key"])
    pre_keys = ET.SubElement(elt, NS + "prekeys")
    if b["pre_key"] is not None:
        ET.SubElement(pre_keys, NS + "preKeyPublic",
                      attrib={"preKeyId": str(b["pre_key_id"])}).text = b64(b["pre_key"])
    return etree.parse_bundle(elt, "bob", b["device_id"])


# --- errors -------------------------------------------------------------------------------


def said(e):
    text = "%s: %s" % (type(e).__name__, e)
    cause = e.__cause__
    while cause is not None:
        text += " <- %s: %s" % (type(cause).__name__, cause)
        cause = cause.__cause__
    return text


def root_cause(e):
    while e.__cause__ is not None:
        e = e.__cause__
    return e


def refusal_of(e):
    """The bench's class of one of the libraries' exceptions (the chain of causes kept in
    the detail: oldmemo wraps the Double Ratchet's and X3DH's exceptions in its own)."""
    if isinstance(e, Refusal):
        return e
    cause = root_cause(e)
    if isinstance(cause, doubleratchet.aead.AuthenticationFailedException):
        return Refusal("auth", said(e))
    if isinstance(cause, doubleratchet.DuplicateMessageException):
        return Refusal("replay", said(e))
    if isinstance(cause, doubleratchet.DoSProtectionException):
        return Refusal("too-far-ahead", said(e))
    if isinstance(cause, doubleratchet.DecryptionFailedException):
        # Under a MAC that verified: bad padding (the reference says auth).
        return Refusal("auth", said(e))
    if isinstance(e, KeyExchangeFailed):
        if isinstance(cause, x3dh.KeyAgreementException) and "signature" in str(cause):
            return Refusal("auth", said(e))
        # No signed pre-key or pre-key of that id, or no longer available.
        return Refusal("unknown-session", said(e))
    if isinstance(cause, xeddsa.XEdDSAException):
        # libxeddsa refuses a low-order public key or an all-zero shared secret.
        return Refusal("other", said(e))
    if isinstance(cause, ValueError):
        # cryptography refuses an X25519 exchange whose result is all zeros (a ratchet key
        # of low order) before any MAC is checked.
        return Refusal("other", said(e))
    if isinstance(e, DecryptionFailed):
        return Refusal("other", said(e))
    return None


# --- a party ------------------------------------------------------------------------------


class Party:
    """One device: oldmemo's storage (a dict of JSON texts) and what the shim keeps beside
    it: the role, the bench's registration id (oldmemo has none), the identity trusted on
    first use, and for an initiator before its first message the bundle and the bytes
    drawn for the session it will build."""

    def __init__(self, role, data, draw, registration, trusted=None, pending=None):
        self.role = role
        self.data = data
        self.draw = draw
        self.registration = registration
        self.trusted = trusted      # the correspondent's Curve25519 identity key (33 bytes)
        self.pending = pending      # initiator: {"bundle": bytes, "draws": [base, ratchet]}

    @property
    def remote(self):
        return "alice" if self.role == "B" else "bob"

    @staticmethod
    def new_identity(data, draw):
        """The identity key as python-omemo keeps it (a private key, not a seed), drawn
        first, as the family's order says."""
        priv = clamp(draw(KEY_LEN))
        storage = DictStorage(data)
        run(storage.store("/ikp/is_seed", False))
        run(storage.store_bytes("/ikp/key", priv))
        return priv

    @staticmethod
    def respond(draw):
        data = {}
        Party.new_identity(data, draw)                                          # 32
        reg = registration_id(draw(2))
        spk_id = key_id(draw(3))
        backend = backend_of(data)
        # The X3DH state is made on first use: signed pre-key (32), its signature (64).
        drawing(draw, backend.signed_pre_key_age)
        opk_id = key_id(draw(3))
        drawing(draw, lambda: backend.generate_pre_keys(1))                     # 32
        # Fix the ids before oldmemo assigns its own (it numbers keys from 1 and keeps an id
        # once assigned), in its storage format.
        state, _migrated = StateImpl.from_json(json.loads(data["/%s/x3dh" % NAMESPACE]),
                                    x3dh.IdentityKeyFormat.ED_25519, x3dh.HashFunction.SHA_256,
                                    StateImpl.INFO)
        (opk,) = state.bundle.pre_keys
        storage = DictStorage(data)
        run(storage.store("/%s/signed_pre_key_ids" % NAMESPACE,
                          {b64(state.bundle.signed_pre_key): spk_id}))
        run(storage.store("/%s/pre_key_ids" % NAMESPACE, {b64(opk): opk_id}))
        run(storage.store("/%s/pre_key_id_counter" % NAMESPACE, 1))
        bundle = drawing(None, lambda: backend.get_bundle("bob", DEVICE_ID))
        return Party("B", data, draw, reg), bundle_to_binary(bundle, reg)

    @staticmethod
    def initiate(draw, bundle_bytes):
        b = decode_bundle(bundle_bytes)
        data = {}
        priv = Party.new_identity(data, draw)                                   # 32
        reg = registration_id(draw(2))
        pending = {"bundle": bytes(bundle_bytes), "draws": [draw(KEY_LEN), draw(KEY_LEN)]}
        party = Party("A", data, draw, reg, trusted=b["identity_key"], pending=pending)
        # oldmemo makes an X3DH state with a signed pre-key for every device; an initiator's
        # is never published here. Its bytes come from the identity key, not the bench.
        unpublished = SeededBytes(priv, b"ratchet-bench oldmemo shim: initiator's own signed pre-key")
        drawing(unpublished, backend_of(data).signed_pre_key_age)
        # oldmemo verifies the bundle (and runs X3DH) only when it builds the session with
        # the first message; the family refuses a bad bundle at `initiate`. So the session
        # is built once now on a copy, with the same bytes, and thrown away.
        party._build_session(dict(data), b"")
        return party

    def _build_session(self, data, payload):
        if self.pending["bundle"][142] == 0:
            raise Refusal("other", "oldmemo builds sessions only with a one-time pre-key "
                          "(its bundle schema requires one, and its backend asks x3dh to "
                          "refuse a bundle without one)")
        b = decode_bundle(self.pending["bundle"])
        try:
            bundle = bundle_from_binary(b)
        except Exception as e:  # noqa: BLE001 - schema or key format
            raise Refusal("malformed", "oldmemo's bundle parser: %s" % said(e))
        backend = backend_of(data)
        try:
            session, encrypted = drawing(Stash(self.pending["draws"]), lambda: backend.build_session_active(
                "bob", DEVICE_ID, bundle, PlainKeyMaterialImpl(payload[:16], payload[16:])))
        except Exception as e:  # noqa: BLE001 - classed below, or said as other
            r = refusal_of(e)
            if r is None:
                raise
            raise r
        run(backend.store_session(session))
        return session, encrypted

    def encrypt(self, ad, plaintext):
        payload = bind_ad(ad, plaintext)
        if self.pending is not None:
            session, encrypted = self._build_session(self.data, payload)
            self.pending = None
        else:
            backend = backend_of(self.data)
            session = run(backend.load_session(self.remote, DEVICE_ID))
            if session is None:
                raise Refusal("unknown-session", "no session yet: a responder must receive a "
                              "message before it sends")
            encrypted = drawing(None, lambda: backend.encrypt_key_material(
                session, PlainKeyMaterialImpl(payload[:16], payload[16:])))
            run(backend.store_session(session))
        authenticated = encrypted.serialize()
        # As python-omemo's session manager: the key exchange goes with every message of an
        # actively built session until a message from the other side was decrypted.
        if session.initiation is Initiation.ACTIVE and not session.confirmed:
            key_exchange, _sign_bit = session.key_exchange.serialize(authenticated)
            return bytes([TYPE_PREKEY]) + key_exchange
        return bytes([TYPE_WHISPER]) + authenticated

    def _attempt(self, data, source, wire):
        """Decrypts as python-omemo's session manager does (SessionManager.decrypt), on
        `data`; returns the payload and the correspondent's identity key. Changes `data`
        only when the message is accepted."""
        if len(wire) < 2:
            raise Refusal("malformed", "wire shorter than its type and version bytes")
        backend = backend_of(data)
        key_exchange = None
        try:
            if wire[0] == TYPE_PREKEY:
                # The sign bit of the sender's Ed25519 identity key is not on the wire (oldmemo
                # reads it from the sender's published bundle). Every computation converts the
                # key back to its Curve25519 form, the same for either sign, so it is taken as 0.
                key_exchange, authenticated = KeyExchangeImpl.parse(bytes(wire[1:]), False)
            elif wire[0] == TYPE_WHISPER:
                authenticated = bytes(wire[1:])
            else:
                raise Refusal("malformed", "unknown message type byte %d" % wire[0])
            encrypted = EncryptedKeyMaterialImpl.parse(authenticated, self.remote, DEVICE_ID)
        except Refusal:
            raise
        except Exception as e:  # noqa: BLE001 - oldmemo's parsers raise ValueError
            raise Refusal("malformed", said(e))
        if self.pending is not None:
            raise Refusal("unknown-session", "the initiator has sent nothing yet: no session "
                          "to decrypt in")
        if key_exchange is None:
            session = run(backend.load_session(self.remote, DEVICE_ID))
            if session is None:
                raise Refusal("unknown-session", "no session with the sender, and the message "
                              "carries no key exchange")
            plain = drawing(source, lambda: backend.decrypt_key_material(session, encrypted))
        else:
            identity = StateImpl.serialize_public_key(
                xeddsa.ed25519_pub_to_curve25519_pub(key_exchange.identity_key))
            if self.trusted is not None and identity != self.trusted:
                raise Refusal("unknown-session", "a key exchange from another identity key "
                              "than the trusted one")
            session = run(backend.load_session(self.remote, DEVICE_ID))
            if session is not None and not (session.initiation is Initiation.PASSIVE
                                            and session.key_exchange.builds_same_session(key_exchange)):
                session = None      # the key exchange replaces the session
            if session is None:
                session, plain = drawing(source, lambda: backend.build_session_passive(
                    self.remote, DEVICE_ID, key_exchange, encrypted))
            else:
                plain = drawing(source, lambda: backend.decrypt_key_material(session, encrypted))
        run(backend.store_session(session))
        if key_exchange is not None:
            run(backend.delete_pre_key(session))
            identity_seen = StateImpl.serialize_public_key(
                xeddsa.ed25519_pub_to_curve25519_pub(key_exchange.identity_key))
        else:
            identity_seen = None
        return plain.key + plain.auth_tag, identity_seen

    def decrypt(self, ad, wire):
        # The Double Ratchet draws the next ratchet key when a message starts a new receiving
        # chain, before the MAC check (on a copy it then drops); the bench's reference draws
        # only for a message it accepts. So the message is tried first on a copy of the
        # party with stand-in bytes: a refusal there changes nothing and draws nothing. If
        # the accepted message drew, it is decrypted once more on another copy, that draw
        # now from the party's own source.
        trial, stand_in = dict(self.data), StandIn()
        try:
            payload, identity = self._attempt(trial, stand_in, wire)
        except Exception as e:  # noqa: BLE001 - classed below, or said as other
            r = refusal_of(e)
            if r is None:
                raise
            raise r
        plaintext = unbind_ad(ad, payload)
        if len(stand_in.draws) > 1:
            raise RuntimeError("one message made oldmemo draw %d keys" % len(stand_in.draws))
        if stand_in.draws:
            real = dict(self.data)
            again, _ = self._attempt(real, self.draw, wire)
            if again != payload:
                raise RuntimeError("the second run of an accepted message decrypted otherwise")
            trial = real
        self.data = trial
        if identity is not None and self.trusted is None:
            self.trusted = identity
        return plaintext

    def export(self):
        pending = None
        if self.pending is not None:
            pending = {"bundle": self.pending["bundle"].hex(),
                       "draws": [d.hex() for d in self.pending["draws"]]}
        return {
            "format": "ratchet-bench oldmemo shim state 1",
            "role": self.role,
            "registration_id": self.registration,
            "trusted": self.trusted.hex() if self.trusted else None,
            "pending": pending,
            "storage": dict(sorted(self.data.items())),
        }

    @staticmethod
    def restore(state, draw):
        if not isinstance(state, dict) or state.get("format") != "ratchet-bench oldmemo shim state 1":
            raise ValueError("not an oldmemo shim state (format field)")
        if state["role"] not in ("A", "B"):
            raise ValueError("role must be A or B")
        data = state["storage"]
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError("storage must map keys to JSON texts")
        data = dict(data)
        pending = state.get("pending")
        if pending is not None:
            pending = {"bundle": bytes.fromhex(pending["bundle"]),
                       "draws": [bytes.fromhex(d) for d in pending["draws"]]}
            decode_bundle(pending["bundle"])
        party = Party(state["role"], data, draw, int(state["registration_id"]),
                      trusted=bytes.fromhex(state["trusted"]) if state.get("trusted") else None,
                      pending=pending)
        # Parse what the library will load: the X3DH state and the session, if any.
        backend = backend_of(data)
        drawing(None, backend.signed_pre_key_age)
        run(backend.load_session(party.remote, DEVICE_ID))
        return party


# --- the protocol -------------------------------------------------------------------------

LIMITS = {
    "max_skip": MAX_SKIP,
    "max_stored": MAX_STORED,
    "max_stored_per_chain": None,
    "when_full": "evict-oldest",
    "window": None,
    "max_chains": MAX_CHAINS,
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
            "implementation": LIBRARY,
            "version": "%s (x3dh %s, doubleratchet %s, xeddsa %s, omemo %s)" % (
                LIBRARY_VERSION, x3dh.__version__, doubleratchet.__version__,
                xeddsa.__version__, omemo.__version__),
            "peers": [{
                "family": "signal-v3",
                "limits": LIMITS,
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

    def new_party(self, req):
        number = req.get("party")
        if not isinstance(number, int) or number in self.parties:
            raise Refusal("other", "party %r is not a new party number" % (number,))
        return number

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
            number = self.new_party(req)
            party, bundle = Party.respond(self.source(req))
            self.parties[number] = party
            return {"bundle": bundle.hex()}
        if op == "initiate":
            self.check_peer(req)
            number = self.new_party(req)
            self.parties[number] = Party.initiate(self.source(req), h("bundle"))
            return {}
        if op == "handshake":
            self.party(req)
            return {"handshake": None}
        if op == "join":
            raise Unimplemented("join: signal-v3 has no handshake, the first message carries it")
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
            number = self.new_party(req)
            try:
                state = json.loads(h("state").decode("utf-8"))
                party = Party.restore(state, self.source(req))
            except Exception as e:  # noqa: BLE001 - json's, pydantic's, ours: all malformed
                raise Refusal("malformed", "restore: %s" % said(e))
            self.parties[number] = party
            return {}
        if op in ("publish", "renew"):
            raise Unimplemented(
                "%s: oldmemo's backend keeps one session per device and a new key exchange "
                "replaces it (no record of earlier sessions to decrypt with), so a session set "
                "up again is python-omemo's session manager's to handle, outside the library"
                % op)
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
        print("oldmemo shim: a request that is not JSON: %s" % e, file=sys.stderr)
        return None
    if not isinstance(req, dict):
        print("oldmemo shim: a request that is not a JSON object", file=sys.stderr)
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
