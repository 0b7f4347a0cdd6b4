# SPDX-License-Identifier: AGPL-3.0-only
"""Tests of the oldmemo shim, over its stdin / stdout as the bench drives it
(host_rng asks answered from per-party streams, as the bench answers them), plus a check
of its first message against the family's key schedule written out independently.

Run from this folder after ./setup:  .venv/bin/python -m unittest -v test_shim
"""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import unittest

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import shim  # noqa: E402

AD = b"ratchet-bench test ad"
MAX_SKIP = 1000
MAX_STORED = 1000


class Stream:
    """A party's random bytes as the bench hands them out: a deterministic stream."""

    def __init__(self, label):
        self.label, self.block, self.buffer = label, 0, b""

    def __call__(self, n):
        while len(self.buffer) < n:
            self.buffer += hashlib.sha256(b"%s %d" % (self.label, self.block)).digest()
            self.block += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


class Spliced:
    """The first `n` bytes from one stream, the rest from another."""

    def __init__(self, first, n, then):
        self.first, self.left, self.then = first, n, then

    def __call__(self, n):
        if self.left >= n:
            self.left -= n
            return self.first(n)
        assert self.left == 0, "a draw across the splice"
        return self.then(n)


class Recorded(Stream):
    """A stream that keeps what it handed out."""

    def __init__(self, label):
        super().__init__(label)
        self.given = []

    def __call__(self, n):
        out = super().__call__(n)
        self.given.append(out)
        return out


class Proc:
    """The shim as a child process, one request at a time."""

    def __init__(self, host_rng=True):
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "shim.py")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.next_id = 0
        self.next_party = 0
        self.sources = {}
        self.asked = []
        self.hello = self.ok("hello", protocol=1, features=["host_rng"] if host_rng else [])

    def raw(self, line, party=None):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        while True:
            answer = json.loads(self.p.stdout.readline())
            if "random" not in answer:
                return answer
            n = answer["random"]
            self.asked.append((party, n))
            data = self.sources.setdefault(party, Stream(b"party %d" % party))(n)
            self.p.stdin.write(json.dumps({"id": answer["id"], "random": data.hex()}) + "\n")
            self.p.stdin.flush()

    def call(self, op, **fields):
        rid = self.next_id
        self.next_id += 1
        req = {"id": rid, "op": op}
        for k, v in fields.items():
            req[k] = v.hex() if isinstance(v, (bytes, bytearray)) else v
        answer = self.raw(json.dumps(req), fields.get("party"))
        assert answer["id"] == rid, answer
        return answer

    def ok(self, op, **fields):
        a = self.call(op, **fields)
        assert "ok" in a, a
        return a["ok"]

    def party(self):
        self.next_party += 1
        return self.next_party

    def respond(self, seed=b"\x02" * 32):
        b = self.party()
        bundle = bytes.fromhex(self.ok("respond", peer=0, party=b, shared_secret=b"\0" * 32,
                                       seed=seed)["bundle"])
        return b, bundle

    def initiate(self, bundle, seed=b"\x01" * 32):
        a = self.party()
        answer = self.call("initiate", peer=0, party=a, shared_secret=b"\0" * 32,
                           bundle=bundle, seed=seed)
        return a, answer

    def pair(self, drop_one_time_key=False):
        b, bundle = self.respond()
        if drop_one_time_key:
            bundle = bundle[:142] + b"\x00"
        a, answer = self.initiate(bundle)
        assert "ok" in answer, answer
        assert self.ok("handshake", party=a)["handshake"] is None
        return a, b, bundle

    def send(self, party, pt, ad=AD):
        return bytes.fromhex(self.ok("encrypt", party=party, ad=ad, plaintext=pt)["wire"])

    def recv(self, party, wire, ad=AD):
        a = self.call("decrypt", party=party, ad=ad, wire=wire)
        if "ok" in a:
            return bytes.fromhex(a["ok"]["plaintext"])
        return a["err"]["class"], a["err"]["detail"]

    def state(self, party):
        return json.loads(bytes.fromhex(self.ok("export", party=party)["state"]))

    def close(self):
        self.p.stdin.close()
        code = self.p.wait(10)
        self.p.stdout.close()
        return code


