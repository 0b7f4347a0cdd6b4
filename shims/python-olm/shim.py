#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""libolm through python-olm as two peers of the bench: family "olm" and family "megolm".

Speaks the shim protocol v1 (shims/PROTOCOL.md) on stdin / stdout, logs on stderr.
The wire conventions are the bench's shared Olm/Megolm ones (references/src/olm_wire.rs),
and the adapter logic follows the in-process libolm peer (peers/src/libolm.rs) so
that the two report the same classes for the same library answers. See README.md.
"""

import base64
import hashlib
import json
import sys
import traceback

import olm
import olm.account
import olm.group_session
import olm.session
from _libolm import ffi, lib

PROTOCOL = 1

# libolm's limits (include/olm/ratchet.hh, src/ratchet.cpp): see README.md.
OLM_MAX_RECEIVER_CHAINS = 5
OLM_MAX_SKIPPED_MESSAGE_KEYS = 40
OLM_MAX_MESSAGE_GAP = 2000
# How far past the next expected index a Megolm message may be (src/inbound_group_session.c).
MEGOLM_MAX_SKIP = (1 << 31) - 2

KEY_LEN = 32
MAC_LEN = 8
SIGNATURE_LEN = 64
VERSION_BYTE = 3
PRE_KEY = 0
NORMAL = 1

# The passphrase of every pickle the shim makes (export, and its own copy of a session
# before a decrypt). A pickle is what a compromised device would hold; the passphrase is
# no secret of the protocol.
PICKLE_KEY = "ratchet-bench python-olm shim"
# How many dropped chains the book remembers, to name a message of one as such.
DROPPED_KEPT = 64


def library_version():
    major, minor, patch = ffi.new("uint8_t*"), ffi.new("uint8_t*"), ffi.new("uint8_t*")
    lib.olm_get_library_version(major, minor, patch)
    return "%d.%d.%d" % (major[0], minor[0], patch[0])


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

    Block i of the stream is SHA-256("ratchet-bench python-olm shim rng" || seed ||
    u64 BE i); draws take the stream's bytes in order. python-olm asks for exactly the bytes
    libolm's *_random_length() names, at the same calls as the in-process libolm peer.
    """

    def __init__(self, seed):
        self.seed = bytes(seed)
        self.block = 0
        self.buffer = b""

    def __call__(self, n):
        while len(self.buffer) < n:
            h = hashlib.sha256(b"ratchet-bench python-olm shim rng")
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
    generator of the party the request is about. python-olm takes every random byte libolm
    uses from its URANDOM (account, one-time keys, outbound session, each encrypt's ratchet
    key, outbound group session), asking exactly libolm's *_random_length() bytes at the
    same calls as the in-process libolm peer; so with these bytes the keys and messages
    are the other injectable peers' byte for byte."""

    def __init__(self):
        self.offered = False
        self.request = None

    def __call__(self, n):
        if n == 0:
            return b""
        if self.request is None:
            raise Refusal("other", "python-olm asked for %d random bytes outside a request" % n)
        out = b""
        while len(out) < n:  # asks of at most 4096 bytes
            k = min(n - len(out), 4096)
            sys.stdout.write(json.dumps({"id": self.request, "random": k}) + "\n")
            sys.stdout.flush()
            answer = json.loads(sys.stdin.readline())
            if answer.get("id") != self.request or not isinstance(answer.get("random"), str):
                raise RuntimeError("the bench answered an ask with %r" % (answer,))
            chunk = bytes.fromhex(answer["random"])
            if len(chunk) != k:
                raise RuntimeError("asked for %d random bytes, got %d" % (k, len(chunk)))
            out += chunk
        return out


HOST = HostBytes()


def _no_randomness(n):
    raise Refusal("other", "python-olm asked for %d random bytes outside a party's call" % n)


