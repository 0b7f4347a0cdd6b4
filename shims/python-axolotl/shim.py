#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-only
"""python-axolotl 0.2.3 (the Python port of libaxolotl-android) as a peer of the bench's
family "signal-v3".

Speaks the shim protocol v1 (shims/PROTOCOL.md) on stdin / stdout, logs on stderr.
See README.md for the conventions, the limits and how far bytes agree.
"""

import hashlib
import json
import logging
import os
import sys
import traceback
import types

from google.protobuf.message import DecodeError

import axolotl.ecc.curve as curve_module
from axolotl.duplicatemessagexception import DuplicateMessageException
from axolotl.ecc.curve import Curve
from axolotl.identitykey import IdentityKey
from axolotl.identitykeypair import IdentityKeyPair
from axolotl.invalidkeyexception import InvalidKeyException
from axolotl.invalidkeyidexception import InvalidKeyIdException
from axolotl.invalidmessageexception import InvalidMessageException
from axolotl.invalidversionexception import InvalidVersionException
from axolotl.legacymessageexception import LegacyMessageException
from axolotl.nosessionexception import NoSessionException
from axolotl.protocol.ciphertextmessage import CiphertextMessage
from axolotl.protocol.prekeywhispermessage import PreKeyWhisperMessage
from axolotl.protocol.whispermessage import WhisperMessage
from axolotl.sessionbuilder import SessionBuilder
from axolotl.sessioncipher import SessionCipher
from axolotl.state.prekeybundle import PreKeyBundle
from axolotl.state.prekeyrecord import PreKeyRecord
from axolotl.state.sessionrecord import SessionRecord
from axolotl.state.signedprekeyrecord import SignedPreKeyRecord
from axolotl.untrustedidentityexception import UntrustedIdentityException
from axolotl.util.keyhelper import KeyHelper

# python-axolotl logs a warning for every pre-key message of a session it already has
# ("letting bundled message fall through"); the bench keeps only the last lines of stderr.
if os.environ.get("PYTHON_AXOLOTL_SHIM_LOG") != "1":
    logging.getLogger("axolotl").setLevel(logging.ERROR)

PROTOCOL = 1
LIBRARY = "python-axolotl"
# The package carries no version attribute; this is the pinned one (requirements.txt).
LIBRARY_VERSION = "0.2.3 (python-axolotl-curve25519 0.4.1.post2)"

# Limits read from the library's source (README.md says where).
MAX_SKIP = 2000          # sessioncipher.py: "Over 2000 messages into the future!"
MAX_CHAINS = 5           # state/sessionstate.py, addReceiverChain
ARCHIVED_STATES = 40     # state/sessionrecord.py, ARCHIVED_STATES_MAX_LENGTH