class ShimTest(unittest.TestCase):
    host_rng = True

    def setUp(self):
        self.s = Proc(self.host_rng)
        self.started = time.perf_counter()

    def tearDown(self):
        self.assertEqual(self.s.close(), 0)
        print(" [%.2f s]" % (time.perf_counter() - self.started), end="", file=sys.stderr)


class Hello(ShimTest):
    def test_hello_declares_the_library_and_its_limits(self):
        h = self.s.hello
        self.assertEqual(h["protocol"], 1)
        self.assertEqual(h["implementation"], "oldmemo")
        self.assertIn("2.1.0", h["version"])
        (peer,) = h["peers"]
        self.assertEqual(peer["family"], "signal-v3")
        self.assertEqual(peer["limits"], {"max_skip": 1000, "max_stored": 1000,
                                          "max_stored_per_chain": None,
                                          "when_full": "evict-oldest", "window": None,
                                          "max_chains": 1})
        self.assertEqual(peer["capabilities"], {"injectable_rng": True, "export_state": True,
                                                "host_rng": True})

    def test_other_protocol_version_and_unknown_op(self):
        self.assertIn("err", self.s.call("hello", protocol=2))
        self.assertIn("unimplemented", self.s.call("frobnicate"))
        self.assertIn("unimplemented", self.s.call("join", party=1, handshake=b""))
        self.assertEqual(self.s.call("decrypt", party=999, ad=b"", wire=b"")["err"]["class"],
                         "other")