class using:
    """Routes python-olm's randomness (its module-level URANDOM) to one party's bytes for
    the duration of a call."""

    MODULES = (olm.account, olm.session, olm.group_session)

    def __init__(self, draw):
        self.draw = draw

    def __enter__(self):
        for m in self.MODULES:
            m.URANDOM = self.draw

    def __exit__(self, *exc):
        for m in self.MODULES:
            m.URANDOM = _no_randomness
        return False


for _m in using.MODULES:
    _m.URANDOM = _no_randomness


# --- encodings ----------------------------------------------------------------------------


def b64(raw):
    """libolm's unpadded standard base64."""
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def unb64(text):
    text = text if isinstance(text, str) else text.decode("ascii")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def bind_ad(ad, plaintext):
    return len(ad).to_bytes(4, "big") + ad + plaintext


def unbind_ad(ad, payload):
    if len(payload) < 4:
        raise Refusal("auth", "associated data: payload shorter than its length field")
    end = 4 + int.from_bytes(payload[:4], "big")
    if end > len(payload):
        raise Refusal("auth", "associated data: length beyond the payload")
    if payload[4:end] != ad:
        raise Refusal("auth", "associated data: the sender bound other associated data")
    return payload[end:]


def as_bytes(text):
    """python-olm decodes plaintexts as UTF-8; with surrogateescape that is reversible for
    any bytes (PEP 383), so binary payloads come back exactly."""
    return text.encode("utf-8", "surrogateescape")


# --- errors -------------------------------------------------------------------------------


def class_of(name):
    """The bench's class of a libolm error name (src/error.c), as the in-process peer maps it."""
    name = name[4:] if name.startswith("OLM_") else name
    if name in ("BAD_MESSAGE_MAC", "BAD_SIGNATURE"):
        return "auth"
    if name in ("BAD_MESSAGE_FORMAT", "BAD_MESSAGE_VERSION", "INVALID_BASE64", "BAD_SESSION_KEY"):
        return "malformed"
    if name == "BAD_MESSAGE_KEY_ID":
        return "unknown-session"
    if name == "UNKNOWN_MESSAGE_INDEX":
        return "replay"
    # Restoring a pickle: a pickle under another key or altered fails its MAC.
    if name == "BAD_ACCOUNT_KEY":
        return "auth"
    if name in ("CORRUPTED_PICKLE", "BAD_LEGACY_ACCOUNT_PICKLE", "UNKNOWN_PICKLE_VERSION"):
        return "malformed"
    return "other"


def refusal(what, error):
    """A Refusal from one of python-olm's exceptions (its text is libolm's error name)."""
    name = str(error)
    return Refusal(class_of(name), "%s: %s" % (what, name))


OLM_ERRORS = (olm.OlmSessionError, olm.OlmAccountError, olm.OlmGroupSessionError)


# --- reading messages as libolm reads them (src/message.cpp) ------------------------------

MESSAGE_TAGS = (0x0A, 0x10, 0x22)
PRE_KEY_TAGS = (0x0A, 0x12, 0x1A, 0x22)
GROUP_TAGS = (0x08, 0x12)


def _varint_skip(b, pos, end):
    while pos < end:
        c = b[pos]
        pos += 1
        if c & 0x80 == 0:
            break
    return pos


def _varint_value(b):
    v = 0
    for i, c in enumerate(b):
        if 7 * i < 64:
            v |= (c & 0x7F) << (7 * i)
    return v & 0xFFFFFFFFFFFFFFFF