TYPE_WHISPER = CiphertextMessage.WHISPER_TYPE   # 2
TYPE_PREKEY = CiphertextMessage.PREKEY_TYPE     # 3
DEVICE_ID = 1
KEY_LEN = 32
MAC_LEN = 8


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
    the bench does not offer host_rng): block i is SHA-256("ratchet-bench python-axolotl
    shim rng" || seed || u64 BE i)."""

    def __init__(self, seed):
        self.seed = bytes(seed)
        self.block = 0
        self.buffer = b""

    def __call__(self, n):
        while len(self.buffer) < n:
            h = hashlib.sha256(b"ratchet-bench python-axolotl shim rng")
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
    """The key bytes of a trial decrypt: distinct per draw (so that the shim can tell which
    draw the accepted session state kept), counted. Whether a message is accepted does not
    depend on them; only the next sending chain does."""

    def __init__(self):
        self.draws = []

    def __call__(self, n):
        out = hashlib.sha256(b"stand-in %d" % len(self.draws)).digest()[:n].ljust(n, b"\x42")
        self.draws.append(out)
        return out


class Replayed:
    """The draws of a second run of a trial: the trial's stand-ins, except draw number
    `keep`, which comes from the party's own source."""

    def __init__(self, stand_in, keep, source):
        self.draws = list(stand_in.draws)
        self.keep = keep
        self.source = source
        self.count = 0

    def __call__(self, n):
        i = self.count
        self.count += 1
        if i == self.keep:
            return self.source(n)
        return self.draws[i]


class _Source:
    """Where the library's os.urandom draws go while a request runs."""
    current = None


def _urandom(n):
    if _Source.current is None:
        raise RuntimeError("python-axolotl drew %d random bytes outside a party's request" % n)
    # A fresh object: the curve module's generatePrivateKey clamps the bytes it is given in
    # place (it writes into the buffer of an immutable bytes object).
    return bytes(bytearray(_Source.current(n)))


def clamp(key):
    """An X25519 private key as the curve module's generatePrivateKey stores it."""
    k = bytearray(key)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


# python-axolotl draws all its randomness through os.urandom in axolotl/ecc/curve.py: 32
# bytes per key pair (generatePrivateKey, then clamped) and 64 per signature
# (calculateSignature). The module's `os` is replaced by a namespace whose urandom is the
# current party's source; the rest of the process keeps the real os module.
curve_module.os = types.SimpleNamespace(urandom=_urandom)


def drawing(source, call):
    _Source.current = source
    try:
        return call()
    finally:
        _Source.current = None


# --- the stores ---------------------------------------------------------------------------


class Stores:
    """The four store interfaces python-axolotl asks for (identity keys, pre-keys, signed
    pre-keys, sessions), over dicts of the records' own serialisations, so that a copy of a
    party is a copy of four dicts. Trust is trust-on-first-use, as the library's in-memory
    identity store in its tests."""

    def __init__(self, identity, registration):
        self.identity = identity            # IdentityKeyPair
        self.registration = registration
        self.sessions = {}                  # (name, device) -> SessionRecord bytes
        self.pre_keys = {}                  # id -> PreKeyRecord bytes
        self.signed_pre_keys = {}           # id -> SignedPreKeyRecord bytes
        self.trusted = {}                   # name -> serialised identity key

    def clone(self):
        c = Stores(self.identity, self.registration)
        c.sessions = dict(self.sessions)
        c.pre_keys = dict(self.pre_keys)
        c.signed_pre_keys = dict(self.signed_pre_keys)
        c.trusted = dict(self.trusted)
        return c

    # IdentityKeyStore
    def getIdentityKeyPair(self):
        return self.identity

    def getLocalRegistrationId(self):
        return self.registration

    def saveIdentity(self, recipientId, identityKey):
        self.trusted[recipientId] = identityKey.serialize()

    def isTrustedIdentity(self, recipientId, identityKey):
        known = self.trusted.get(recipientId)
        return known is None or known == identityKey.serialize()

    # PreKeyStore
    def loadPreKey(self, preKeyId):
        if preKeyId not in self.pre_keys:
            raise InvalidKeyIdException("No such prekeyRecord! %s" % preKeyId)
        return PreKeyRecord(serialized=self.pre_keys[preKeyId])

    def storePreKey(self, preKeyId, record):
        self.pre_keys[preKeyId] = record.serialize()

    def containsPreKey(self, preKeyId):
        return preKeyId in self.pre_keys

    def removePreKey(self, preKeyId):
        self.pre_keys.pop(preKeyId, None)

    # SignedPreKeyStore
    def loadSignedPreKey(self, signedPreKeyId):
        if signedPreKeyId not in self.signed_pre_keys:
            raise InvalidKeyIdException("No such signedprekeyrecord! %s" % signedPreKeyId)
        return SignedPreKeyRecord(serialized=self.signed_pre_keys[signedPreKeyId])

    def loadSignedPreKeys(self):
        return [SignedPreKeyRecord(serialized=s) for s in self.signed_pre_keys.values()]

    def storeSignedPreKey(self, signedPreKeyId, record):
        self.signed_pre_keys[signedPreKeyId] = record.serialize()

    def containsSignedPreKey(self, signedPreKeyId):
        return signedPreKeyId in self.signed_pre_keys

    def removeSignedPreKey(self, signedPreKeyId):
        self.signed_pre_keys.pop(signedPreKeyId, None)

    # SessionStore
    def loadSession(self, recipientId, deviceId):
        data = self.sessions.get((recipientId, deviceId))
        return SessionRecord() if data is None else SessionRecord(serialized=data)

    def getSubDeviceSessions(self, recipientId):
        return [d for (name, d) in self.sessions if name == recipientId]

    def storeSession(self, recipientId, deviceId, record):
        self.sessions[(recipientId, deviceId)] = record.serialize()

    def containsSession(self, recipientId, deviceId):
        return (recipientId, deviceId) in self.sessions

    def deleteSession(self, recipientId, deviceId):
        self.sessions.pop((recipientId, deviceId), None)

    def deleteAllSessions(self, recipientId):
        for k in [k for k in self.sessions if k[0] == recipientId]:
            del self.sessions[k]


def cipher_of(stores, remote):
    return SessionCipher(stores, stores, stores, stores, remote, DEVICE_ID)


# --- errors -------------------------------------------------------------------------------


def said(e):
    return "%s: %s" % (type(e).__name__, e)


def refusal_of(e):
    """The bench's class of one of python-axolotl's exceptions, its own text kept."""
    if isinstance(e, Refusal):
        return e
    if isinstance(e, DuplicateMessageException):
        return Refusal("replay", said(e))
    if isinstance(e, (NoSessionException, UntrustedIdentityException, InvalidKeyIdException)):
        return Refusal("unknown-session", said(e))
    text = str(e)
    if isinstance(e, InvalidMessageException) and text.startswith("No valid sessions"):
        # decryptWithSessionRecord: every session state of the record failed. The library
        # appends the first failure's text (the current state's) and drops the others.
        if "into the future" in text:
            return Refusal("too-far-ahead", said(e))
        if "Bad Mac" in text:
            return Refusal("auth", said(e))
        if "Uninitialized session" in text:
            return Refusal("unknown-session", said(e))
        if "version" in text:
            return Refusal("malformed", said(e))
        return Refusal("other", said(e))
    if isinstance(e, (InvalidMessageException, InvalidVersionException, LegacyMessageException,
                      InvalidKeyException, DecodeError)):
        return Refusal("malformed", said(e))
    if isinstance(e, ValueError):
        text = str(e)
        if "padding" in text:
            # Bad padding under a MAC that verified: the reference says auth.
            return Refusal("auth", said(e))
        # The curve module refuses keys that are not 32 bytes (a short key field passes
        # Curve.decodePoint, which does not check the length).
        return Refusal("malformed", said(e))
    return None


# --- a party ------------------------------------------------------------------------------


class Party:
    """One device: its stores, its role, and the one correspondent it talks to (each party
    is its own device 1; a responder calls its correspondent "alice", an initiator "bob")."""

    def __init__(self, role, stores, draw):
        self.role = role
        self.stores = stores
        self.draw = draw

    @property
    def remote(self):
        return "alice" if self.role == "B" else "bob"

    @staticmethod
    def respond(draw):
        def build():
            pair = Curve.generateKeyPair()                                   # identity (32)
            identity = IdentityKeyPair(IdentityKey(pair.getPublicKey()), pair.getPrivateKey())
            return identity, registration_id(draw(2))
        identity, reg = drawing(draw, build)
        party = Party("B", Stores(identity, reg), draw)
        return party, party.publish()

    @staticmethod
    def initiate(draw, bundle_bytes):
        b = decode_bundle(bundle_bytes)

        def build():
            pair = Curve.generateKeyPair()                                   # identity (32)
            identity = IdentityKeyPair(IdentityKey(pair.getPublicKey()), pair.getPrivateKey())
            stores = Stores(identity, registration_id(draw(2)))
            pre_key = None if b["pre_key"] is None else Curve.decodePoint(b["pre_key"], 0)
            bundle = PreKeyBundle(
                b["registration_id"], b["device_id"], b["pre_key_id"], pre_key,
                b["signed_pre_key_id"], Curve.decodePoint(b["signed_pre_key"], 0),
                b["signature"], IdentityKey(b["identity_key"], 0))
            # Verifies the signature, then draws the base key and the first ratchet key.
            SessionBuilder(stores, stores, stores, stores, "bob", DEVICE_ID) \
                .processPreKeyBundle(bundle)
            return stores
        try:
            stores = drawing(draw, build)
        except InvalidKeyException as e:
            if "signature" in str(e):
                raise Refusal("auth", said(e))
            raise Refusal("malformed", said(e))
        except ValueError as e:
            raise Refusal("malformed", said(e))
        return Party("A", stores, draw)

    def publish(self):
        """A new bundle of this device (PROTOCOL.md `publish`; `respond` makes the first),
        drawing as the reference does: where the device has no signed pre-key yet (a new
        responder's, or an initiator's), its id (3), key (32) and the signature's Z (64);
        then a new one-time pre-key's id (3) and key (32)."""
        stores = self.stores.clone()

        def build():
            if not stores.signed_pre_keys:
                spk = KeyHelper.generateSignedPreKey(stores.identity, key_id(self.draw(3)))
                stores.storeSignedPreKey(spk.getId(), spk)
            spk = stores.loadSignedPreKey(min(stores.signed_pre_keys))
            # KeyHelper.generatePreKeys would wrap id 2^24-1 to 1 (ids modulo
            # Medium.MAX_VALUE - 1), so the record is made directly.
            opk = PreKeyRecord(key_id(self.draw(3)), Curve.generateKeyPair())  # 32
            stores.storePreKey(opk.getId(), opk)
            return spk, opk
        spk, opk = drawing(self.draw, build)
        self.stores = stores
        return encode_bundle(
            stores.registration, stores.identity.getPublicKey().serialize(), spk.getId(),
            spk.getKeyPair().getPublicKey().serialize(), spk.getSignature(),
            opk.getId(), opk.getKeyPair().getPublicKey().serialize())

    def renew(self, bundle_bytes):
        """A new session from the correspondent's new bundle (PROTOCOL.md `renew`):
        SessionBuilder.processPreKeyBundle on the party's record, which archives the current
        session (kept to decrypt with) and makes the new one current."""
        b = decode_bundle(bundle_bytes)
        stores = self.stores.clone()

        def build():
            pre_key = None if b["pre_key"] is None else Curve.decodePoint(b["pre_key"], 0)
            bundle = PreKeyBundle(
                b["registration_id"], b["device_id"], b["pre_key_id"], pre_key,
                b["signed_pre_key_id"], Curve.decodePoint(b["signed_pre_key"], 0),
                b["signature"], IdentityKey(b["identity_key"], 0))
            SessionBuilder(stores, stores, stores, stores, self.remote, DEVICE_ID) \
                .processPreKeyBundle(bundle)
        try:
            drawing(self.draw, build)
        except InvalidKeyException as e:
            raise Refusal("auth" if "signature" in str(e) else "malformed", said(e))
        except UntrustedIdentityException as e:
            raise Refusal("unknown-session", said(e))
        except ValueError as e:
            raise Refusal("malformed", said(e))
        self.stores = stores

    def encrypt(self, ad, plaintext):
        if not self.stores.containsSession(self.remote, DEVICE_ID):
            raise Refusal("unknown-session", "no session yet: a responder must receive a "
                          "message before it sends")
        message = drawing(None, lambda: cipher_of(self.stores, self.remote)
                          .encrypt(bind_ad(ad, plaintext)))
        return bytes([message.getType()]) + message.serialize()

    @staticmethod
    def parse(wire):
        if len(wire) < 2:
            raise Refusal("malformed", "wire shorter than its type and version bytes")
        try:
            if wire[0] == TYPE_PREKEY:
                return PreKeyWhisperMessage(serialized=bytes(wire[1:]))
            if wire[0] == TYPE_WHISPER:
                if len(wire) < 2 + MAC_LEN:
                    raise Refusal("malformed", "whisper message shorter than its version "
                                  "byte and MAC")
                return WhisperMessage(serialized=bytes(wire[1:]))
        except Exception as e:  # noqa: BLE001 - every parse failure is classed here
            r = refusal_of(e)
            raise r if r is not None else Refusal("malformed", said(e))
        raise Refusal("malformed", "unknown message type byte %d" % wire[0])

    def _attempt(self, stores, source, wire):
        message = self.parse(wire)
        cipher = cipher_of(stores, self.remote)
        if wire[0] == TYPE_PREKEY:
            return drawing(source, lambda: cipher.decryptPkmsg(message))
        return drawing(source, lambda: cipher.decryptMsg(message))

    def _sending_private_key(self, stores):
        data = stores.sessions.get((self.remote, DEVICE_ID))
        if data is None:
            return None
        state = SessionRecord(serialized=data).getSessionState()
        return state.getSenderRatchetKeyPair().getPrivateKey().serialize()

    def decrypt(self, ad, wire):
        # The library draws the next ratchet key pair when a message starts a new receiving
        # chain, before it checks the MAC, and then drops the state if the check fails; the
        # bench's reference draws only for a message it accepts. So the message is tried
        # first on a copy of the party with stand-in bytes; a refusal there changes nothing
        # and draws nothing. If the accepted state kept a stand-in key, the message is
        # decrypted once more on another copy, that draw now from the party's own source.
        trial, stand_in = self.stores.clone(), StandIn()
        try:
            payload = self._attempt(trial, stand_in, wire)
        except Exception as e:  # noqa: BLE001 - classed below, or said as other
            r = refusal_of(e)
            if r is None:
                raise
            raise r
        plaintext = unbind_ad(ad, payload)
        kept = None
        if stand_in.draws and self._sending_private_key(trial) == clamp(stand_in.draws[-1]):
            # The accepted state's sending key is the last stand-in: the state that took the
            # message drew it (earlier draws, if any, belonged to states that failed).
            kept = len(stand_in.draws) - 1
        if kept is None:
            self.stores = trial
            return plaintext
        real = self.stores.clone()
        again = self._attempt(real, Replayed(stand_in, kept, self.draw), wire)
        if again != payload:
            raise RuntimeError("the second run of an accepted message decrypted otherwise")
        self.stores = real
        return plaintext

    def export(self):
        s = self.stores
        return {
            "format": "ratchet-bench python-axolotl shim state 1",
            "role": self.role,
            "identity_key_pair": s.identity.serialize().hex(),
            "registration_id": s.registration,
            "sessions": [[name, dev, data.hex()] for (name, dev), data in sorted(s.sessions.items())],
            "pre_keys": [[k, v.hex()] for k, v in sorted(s.pre_keys.items())],
            "signed_pre_keys": [[k, v.hex()] for k, v in sorted(s.signed_pre_keys.items())],
            "trusted": [[k, v.hex()] for k, v in sorted(s.trusted.items())],
        }

    @staticmethod
    def restore(state, draw):
        if not isinstance(state, dict) or state.get("format") != \
                "ratchet-bench python-axolotl shim state 1":
            raise ValueError("not a python-axolotl shim state (format field)")
        if state["role"] not in ("A", "B"):
            raise ValueError("role must be A or B")
        reg = state["registration_id"]
        if not isinstance(reg, int):
            raise ValueError("registration_id must be an integer")
        identity = IdentityKeyPair(serialized=bytes.fromhex(state["identity_key_pair"]))
        stores = Stores(identity, reg)
        for name, dev, data in state["sessions"]:
            raw = bytes.fromhex(data)
            SessionRecord(serialized=raw)  # parses, or raises
            stores.sessions[(str(name), int(dev))] = raw
        for k, v in state["pre_keys"]:
            raw = bytes.fromhex(v)
            PreKeyRecord(serialized=raw).getKeyPair()
            stores.pre_keys[int(k)] = raw
        for k, v in state["signed_pre_keys"]:
            raw = bytes.fromhex(v)
            SignedPreKeyRecord(serialized=raw).getKeyPair()
            stores.signed_pre_keys[int(k)] = raw
        for k, v in state["trusted"]:
            raw = bytes.fromhex(v)
            IdentityKey(raw, 0)
            stores.trusted[str(k)] = raw
        return Party(state["role"], stores, draw)


# --- the protocol -------------------------------------------------------------------------

LIMITS = {
    "max_skip": MAX_SKIP,
    "max_stored": None,
    "max_stored_per_chain": None,
    "when_full": "unbounded",
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
            "version": LIBRARY_VERSION,
            "peers": [{
                "family": "signal-v3",
                "limits": LIMITS,
                # With host_rng every random byte comes from the party's own stream, as the
                # other peers' do: byte for byte comparable. Without it (an older bench), from
                # the seed: the same bytes every run, not the same bytes as theirs.
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
            except Exception as e:  # noqa: BLE001 - json's, protobuf's, ours: all malformed
                raise Refusal("malformed", "restore: %s" % said(e))
            self.parties[number] = party
            return {}
        if op == "publish":
            return {"bundle": self.party(req).publish().hex()}
        if op == "renew":
            self.party(req).renew(h("bundle"))
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
        print("python-axolotl shim: a request that is not JSON: %s" % e, file=sys.stderr)
        return None
    if not isinstance(req, dict):
        print("python-axolotl shim: a request that is not a JSON object", file=sys.stderr)
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