class Sessions(ShimTest):
    def test_bundle_layout_and_id_ranges(self):
        _, bundle = self.s.respond()
        self.assertEqual(len(bundle), 180)
        b = shim.decode_bundle(bundle)
        self.assertTrue(128 <= b["registration_id"] <= 16380)
        self.assertEqual(b["device_id"], 1)
        for k in ("signed_pre_key_id", "pre_key_id"):
            self.assertTrue(1 << 21 <= b[k] < 1 << 24, k)
        for k in ("identity_key", "signed_pre_key", "pre_key"):
            self.assertEqual(len(b[k]), 33)
            self.assertEqual(b[k][0], 5, "libsignal's serialised public key: 05 || 32 bytes")

    def test_both_directions_type_bytes_and_out_of_order(self):
        a, b, _ = self.s.pair()
        m0, m1, m2 = (self.s.send(a, b"m%d" % i) for i in range(3))
        for m in (m0, m1, m2):
            self.assertEqual(m[:2], b"\x03\x33", "pre-key messages until A hears from B")
        self.assertEqual(self.s.recv(b, m2), b"m2")
        self.assertEqual(self.s.recv(b, m0), b"m0")
        r0 = self.s.send(b, bytes(range(256)))
        self.assertEqual(r0[:2], b"\x02\x33")
        r1 = self.s.send(b, b"")
        self.assertEqual(self.s.recv(a, r1), b"")
        self.assertEqual(self.s.recv(a, r0), bytes(range(256)), "binary payloads come back")
        m3 = self.s.send(a, b"m3")
        self.assertEqual(m3[:2], b"\x02\x33", "a whisper message once A has heard from B")
        self.assertEqual(self.s.recv(b, m1), b"m1", "an old chain's message, late")
        self.assertEqual(self.s.recv(b, m3), b"m3")

    def test_bundle_without_one_time_pre_key_is_refused(self):
        # oldmemo builds sessions only with a one-time pre-key (its bundle schema needs one,
        # its backend asks x3dh to require one, and its key exchange message's pre-key id is
        # a required field): README.md, "Where oldmemo departs".
        _, bundle = self.s.respond()
        _, answer = self.s.initiate(bundle[:142] + b"\x00")
        self.assertEqual(answer["err"]["class"], "other", answer)
        self.assertIn("one-time pre-key", answer["err"]["detail"])

    def test_identity_keys_of_either_sign(self):
        # oldmemo keeps identity keys in Ed25519 form; the family's bundle carries the
        # Curve25519 form with the Ed25519 sign bit in the signature's last byte, and a key
        # exchange carries no sign bit at all. Sessions work whichever sign the keys have.
        signs = set()
        for i in range(8):
            b = self.s.party()
            self.s.sources[b] = Stream(b"sign bob %d" % i)
            bundle = bytes.fromhex(self.s.ok("respond", peer=0, party=b,
                                             shared_secret=b"\0" * 32)["bundle"])
            signs.add(bundle[141] >> 7)
            a = self.s.party()
            self.s.sources[a] = Stream(b"sign alice %d" % i)
            self.s.ok("initiate", peer=0, party=a, shared_secret=b"\0" * 32, bundle=bundle)
            self.assertEqual(self.s.recv(b, self.s.send(a, b"x")), b"x")
            self.assertEqual(self.s.recv(a, self.s.send(b, b"y")), b"y")
        self.assertEqual(signs, {0, 1}, "both signs met")

    def test_bad_signature_and_malformed_bundles_are_refused(self):
        _, bundle = self.s.respond()
        for at in (78, 100, 141):
            bad = bytearray(bundle)
            bad[at] ^= 0x01
            _, answer = self.s.initiate(bytes(bad))
            self.assertEqual(answer["err"]["class"], "auth", answer)
        bad = bytearray(bundle)
        bad[50] ^= 0x01          # the signed pre-key itself: the signature no longer covers it
        _, answer = self.s.initiate(bytes(bad))
        self.assertEqual(answer["err"]["class"], "auth", answer)
        for b in (bundle[:-1], bundle + b"\0", bundle[:142] + b"\x01", b""):
            _, answer = self.s.initiate(b)
            self.assertEqual(answer["err"]["class"], "malformed", answer)
        bad = bytearray(bundle)
        bad[8] = 0x06            # identity key type byte
        _, answer = self.s.initiate(bytes(bad))
        self.assertEqual(answer["err"]["class"], "malformed", answer)

    def test_refusals_have_their_classes_and_change_nothing(self):
        a, b, _ = self.s.pair()
        m0 = self.s.send(a, b"hello")
        self.assertEqual(self.s.recv(b, m0, ad=b"other ad")[0], "auth")
        for region in ("header", "body", "mac"):
            lo, hi = self.s.ok("layout", peer=0, wire=m0)[region]
            bad = bytearray(m0)
            bad[(lo + hi) // 2] ^= 0x10
            # In the header of a pre-key message a flipped bit may land in the identity key,
            # which libxeddsa then refuses as a point ("other", its XEdDSAException).
            self.assertIn(self.s.recv(b, bytes(bad))[0],
                          ("auth", "malformed", "unknown-session", "other"), region)
        self.assertEqual(self.s.recv(b, m0[:20])[0], "malformed")
        self.assertEqual(self.s.recv(b, b"")[0], "malformed")
        self.assertEqual(self.s.recv(b, b"\x07\x33abc")[0], "malformed")
        self.assertEqual(self.s.recv(b, m0), b"hello", "the refusals changed nothing")
        self.assertEqual(self.s.recv(b, m0)[0], "replay")
        r0 = self.s.send(b, b"back")
        bad = bytearray(r0)
        bad[-1] ^= 1
        self.assertEqual(self.s.recv(a, bytes(bad))[0], "auth")
        self.assertEqual(self.s.recv(a, r0, ad=b"")[0], "auth")
        self.assertEqual(self.s.recv(a, r0), b"back")
        self.assertEqual(self.s.recv(a, r0)[0], "replay")

    def test_messages_of_another_session(self):
        a, b, _ = self.s.pair()
        c, d, _ = self.s.pair()
        self.assertEqual(self.s.recv(b, self.s.send(a, b"ab")), b"ab")
        self.assertEqual(self.s.recv(d, self.s.send(c, b"cd")), b"cd")
        # A pre-key message from another identity: not the one B trusts.
        klass, detail = self.s.recv(b, self.s.send(self.s.pair()[0], b"x"))
        self.assertEqual(klass, "unknown-session", detail)
        # A whisper message of another session: a new chain from a foreign key, its MAC fails.
        self.assertEqual(self.s.recv(b, self.s.send(d, b"dc"))[0], "auth")
        # An initiator trusts the bundle's identity only (and has no signed pre-key of that id).
        self.assertEqual(self.s.recv(a, self.s.send(c, b"y"))[0], "unknown-session")
        self.assertEqual(self.s.recv(a, self.s.send(b, b"ba")), b"ba")

    def test_responder_cannot_send_first(self):
        _, b, _ = self.s.pair()
        a = self.s.call("encrypt", party=b, ad=AD, plaintext=b"x")
        self.assertEqual(a["err"]["class"], "unknown-session")

    def test_forward_limit_edges(self):
        a, b, _ = self.s.pair()
        m = [self.s.send(a, b"") for _ in range(MAX_SKIP + 2)]
        klass, detail = self.s.recv(b, m[MAX_SKIP + 1])
        self.assertEqual(klass, "too-far-ahead", detail)
        self.assertIn("More than 1000 message keys skipped", detail)
        self.assertEqual(self.s.recv(b, m[MAX_SKIP]), b"", "a message may skip exactly 1000 keys")
        self.assertEqual(self.s.recv(b, m[MAX_SKIP + 1]), b"")
        self.assertEqual(self.s.recv(b, m[0]), b"")
        # The same edges in a later chain (whisper messages).
        self.assertEqual(self.s.recv(a, self.s.send(b, b"turn")), b"turn")
        m = [self.s.send(a, b"") for _ in range(MAX_SKIP + 2)]
        self.assertEqual(self.s.recv(b, m[MAX_SKIP + 1])[0], "too-far-ahead")
        self.assertEqual(self.s.recv(b, m[MAX_SKIP]), b"")

    def test_store_keeps_1000_keys_and_drops_the_oldest(self):
        a, b, _ = self.s.pair()
        m = [self.s.send(a, b"%d" % i) for i in range(MAX_STORED + 3)]
        self.assertEqual(self.s.recv(b, m[MAX_STORED]), b"%d" % MAX_STORED)     # 1000 kept
        self.assertEqual(self.s.recv(b, m[MAX_STORED + 2]), b"%d" % (MAX_STORED + 2))  # 1001st
        klass, detail = self.s.recv(b, m[0])
        self.assertEqual(klass, "replay", detail)
        for i in (1, MAX_STORED - 1, MAX_STORED + 1):
            self.assertEqual(self.s.recv(b, m[i]), b"%d" % i)

    def test_keys_of_old_chains_stay_in_the_one_store(self):
        # doubleratchet keeps one receiving chain and the skipped keys of every earlier one
        # in its store: no limit on chains (unlike libsignal's five).
        a, b, _ = self.s.pair()
        first = [self.s.send(a, b"c0 %d" % i) for i in range(2)]
        self.assertEqual(self.s.recv(b, first[1]), b"c0 1")
        for turn in range(1, 7):
            self.assertEqual(self.s.recv(a, self.s.send(b, b"r")), b"r")
            msgs = [self.s.send(a, b"c%d %d" % (turn, i)) for i in range(2)]
            self.assertEqual(self.s.recv(b, msgs[1]), b"c%d 1" % turn)
        self.assertEqual(self.s.recv(b, first[0]), b"c0 0", "six chains later")

    def test_previous_counter_is_a_count(self):
        # doubleratchet writes PN as the number of messages of the previous sending chain;
        # libsignal (and python-axolotl) write the last index, one less (README.md).
        a, b, _ = self.s.pair()
        for i in range(3):
            self.assertEqual(self.s.recv(b, self.s.send(a, b"%d" % i)), b"%d" % i)
        self.assertEqual(self.s.recv(a, self.s.send(b, b"r")), b"r")
        m = self.s.send(a, b"next chain")
        self.assertEqual(varint_fields(m, 1, self.s.ok("layout", peer=0, wire=m)["mac"][0]),
                         {2: 0, 3: 3})

    def test_dh_step_beyond_the_limit_is_accepted_and_the_old_chain_dropped(self):
        # doubleratchet's next_decryption_key: a new chain whose header says more than 1000
        # keys of the old chain were skipped only warns, derives none of them, and accepts
        # the message (README.md); the old chain's messages are then lost.
        a, b, _ = self.s.pair()
        old = [self.s.send(a, b"o%d" % i) for i in range(MAX_SKIP + 2)]
        self.assertEqual(self.s.recv(b, old[0]), b"o0")
        self.assertEqual(self.s.recv(a, self.s.send(b, b"r")), b"r")
        new = self.s.send(a, b"new chain")
        self.assertEqual(self.s.recv(b, new), b"new chain")
        self.assertIn(self.s.recv(b, old[1])[0], ("auth", "replay"))

    def test_a_second_key_exchange_from_the_same_identity_is_refused(self):
        # A key exchange that would replace the session needs the one-time pre-key, which
        # the first one used up; the refusal leaves the session as it was.
        a, b, bundle = self.s.pair()
        self.assertEqual(self.s.recv(b, self.s.send(a, b"first")), b"first")
        # Same identity (A's first 32 bytes and registration id), a new base key.
        c = self.s.party()
        self.s.sources[c] = Spliced(Stream(b"party %d" % a), 34, Stream(b"other base key"))
        self.s.ok("initiate", peer=0, party=c, shared_secret=b"\0" * 32, bundle=bundle)
        klass, detail = self.s.recv(b, self.s.send(c, b"again"))
        self.assertEqual(klass, "unknown-session", detail)
        self.assertIn("No pre key with id", detail)
        self.assertEqual(self.s.recv(a, self.s.send(b, b"still")), b"still")

    def test_export_and_restore(self):
        a, b, _ = self.s.pair()
        m0, m1 = self.s.send(a, b"before"), self.s.send(a, b"after")
        self.assertEqual(self.s.recv(b, m0), b"before")
        c = self.s.party()
        self.s.ok("restore", peer=0, party=c, state=bytes.fromhex(
            self.s.ok("export", party=b)["state"]), seed=b"\x0a" * 32)
        self.assertEqual(self.s.recv(c, m1), b"after", "a restored party decrypts")
        self.assertEqual(self.s.recv(c, m0)[0], "replay", "and knows what it had seen")
        self.assertEqual(self.s.recv(b, m1), b"after", "the original goes on by itself")
        r = self.s.send(c, b"from the copy")
        self.assertEqual(self.s.recv(a, r), b"from the copy")
        # An initiator restored before its first message builds the session when it sends.
        e, f, _ = self.s.pair()
        g = self.s.party()
        self.s.ok("restore", peer=0, party=g, state=bytes.fromhex(
            self.s.ok("export", party=e)["state"]), seed=b"\x0c" * 32)
        self.assertEqual(self.s.recv(f, self.s.send(g, b"g")), b"g")
        # An initiator restored before it has heard from B still sends pre-key messages.
        d = self.s.party()
        self.s.ok("restore", peer=0, party=d, state=bytes.fromhex(
            self.s.ok("export", party=a)["state"]), seed=b"\x0b" * 32)
        self.assertEqual(self.s.recv(c, self.s.send(d, b"d")), b"d")
        for bad in (b"{}", b"not json", json.dumps({"format": "x"}).encode()):
            answer = self.s.call("restore", peer=0, party=self.s.party(), state=bad,
                                 seed=b"\0" * 32)
            self.assertEqual(answer["err"]["class"], "malformed", answer)

    def test_layout_names_the_regions(self):
        a, b, _ = self.s.pair()
        m0 = self.s.send(a, b"hello")
        for wire in (m0, None):
            if wire is None:
                self.s.recv(b, m0)
                wire = self.s.send(b, b"x" * 20)
            l = self.s.ok("layout", peer=0, wire=wire)
            self.assertEqual(l["header"], [0, l["body"][0]])
            # The MAC ends the whisper message: the wire itself, or field 4 of a pre-key
            # message (the registration and signed pre-key ids follow it).
            end = len(wire) if wire[0] == 2 else shim.proto_fields(wire, 2, len(wire))[4][1]
            self.assertEqual(l["mac"], [end - 8, end])
            self.assertEqual(l["body"][1], end - 8)
            self.assertEqual((l["body"][1] - l["body"][0]) % 16, 0, "AES-CBC blocks")
            lo, hi = l["ratchet_key"]
            self.assertEqual((hi - lo, wire[lo]), (33, 5))
            self.assertEqual(wire[lo - 2:lo], b"\x0a\x21", "field 1, 33 bytes")
        self.assertEqual(self.s.call("layout", peer=0, wire=b"\x02")["err"]["class"], "malformed")


class HostRng(ShimTest):
    def test_asks_follow_the_family_order(self):
        a, b, _ = self.s.pair()
        self.assertEqual(self.s.asked, [(b, 32), (b, 2), (b, 3), (b, 32), (b, 64), (b, 3), (b, 32),
                                        (a, 32), (a, 2), (a, 32), (a, 32)])
        self.s.asked = []
        m0, m1 = self.s.send(a, b"0"), self.s.send(a, b"1")
        self.assertEqual(self.s.asked, [], "encrypt draws nothing")
        self.assertEqual(self.s.recv(b, m0, ad=b"wrong")[0], "auth")
        bad = bytearray(m0)
        bad[self.s.ok("layout", peer=0, wire=m0)["mac"][0]] ^= 1
        self.assertEqual(self.s.recv(b, bytes(bad))[0], "auth")
        self.assertEqual(self.s.asked, [], "a refused message draws nothing")
        self.assertEqual(self.s.recv(b, m0), b"0")
        self.assertEqual(self.s.asked, [(b, 32)], "a new receiving chain: one ratchet key")
        self.assertEqual(self.s.recv(b, m1), b"1")
        self.assertEqual(self.s.asked, [(b, 32)], "the same chain: nothing")
        self.assertEqual(self.s.recv(a, self.s.send(b, b"r")), b"r")
        self.assertEqual(self.s.asked, [(b, 32), (a, 32)])

    def test_bundle_is_made_of_the_asked_bytes(self):
        b = self.s.party()
        self.s.sources[b] = rec = Recorded(b"bundle")
        bundle = bytes.fromhex(self.s.ok("respond", peer=0, party=b,
                                         shared_secret=b"\0" * 32)["bundle"])
        ik, reg, spk_id, spk, z, opk_id, opk = rec.given
        fields = shim.decode_bundle(bundle)
        self.assertEqual(fields["identity_key"], b"\x05" + x25519_public(ik))
        self.assertEqual(fields["registration_id"], 128 + int.from_bytes(reg, "big") % 16253)
        self.assertEqual(fields["signed_pre_key_id"],
                         (1 << 21) + int.from_bytes(spk_id, "big") % ((1 << 24) - (1 << 21)))
        self.assertEqual(fields["signed_pre_key"], b"\x05" + x25519_public(spk))
        self.assertEqual(fields["pre_key_id"],
                         (1 << 21) + int.from_bytes(opk_id, "big") % ((1 << 24) - (1 << 21)))
        self.assertEqual(fields["pre_key"], b"\x05" + x25519_public(opk))
        self.assertEqual(len(z), 64)

    def test_first_message_matches_the_key_schedule_written_out(self):
        b = self.s.party()
        self.s.sources[b] = bob = Recorded(b"bob")
        bundle = bytes.fromhex(self.s.ok("respond", peer=0, party=b,
                                         shared_secret=b"\0" * 32)["bundle"])
        a = self.s.party()
        self.s.sources[a] = alice = Recorded(b"alice")
        self.s.ok("initiate", peer=0, party=a, shared_secret=b"\0" * 32, bundle=bundle)
        wire = self.s.send(a, b"independent")
        expected = first_message(alice.given, bob.given, bundle, AD, b"independent")
        self.assertEqual(wire, expected)


class Seeded(ShimTest):
    host_rng = False

    def test_without_host_rng_bytes_come_from_the_seed(self):
        self.assertEqual(self.s.hello["peers"][0]["capabilities"],
                         {"injectable_rng": False, "export_state": True, "host_rng": False})
        _, b1 = self.s.respond(seed=b"\x07" * 32)
        _, b2 = self.s.respond(seed=b"\x07" * 32)
        _, b3 = self.s.respond(seed=b"\x08" * 32)
        self.assertEqual(b1, b2)
        self.assertNotEqual(b1, b3)
        a, b, _ = self.s.pair()
        self.assertEqual(self.s.recv(b, self.s.send(a, b"seeded")), b"seeded")
        self.assertEqual(self.s.asked, [])


# --- the family's key schedule, written out with the standard library and cryptography ----


def clamp(k):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    return bytes(k)


def x25519_public(priv):
    return X25519PrivateKey.from_private_bytes(clamp(priv)).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)