def libolm_fields(b, end, tags):
    """The fields with `tags` of b[:end] after its version byte, read as libolm's decoders
    read them: a later field of a tag replaces an earlier one, other fields are skipped, a
    length past the end or an unknown wire type ends the reading. (A port of the in-process
    peer's reader, so both see the fields libolm acted on.)"""
    out = {}
    end = min(end, len(b))
    if end <= 0:
        return out
    pos = 1
    while pos < end:
        unknown = pos
        for tag in tags:
            if pos >= end or b[pos] != tag:
                continue
            pos += 1
            start = pos
            pos = _varint_skip(b, pos, end)
            if tag & 7 == 0:
                out[tag] = _varint_value(b[start:pos]) & 0xFFFFFFFF
            else:
                length = _varint_value(b[start:pos])
                if length > end - pos:
                    pos = end
                    continue
                out[tag] = bytes(b[pos:pos + length])
                pos += length
        if pos == unknown:
            tag = b[pos]
            if tag & 7 == 0:
                pos = _varint_skip(b, _varint_skip(b, pos, end), end)
            elif tag & 7 == 2:
                start = _varint_skip(b, pos, end)
                after = _varint_skip(b, start, end)
                length = _varint_value(b[start:after])
                pos = after + length if length <= end - after else end
            else:
                pos = end
    return out


def pre_key_fields_present(raw):
    f = libolm_fields(raw, len(raw), PRE_KEY_TAGS)
    keys = all(isinstance(f.get(t), bytes) and len(f[t]) == KEY_LEN for t in (0x0A, 0x12, 0x1A))
    return keys and isinstance(f.get(0x22), bytes)


def olm_header(message_type, raw):
    """The ratchet key and chain index of a normal message (or of a pre-key message's inner
    one) as libolm reads them, or None."""
    normal = raw
    if message_type == PRE_KEY:
        normal = libolm_fields(raw, len(raw), PRE_KEY_TAGS).get(0x22)
        if not isinstance(normal, bytes):
            return None
    end = len(normal) - MAC_LEN
    if end < 0:
        return None
    f = libolm_fields(normal, end, MESSAGE_TAGS)
    key, counter = f.get(0x0A), f.get(0x10)
    if not isinstance(key, bytes) or len(key) != KEY_LEN or not isinstance(counter, int):
        return None
    return key, counter


def megolm_index(raw):
    end = len(raw) - MAC_LEN - SIGNATURE_LEN
    index = libolm_fields(raw, end, GROUP_TAGS).get(0x08) if end > 0 else None
    return index if isinstance(index, int) else None


class ChainBook:
    """A copy of what libolm's ratchet keeps about received chains (ratchet key and next
    index, newest first, at most 5; skipped keys, newest first, at most 40 in all), so that
    libolm's single BAD_MESSAGE_MAC can be told apart: replay, too far ahead, a dropped
    chain, or a failed MAC. The same bookkeeping as the in-process libolm peer's."""

    def __init__(self, state=None):
        state = state or {}
        self.chains = [[bytes.fromhex(k), n] for k, n in state.get("chains", [])]
        self.skipped = [(bytes.fromhex(k), n) for k, n in state.get("skipped", [])]
        self.dropped = [bytes.fromhex(k) for k in state.get("dropped", [])]

    def to_json(self):
        return {
            "chains": [[k.hex(), n] for k, n in self.chains],
            "skipped": [[k.hex(), n] for k, n in self.skipped],
            "dropped": [k.hex() for k in self.dropped],
        }

    def accepted(self, key, counter):
        chain = next((c for c in self.chains if c[0] == key), None)
        if chain is not None and counter < chain[1]:
            if (key, counter) in self.skipped:
                self.skipped.remove((key, counter))
            return
        if chain is None:
            chain = [key, 0]
            self.chains.insert(0, chain)
            while len(self.chains) > OLM_MAX_RECEIVER_CHAINS:
                self.dropped.insert(0, self.chains.pop()[0])
            del self.dropped[DROPPED_KEPT:]
        first = max(chain[1], counter - OLM_MAX_SKIPPED_MESSAGE_KEYS)
        for index in range(first, counter):
            self.skipped.insert(0, (key, index))
        del self.skipped[OLM_MAX_SKIPPED_MESSAGE_KEYS:]
        chain[1] = counter + 1

    def refused(self, key, counter):
        chain = next((c for c in self.chains if c[0] == key), None)
        if chain is not None and counter < chain[1]:
            if (key, counter) in self.skipped:
                return "auth", "its skipped key is kept, the MAC failed"
            return "replay", "an earlier index of a kept chain whose key is used or dropped"
        if chain is not None and counter - chain[1] > OLM_MAX_MESSAGE_GAP:
            return "too-far-ahead", "more than MAX_MESSAGE_GAP past the chain's next index"
        if chain is None and key in self.dropped:
            return "replay", "a chain dropped (MAX_RECEIVER_CHAINS kept), its keys gone"
        if chain is None and counter > OLM_MAX_MESSAGE_GAP:
            return "too-far-ahead", "a new chain's index above MAX_MESSAGE_GAP"
        return "auth", "the MAC failed"


