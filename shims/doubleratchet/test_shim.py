# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Tests of the doubleratchet shim: over its stdin / stdout as the bench drives it, and the
bench's signal-dr vector files (made by the bench's reference; ksi-double-ratchet replays
them byte for byte) replayed through the shim's parties with each party's recorded random
bytes as its X25519 private keys.

Run from this folder after ./setup:  .venv/bin/python -m unittest -v test_shim
"""

import glob
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "vectors")
sys.path.insert(0, HERE)

import shim  # noqa: E402

AD = b"ratchet-bench test ad"
SK = bytes(range(32))


class Proc:
    """The shim as a child process, one request at a time."""

    def __init__(self):
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "shim.py")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.next_id = 0
        self.next_party = 1

    def call(self, op, **fields):
        rid = self.next_id
        self.next_id += 1
        req = {"id": rid, "op": op}
        for k, v in fields.items():
            req[k] = v.hex() if isinstance(v, (bytes, bytearray)) else v
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        answer = json.loads(self.p.stdout.readline())
        assert answer["id"] == rid, answer
        return answer

    def ok(self, op, **fields):
        a = self.call(op, **fields)
        assert "ok" in a, a
        return a["ok"]

    def party(self):
        self.next_party += 1
        return self.next_party

    def pair(self, seed_a=b"\x01" * 32, seed_b=b"\x02" * 32, sk=SK):
        b = self.party()
        bundle = bytes.fromhex(self.ok("respond", peer=0, party=b, shared_secret=sk,
                                       seed=seed_b)["bundle"])
        a = self.party()
        self.ok("initiate", peer=0, party=a, shared_secret=sk, bundle=bundle, seed=seed_a)
        self.assertNone = self.ok("handshake", party=a)["handshake"]
        return a, b, bundle

    def send(self, party, pt, ad=AD):
        return bytes.fromhex(self.ok("encrypt", party=party, ad=ad, plaintext=pt)["wire"])

    def recv(self, party, wire, ad=AD):
        a = self.call("decrypt", party=party, ad=ad, wire=wire)
        if "ok" in a:
            return bytes.fromhex(a["ok"]["plaintext"])
        return a["err"]["class"], a["err"]["detail"]

    def close(self):
        self.p.stdin.close()
        code = self.p.wait(10)
        self.p.stdout.close()
        return code


class OverThePipe(unittest.TestCase):
    def setUp(self):
        self.s = Proc()
        self.hello = self.s.ok("hello", protocol=1)

    def tearDown(self):
        self.assertEqual(self.s.close(), 0)

    def test_hello(self):
        h = self.hello
        self.assertEqual(h["protocol"], 1)
        self.assertEqual(h["implementation"], "python doubleratchet")
        self.assertEqual(h["version"], "1.3.0")
        (peer,) = h["peers"]
        self.assertEqual(peer["family"], "signal-dr")
        self.assertEqual(peer["limits"], {"max_skip": 1000, "max_stored": 2000,
                                          "max_stored_per_chain": None,
                                          "when_full": "evict-oldest", "window": None,
                                          "max_chains": None})
        self.assertEqual(peer["capabilities"], {"injectable_rng": False, "export_state": True,
                                                "host_rng": False},
                         "a bench that does not offer host_rng: keys from the seed")

    def test_both_ways_out_of_order(self):
        a, b, bundle = self.s.pair()
        self.assertEqual(len(bundle), 32)
        self.assertEqual(self.s.recv(a, b"\0" * 60)[0], "unknown-session",
                         "the initiator has no ratchet before its first message")
        self.assertEqual(self.s.call("encrypt", party=b, ad=AD, plaintext=b"x")["err"]["class"],
                         "unknown-session")
        m = [self.s.send(a, b"m%d" % i) for i in range(3)]
        self.assertEqual(m[1][32:40], bytes([0, 0, 0, 1, 0, 0, 0, 0]), "header: N then PN")
        self.assertEqual(self.s.recv(b, m[2]), b"m2")
        self.assertEqual(self.s.recv(b, m[0]), b"m0")
        r = self.s.send(b, bytes(range(256)))
        self.assertEqual(self.s.recv(a, r), bytes(range(256)))
        m3 = self.s.send(a, b"")
        self.assertEqual(m3[32:40], bytes([0, 0, 0, 0, 0, 0, 0, 3]), "new chain, PN 3")
        self.assertEqual(self.s.recv(b, m3), b"")
        self.assertEqual(self.s.recv(b, m[1]), b"m1", "a key of an older chain is kept")

    def test_refusals_have_their_classes_and_change_nothing(self):
        a, b, _ = self.s.pair()
        m0 = self.s.send(a, b"hello")
        m1 = self.s.send(a, b"again")
        self.assertEqual(self.s.recv(b, m0, ad=b"other")[0], "auth")
        for region in (5, 33, 45, len(m0) - 1):
            bad = bytearray(m0)
            bad[region] ^= 1
            self.assertIn(self.s.recv(b, bytes(bad))[0], ("auth", "too-far-ahead"))
        self.assertEqual(self.s.recv(b, m0[:39])[0], "malformed")
        self.assertEqual(self.s.recv(b, m0[:-1])[0], "malformed")
        self.assertEqual(self.s.recv(b, m0), b"hello", "refusals left Bob as he was")
        self.assertEqual(self.s.recv(b, m0)[0], "replay")
        self.assertEqual(self.s.recv(b, m1, ad=b"x")[0], "auth")
        self.assertEqual(self.s.recv(b, m1), b"again")
        self.assertEqual(self.s.recv(b, m1)[0], "replay")
        c, d, _ = self.s.pair(b"\x03" * 32, b"\x04" * 32, sk=b"\x09" * 32)
        self.assertEqual(self.s.recv(b, self.s.send(c, b"x"))[0], "auth",
                         "another session's message")

    def test_forward_limit_at_its_edge(self):
        a, b, _ = self.s.pair()
        self.assertEqual(self.s.recv(b, self.s.send(a, b"m0")), b"m0")
        for _ in range(1000):
            self.s.send(a, b"")
        self.assertEqual(self.s.recv(b, self.s.send(a, b"at")), b"at", "1000 skipped keys")
        for _ in range(1001):
            self.s.send(a, b"")
        self.assertEqual(self.s.recv(b, self.s.send(a, b"past"))[0], "too-far-ahead")

    def test_store_evicts_the_oldest_beyond_2000(self):
        a, b, _ = self.s.pair()
        chains = []
        for count in (1001, 1001, 2):
            sent = [self.s.send(a, b"%d" % i) for i in range(count)]
            self.assertEqual(self.s.recv(b, sent[-1]), b"%d" % (count - 1))
            self.assertEqual(self.s.recv(a, self.s.send(b, b"turn")), b"turn")
            chains.append(sent)
        # 1000 + 1000 + 1 keys skipped: one more than the 2000 kept, so the oldest went.
        # Its chain is no longer the current one, so the library takes the message for a
        # new ratchet step, whose MAC fails.
        self.assertEqual(self.s.recv(b, chains[0][0])[0], "auth", "the oldest key was dropped")
        self.assertEqual(self.s.recv(b, chains[0][1]), b"1")
        self.assertEqual(self.s.recv(b, chains[1][0]), b"0")
        self.assertEqual(self.s.recv(b, chains[2][0]), b"0")

    def test_same_seeds_same_bytes(self):
        def run(seed_a, seed_b):
            a, b, bundle = self.s.pair(seed_a, seed_b)
            m0 = self.s.send(a, b"x")
            self.s.recv(b, m0)
            return bundle, m0, self.s.send(b, b"y")

        self.assertEqual(run(b"\x05" * 32, b"\x06" * 32), run(b"\x05" * 32, b"\x06" * 32))
        self.assertNotEqual(run(b"\x05" * 32, b"\x06" * 32), run(b"\x05" * 32, b"\x07" * 32))

    def test_export_and_restore(self):
        a, b, _ = self.s.pair()
        m0 = self.s.send(a, b"before")
        m1 = self.s.send(a, b"after")
        pending = self.s.party()
        state = bytes.fromhex(self.s.ok("export", party=b)["state"])
        self.s.ok("restore", peer=0, party=pending, state=state, seed=b"\x0c" * 32)
        self.assertEqual(self.s.recv(pending, m0), b"before", "restored before any message")
        self.assertEqual(self.s.recv(b, m0), b"before")
        state = bytes.fromhex(self.s.ok("export", party=b)["state"])
        c = self.s.party()
        self.s.ok("restore", peer=0, party=c, state=state, seed=b"\x0a" * 32)
        self.assertEqual(self.s.recv(c, m1), b"after")
        self.assertEqual(self.s.recv(c, m0)[0], "replay")
        bad = self.s.call("restore", peer=0, party=self.s.party(), state=b"{}", seed=b"\0" * 32)
        self.assertEqual(bad["err"]["class"], "malformed")

    def test_layout(self):
        a, _, _ = self.s.pair()
        m0 = self.s.send(a, b"x" * 20)
        self.assertEqual(self.s.ok("layout", peer=0, wire=m0),
                         {"header": [0, 40], "body": [40, 72], "mac": [72, 104],
                          "ratchet_key": [0, 32]})


class Profile(unittest.TestCase):
    """The library's building blocks, configured, against the profile written out with
    the standard library (HMAC, and HKDF from RFC 5869 by hand)."""

    def test_kdfs_are_the_profiles(self):
        def hkdf(salt, ikm, info, n):
            prk = hmac.new(salt, ikm, hashlib.sha256).digest()
            out, t, i = b"", b"", 1
            while len(out) < n:
                t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
                out, i = out + t, i + 1
            return out[:n]

        rk, dh, ck = b"\x11" * 32, b"\x22" * 32, b"\x33" * 32
        self.assertEqual(shim.run(shim.RootChainKDF.derive(rk, dh, 64)),
                         hkdf(rk, dh, shim.KDF_RK_INFO, 64))
        self.assertEqual(shim.run(shim.MessageChainKDF.derive(ck, shim.MESSAGE_CHAIN_CONSTANT, 64)),
                         hmac.new(ck, b"\x02", hashlib.sha256).digest()
                         + hmac.new(ck, b"\x01", hashlib.sha256).digest())
        mk, ad = b"\x44" * 32, b"ad"
        ct = shim.run(shim.AEAD.encrypt(b"x" * 20, mk, ad))
        keys = hkdf(b"\0" * 32, mk, shim.ENCRYPT_INFO, 80)
        self.assertEqual(len(ct), 32 + 32)
        self.assertEqual(ct[32:], hmac.new(keys[32:64], ad + ct[:32], hashlib.sha256).digest())


class Scripted:
    """The random bytes a vector recorded, handed out in order."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def __call__(self, n):
        # Strict: a party that draws for a message it refuses, or more than the reference
        # drew, runs past the recording.
        if self.at + n > len(self.data):
            raise AssertionError("the shim drew more randomness than the vector holds")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out