def dh(priv, pub33):
    assert pub33[0] == 5
    return X25519PrivateKey.from_private_bytes(clamp(priv)).exchange(
        X25519PublicKey.from_public_bytes(pub33[1:]))


def hkdf(ikm, salt, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def varint_fields(b, start, end):
    """Field number -> value of each varint field of a protobuf (the SignalMessage's counter
    2 and previous counter 3), from the byte after the version byte."""
    out, at = {}, start + 1
    while at < end:
        tag, at = read(b, at)
        if tag & 7 == 0:
            out[tag >> 3], at = read(b, at)
        else:
            n, at = read(b, at)
            at += n
    return out


def read(b, at):
    value, shift = 0, 0
    while True:
        c = b[at]
        at += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return value, at


def first_message(alice, bob, bundle, ad, plaintext):
    """Alice's first pre-key message from her random bytes (identity, registration id, base
    key, ratchet key), as PROTOCOL.md's signal-v3 section and DESIGN.md describe it."""
    ik_a, reg_a, base, ratchet = alice
    b = shim.decode_bundle(bundle)
    ika_pub = b"\x05" + x25519_public(ik_a)
    secret = (b"\xff" * 32 + dh(ik_a, b["signed_pre_key"]) + dh(base, b["identity_key"])
              + dh(base, b["signed_pre_key"]) + dh(base, b["pre_key"]))
    derived = hkdf(secret, b"\0" * 32, b"WhisperText", 64)
    root = derived[:32]
    step = hkdf(dh(ratchet, b["signed_pre_key"]), root, b"WhisperRatchet", 64)
    chain = step[32:]
    seed = hmac.new(chain, b"\x01", hashlib.sha256).digest()
    keys = hkdf(seed, b"\0" * 32, b"WhisperMessageKeys", 80)
    cipher_key, mac_key, iv = keys[:32], keys[32:64], keys[64:]
    padder = padding.PKCS7(128).padder()
    body = padder.update(shim.bind_ad(ad, plaintext)) + padder.finalize()
    enc = Cipher(algorithms.AES(cipher_key), modes.CBC(iv)).encryptor()
    ciphertext = enc.update(body) + enc.finalize()
    inner = b"\x33" + field(1, b"\x05" + x25519_public(ratchet)) + field(2, 0) + field(3, 0) \
        + field(4, ciphertext)
    mac = hmac.new(mac_key, ika_pub + b["identity_key"] + inner, hashlib.sha256).digest()[:8]
    outer = field(1, b["pre_key_id"]) + field(2, b"\x05" + x25519_public(base)) \
        + field(3, ika_pub) + field(4, inner + mac) + field(6, b["signed_pre_key_id"])
    # oldmemo writes no registration id (libsignal's field 5): README.md.
    return b"\x03\x33" + outer


if __name__ == "__main__":
    unittest.main()