# --- wire layouts (the bench's olm_wire.rs, strict protobuf reading) ----------------------


def _fields(b, start, end):
    """[(tag, start, end)] of b[start:end], or None where it does not parse."""
    out = []
    at = start
    while at < end:
        if at >= len(b):
            return None
        tag = b[at]
        at += 1
        vstart = at
        if tag & 7 == 0:
            at = _strict_varint_end(b, at)
            if at is None:
                return None
        elif tag & 7 == 2:
            after = _strict_varint_end(b, at)
            if after is None:
                return None
            length = _varint_value(b[at:after])
            vstart, at = after, after + length
            if at > end:
                return None
        else:
            return None
        out.append((tag, vstart, at))
    return out if at == end else None


def _strict_varint_end(b, at):
    for _ in range(10):
        if at >= len(b):
            return None
        c = b[at]
        at += 1
        if c & 0x80 == 0:
            return at
    return None


def _normal_layout(b, start):
    mac_start = len(b) - MAC_LEN
    if mac_start <= start or b[start] != VERSION_BYTE:
        return None
    f = _fields(b, start + 1, mac_start)
    if f is None:
        return None
    body = next(((s, e) for t, s, e in f if t == 0x22), None)
    if body is None:
        return None
    rk = next(((s, e) for t, s, e in f if t == 0x0A and e - s == KEY_LEN), None)
    return {"header": [start, body[0]], "body": list(body), "mac": [mac_start, len(b)],
            "ratchet_key": list(rk) if rk else None}


EMPTY_LAYOUT = {"header": [0, 0], "body": [0, 0], "mac": [0, 0], "ratchet_key": None}


def olm_layout(wire):
    parsed = None
    if wire[:1] == bytes([NORMAL]):
        parsed = _normal_layout(wire, 1)
    elif wire[:1] == bytes([PRE_KEY]) and wire[1:2] == bytes([VERSION_BYTE]):
        f = _fields(wire, 2, len(wire))
        inner = next(((s, e) for t, s, e in f if t == 0x22), None) if f else None
        if inner:
            parsed = _normal_layout(wire[:inner[1]], inner[0])
            if parsed:
                parsed["header"][0] = 0
    return parsed or EMPTY_LAYOUT


def megolm_layout(wire):
    sig_start = len(wire) - SIGNATURE_LEN
    mac_start = sig_start - MAC_LEN
    if mac_start <= 0 or wire[0] != VERSION_BYTE:
        return EMPTY_LAYOUT
    f = _fields(wire, 1, mac_start)
    body = next(((s, e) for t, s, e in f if t == 0x12), None) if f else None
    if body is None:
        return EMPTY_LAYOUT
    return {"header": [0, body[0]], "body": list(body), "mac": [mac_start, sig_start],
            "ratchet_key": None}


# --- Olm ----------------------------------------------------------------------------------


def _max_plaintext_length(session, message_type, text):
    """libolm's format check of a message, before asking whether it matches the session
    (python-olm runs it only inside decrypt)."""
    data = text.encode("ascii")
    buf = ffi.new("char[]", data)
    r = lib.olm_decrypt_max_plaintext_length(session._session, message_type, buf, len(data))
    if r == lib.olm_error():
        name = ffi.string(lib.olm_session_last_error(session._session)).decode()
        raise Refusal(class_of(name), "olm_decrypt_max_plaintext_length: %s" % name)