def flip(data, bit):
    data = bytearray(data)
    b = bit % (len(data) * 8)
    data[b // 8] ^= 1 << (b % 8)
    return bytes(data)


def replay_case(group, case):
    """Replays one vector case through the shim's parties; returns None or what differed."""
    ad = bytes.fromhex(group["ad"])
    sk = bytes.fromhex(case["sharedSecret"])
    rng = {"A": Scripted(bytes.fromhex(case["randomA"])),
           "B": Scripted(bytes.fromhex(case["randomB"]))}
    bob_priv = rng["B"](32)
    b = shim.Party("B", sk, rng["B"], own_priv=bob_priv)
    a = shim.Party("A", sk, rng["A"], their_pub=shim.x25519_public(bob_priv))
    parties = {"A": a, "B": b}
    jumps = [int(j) for j in re.findall(r"jump [AB] ([+-]\d+)", case["scenario"])]
    ad_flips = [int(x) for x in re.findall(r"tamper m\d+ ad (\d+)", case["scenario"])]
    digest = hashlib.sha256()
    for s in case["steps"]:
        party, data = parties[s["party"]], bytes.fromhex(s["input"])
        where = "tcId %d step %d (%s, %s)" % (case["tcId"], s["step"], s["kind"], s["party"])
        if s["outcome"] == "sent":
            if s["kind"] == "jump":
                for _ in range(max(0, group["maxSkip"] + jumps.pop(0))):
                    digest.update(party.encrypt(ad, b""))
            wire = party.encrypt(ad, data)
            digest.update(wire)
            if wire.hex() != s["output"]:
                return "%s: wire %s, expected %s" % (where, wire.hex(), s["output"])
            continue
        use_ad = flip(ad, ad_flips.pop(0)) if s["kind"] == "tamper-ad" else ad
        try:
            got = ("accepted", party.decrypt(use_ad, data).hex())
        except shim.Refusal:
            got = ("rejected", "")
        if got != (s["outcome"], s["output"]):
            return "%s: %s, expected %s" % (where, got, (s["outcome"], s["output"]))
    if digest.hexdigest() != case["sentDigest"]:
        return "tcId %d: digest of the sent messages differs" % case["tcId"]
    for name, r in rng.items():
        if r.at != len(r.data):
            return "tcId %d: %s drew %d of %d recorded bytes" % (case["tcId"], name, r.at,
                                                                 len(r.data))
    return None


class Vectors(unittest.TestCase):
    def test_signal_dr_vectors_byte_for_byte(self):
        files = sorted(glob.glob(os.path.join(VECTORS, "signal-dr", "*.json")))
        self.assertTrue(files, "no signal-dr vector files")
        passed, failures = 0, []
        for path in files:
            with open(path) as f:
                suite = json.load(f)
            for group in suite["testGroups"]:
                for case in group["tests"]:
                    why = replay_case(group, case)
                    if why:
                        failures.append("%s %s" % (os.path.basename(path), why))
                    else:
                        passed += 1
        print("\nsignal-dr vectors: %d pass, %d fail" % (passed, len(failures)), file=sys.stderr)
        self.assertEqual(failures, [])
        self.assertGreater(passed, 0)


class Cost(unittest.TestCase):
    def test_round_trip_cost_inside_python(self):
        """Median cost of one 1 KiB encrypt + decrypt inside Python, every message a ratchet
        turn."""
        b = shim.Party("B", SK, shim.SeededBytes(b"\1" * 32), own_priv=b"\5" * 32)
        a = shim.Party("A", SK, shim.SeededBytes(b"\2" * 32),
                       their_pub=shim.x25519_public(b"\5" * 32))
        pt = b"\x5a" * 1024
        b.decrypt(AD, a.encrypt(AD, pt))
        times = []
        for i in range(300):
            x, y = (a, b) if i % 2 else (b, a)
            t0 = time.perf_counter()
            y.decrypt(AD, x.encrypt(AD, pt))
            times.append(time.perf_counter() - t0)
        times.sort()
        print("\nsignal-dr ping-pong: median encrypt+decrypt %.1f us"
              % (times[len(times) // 2] * 1e6), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