class OlmParty:
    def __init__(self, account, session, draw, book=None):
        self.account = account
        self.session = session
        self.draw = draw
        self.book = book or ChainBook()

    def encrypt(self, ad, plaintext):
        if self.session is None:
            raise Refusal("unknown-session",
                          "no Olm session yet: the responder has not received a pre-key message")
        payload = bind_ad(ad, plaintext)
        with using(self.draw):
            try:
                message = self.session.encrypt(payload)
            except OLM_ERRORS as e:
                raise refusal("encrypt", e)
        kind = PRE_KEY if isinstance(message, olm.OlmPreKeyMessage) else NORMAL
        return bytes([kind]) + unb64(message.ciphertext)

    def decrypt(self, ad, wire):
        if not wire:
            raise Refusal("malformed", "empty Olm message")
        kind, raw = wire[0], wire[1:]
        if kind not in (PRE_KEY, NORMAL):
            raise Refusal("malformed", "unknown Olm message type %d" % kind)
        if not raw:
            raise Refusal("malformed", "python-olm: Ciphertext can't be empty")
        text = b64(raw)
        message = olm.OlmPreKeyMessage(text) if kind == PRE_KEY else olm.OlmMessage(text)
        if kind == PRE_KEY and self.session is None:
            # A session made from a message that is then refused is dropped, with the
            # one-time key still in the account: nothing changed.
            try:
                session = olm.InboundSession(self.account, message)
                payload = as_bytes(session.decrypt(message, unicode_errors="surrogateescape"))
            except OLM_ERRORS as e:
                raise refusal("inbound session", e)
            plaintext = unbind_ad(ad, payload)
            try:
                self.account.remove_one_time_keys(session)
            except OLM_ERRORS as e:
                raise refusal("remove_one_time_keys", e)
            self.session = session
            header = olm_header(kind, raw)
            if header:
                self.book.accepted(*header)
            return plaintext
        if self.session is None:
            raise Refusal("unknown-session",
                          "a normal Olm message before any session: the responder needs a "
                          "pre-key message first")
        if kind == PRE_KEY:
            _max_plaintext_length(self.session, kind, text)
            if not pre_key_fields_present(raw):
                raise Refusal("malformed",
                              "a pre-key message without its 32-byte one-time, base and "
                              "identity keys (the fields libolm's check_message_fields requires)")
            try:
                matches = self.session.matches(message)
            except OLM_ERRORS as e:
                raise refusal("matches", e)
            if not matches:
                raise Refusal("unknown-session",
                              "olm_matches_inbound_session: the pre-key message is of another "
                              "session")
        return self._decrypt_in_session(ad, kind, raw, message)

    def _decrypt_in_session(self, ad, kind, raw, message):
        before = self.session.pickle(PICKLE_KEY)
        try:
            payload = as_bytes(self.session.decrypt(message, unicode_errors="surrogateescape"))
        except OLM_ERRORS as e:
            r = refusal("decrypt", e)
            header = olm_header(kind, raw)
            if r.detail.endswith("BAD_MESSAGE_MAC") and header:
                r.klass, why = self.book.refused(*header)
                r.detail = "%s (index %d: %s)" % (r.detail, header[1], why)
            raise r
        try:
            plaintext = unbind_ad(ad, payload)
        except Refusal:
            # The ratchet moved for a payload the bench refuses: back to the copy.
            self.session = olm.Session.from_pickle(before, PICKLE_KEY)
            raise
        header = olm_header(kind, raw)
        if header:
            self.book.accepted(*header)
        return plaintext

    def export(self):
        return {
            "family": "olm",
            "account": self.account.pickle(PICKLE_KEY).decode("ascii"),
            "session": self.session.pickle(PICKLE_KEY).decode("ascii") if self.session else None,
            "book": self.book.to_json(),
        }

    @classmethod
    def restore(cls, state, draw):
        account = olm.Account.from_pickle(state["account"].encode("ascii"), PICKLE_KEY)
        session = None
        if state.get("session") is not None:
            session = olm.Session.from_pickle(state["session"].encode("ascii"), PICKLE_KEY)
        return cls(account, session, draw, ChainBook(state.get("book")))


class OlmPeer:
    family = "olm"
    limits = {
        "max_skip": OLM_MAX_MESSAGE_GAP,
        "max_stored": OLM_MAX_SKIPPED_MESSAGE_KEYS,
        "max_stored_per_chain": None,
        "when_full": "evict-oldest",
        "window": None,
        "max_chains": OLM_MAX_RECEIVER_CHAINS,
    }

    def respond(self, draw):
        with using(draw):
            try:
                account = olm.Account()
                account.generate_one_time_keys(1)
            except OLM_ERRORS as e:
                raise refusal("account", e)
        identity = unb64(account.identity_keys["curve25519"])
        one_time = unb64(next(iter(account.one_time_keys["curve25519"].values())))
        return OlmParty(account, None, draw), identity + one_time

    def initiate(self, bundle, draw):
        if len(bundle) != 2 * KEY_LEN:
            raise Refusal("malformed",
                          "an Olm bundle is 64 bytes (identity key, one-time key), got %d"
                          % len(bundle))
        with using(draw):
            try:
                account = olm.Account()
                session = olm.OutboundSession(account, b64(bundle[:KEY_LEN]),
                                              b64(bundle[KEY_LEN:]))
            except OLM_ERRORS as e:
                raise refusal("outbound session", e)
        return OlmParty(account, session, draw)

    def layout(self, wire):
        return olm_layout(wire)

    def restore(self, state, draw):
        return OlmParty.restore(state, draw)


# --- Megolm -------------------------------------------------------------------------------


class MegolmParty:
    def __init__(self, own, theirs, handshake):
        self.own = own
        self.theirs = theirs
        self.pending_handshake = handshake

    def encrypt(self, ad, plaintext):
        try:
            return unb64(self.own.encrypt(bind_ad(ad, plaintext)))
        except OLM_ERRORS as e:
            raise refusal("group encrypt", e)

    def decrypt(self, ad, wire):
        if self.theirs is None:
            raise Refusal("unknown-session",
                          "no inbound Megolm session yet: the initiator's session key has not "
                          "arrived")
        if not wire:
            raise Refusal("malformed", "python-olm: Ciphertext can't be empty")
        # A Megolm message names no session: one of another session fails its signature
        # check (BAD_SIGNATURE, auth).
        try:
            text, _index = self.theirs.decrypt(b64(wire), unicode_errors="surrogateescape")
        except OLM_ERRORS as e:
            r = refusal("group decrypt", e)
            if r.detail.endswith("UNKNOWN_MESSAGE_INDEX"):
                index = megolm_index(wire)
                first = self.theirs.first_known_index
                if index is not None and index >= first:
                    # libolm compares indices modulo 2^32: one 2^31 or more past the first
                    # known index looks to it like one before.
                    r.klass = "too-far-ahead"
                    r.detail += (" (index %d: 2^31 or more past the first known index %d and "
                                 "the latest)" % (index, first))
                elif index is not None:
                    r.detail += " (index %d: before the first known index %d)" % (index, first)
            raise r
        return unbind_ad(ad, as_bytes(text))

    def handshake(self):
        h, self.pending_handshake = self.pending_handshake, None
        return h

    def join(self, handshake):
        self.theirs = inbound_group_session(handshake)

    def export(self):
        return {
            "family": "megolm",
            "own": self.own.pickle(PICKLE_KEY).decode("ascii"),
            "theirs": self.theirs.pickle(PICKLE_KEY).decode("ascii") if self.theirs else None,
        }

    @classmethod
    def restore(cls, state):
        own = olm.OutboundGroupSession.from_pickle(state["own"].encode("ascii"), PICKLE_KEY)
        theirs = None
        if state.get("theirs") is not None:
            theirs = olm.InboundGroupSession.from_pickle(state["theirs"].encode("ascii"),
                                                         PICKLE_KEY)
        return cls(own, theirs, None)


def inbound_group_session(session_key):
    try:
        return olm.InboundGroupSession(b64(session_key))
    except OLM_ERRORS as e:
        raise refusal("inbound group session", e)


class MegolmPeer:
    family = "megolm"
    limits = {
        "max_skip": MEGOLM_MAX_SKIP,
        "max_stored": None,
        "max_stored_per_chain": None,
        "when_full": "unbounded",
        "window": None,
        "max_chains": None,
    }

    def _outbound(self, draw):
        with using(draw):
            try:
                return olm.OutboundGroupSession()
            except OLM_ERRORS as e:
                raise refusal("outbound group session", e)

    def respond(self, draw):
        own = self._outbound(draw)
        return MegolmParty(own, None, None), unb64(own.session_key)

    def initiate(self, bundle, draw):
        theirs = inbound_group_session(bundle)
        own = self._outbound(draw)
        # Taken now, at index 0, whenever the bench asks for it.
        return MegolmParty(own, theirs, unb64(own.session_key))

    def layout(self, wire):
        return megolm_layout(wire)

    def restore(self, state, draw):
        return MegolmParty.restore(state)


# --- the protocol -------------------------------------------------------------------------

PEERS = [OlmPeer(), MegolmPeer()]


def peer_of(party):
    """The peer whose party `party` is."""
    return PEERS[1] if isinstance(party, MegolmParty) else PEERS[0]


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
        version = library_version()
        return {
            "protocol": PROTOCOL,
            "implementation": "python-olm",
            "version": "3.2.16 (libolm %s)" % version,
            "peers": [
                {
                    "family": p.family,
                    "limits": p.limits,
                    # With host_rng every random byte comes from the party's own stream, as
                    # the other peers' do: byte for byte comparable. Without it (an older
                    # bench) bytes come from the seed: same bytes every run, not the same
                    # bytes as they (see README.md).
                    "capabilities": {"injectable_rng": HOST.offered, "export_state": True,
                                     "host_rng": HOST.offered},
                    "weakened": [],
                }
                for p in PEERS
            ],
            "features": self.features,
        }

    def peer(self, req):
        index = req.get("peer")
        if not isinstance(index, int) or not 0 <= index < len(PEERS):
            raise Refusal("other", "no peer %r (this shim serves %d)" % (index, len(PEERS)))
        return PEERS[index]

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
            return {"wire": wire.hex(), "layout": peer_of(party).layout(wire)}
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
            party, bundle = self.peer(req).respond(self.source(req))
            self.new_party(req, party)
            return {"bundle": bundle.hex()}
        if op == "initiate":
            party = self.peer(req).initiate(h("bundle"), self.source(req))
            self.new_party(req, party)
            return {}
        if op == "handshake":
            party = self.party(req)
            hs = party.handshake() if isinstance(party, MegolmParty) else None
            return {"handshake": hs.hex() if hs is not None else None}
        if op == "join":
            party = self.party(req)
            if not isinstance(party, MegolmParty):
                raise Unimplemented("join: an Olm responder takes the first pre-key message")
            party.join(h("handshake"))
            return {}
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
            peer = self.peer(req)
            try:
                state = json.loads(h("state").decode("utf-8"))
                if not isinstance(state, dict) or state.get("family") != peer.family:
                    raise ValueError("not a %s state of this shim" % peer.family)
                party = peer.restore(state, self.source(req))
            except OLM_ERRORS as e:
                raise refusal("restore", e)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise Refusal("malformed", "restore: %s" % e)
            self.new_party(req, party)
            return {}
        if op == "layout":
            return self.peer(req).layout(h("wire"))
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
        print("python-olm shim: a request that is not JSON: %s" % e, file=sys.stderr)
        return None
    rid = req.get("id") if isinstance(req, dict) else None
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
