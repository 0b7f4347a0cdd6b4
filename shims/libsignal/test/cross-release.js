// SPDX-License-Identifier: AGPL-3.0-only
//
// Every release with every release of the same family, through the pipe: the responder of
// one release publishes its bundle, the initiator of the other sets up the session from it,
// then messages go both ways (out of order too, and long enough for SPQR to change epochs).
// The outcome of each pair is held to what libsignal documents as intended (EXPECTED, with
// its source); a pair that does something else fails the test.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Shim } from './pipe.js';
import { parseWire, protoRead, protoGet } from './v3-derivation.js';

/** The peers of the libsignal family, one per release (0.72.1 speaking PQXDH, its second family). */
const LIBSIGNAL_PEERS = [
  { name: '0.72', args: ['--release', '0.72', '--family', 'libsignal'] },
  { name: '0.90', args: ['--release', '0.90'] },
  { name: '0.92', args: ['--release', '0.92'] },
  { name: '0.103', args: ['--release', '0.103'] },
];

/**
 * What libsignal intends for each (initiator, responder) pair, from its own cross-version
 * tests (rust/protocol/cross-version-testing) and release notes. `works`, or the step at
 * which the session must fail. Pairs not listed (a release with itself) must work.
 */
export const EXPECTED = {
  '0.72->0.90': { outcome: 'works', why: 'v0.90.0 tests/session.rs: current <-> v0.70.0 (PQXDH, no SPQR) both ways' },
  '0.90->0.72': { outcome: 'works', why: 'v0.90.0 tests/session.rs: current <-> v0.70.0 both ways' },
  '0.72->0.92': {
    outcome: 'fails: responder refuses the first pre-key message',
    why: 'v0.92.0 RELEASE_NOTES "Force use of SPQR v1 for all newly initiated sessions"; tests/prespqr.rs test_alice_lacks_spqr',
  },
  '0.72->0.103': {
    outcome: 'fails: responder refuses the first pre-key message',
    why: 'tests/prespqr.rs test_alice_lacks_spqr (v0.92.0 and later)',
  },
  '0.92->0.72': {
    outcome: 'fails: responder refuses the first pre-key message',
    why: 'tests/prespqr.rs test_bob_lacks_spqr: a pre-SPQR responder fails to decrypt (v0.73 there)',
  },
  '0.103->0.72': {
    outcome: 'fails: responder refuses the first pre-key message',
    why: 'tests/prespqr.rs test_bob_lacks_spqr',
  },
  '0.90->0.92': { outcome: 'works', why: 'v0.92.0 and later tests/session.rs: current <-> v0.74.0 with SPQR on, both ways' },
  '0.92->0.90': { outcome: 'works', why: 'same' },
  '0.90->0.103': { outcome: 'works', why: 'same' },
  '0.103->0.90': { outcome: 'works', why: 'same' },
  '0.92->0.103': { outcome: 'works', why: 'same (v0.91/v0.92 bind addresses only for service-id names)' },
  '0.103->0.92': { outcome: 'works', why: 'same' },
};

export const expectedOutcome = (i, r) => EXPECTED[`${i}->${r}`]?.outcome ?? 'works';

/** The SPQR epoch a whisper or pre-key message carries (SignalMessage field 5), or 0 without. */
function spqrEpoch(wire) {
  const p = parseWire(wire);
  const pq = protoGet(protoRead(p.signalMessage.subarray(1, p.signalMessage.length - 8)), 5);
  if (!pq || pq.length < 2) return 0;
  // [version 1][epoch varint][index varint][type]...: read the epoch varint.
  let v = 0;
  let mul = 1;
  for (let at = 1; at < pq.length; at++) {
    v += (pq[at] & 0x7f) * mul;
    if ((pq[at] & 0x80) === 0) break;
    mul *= 128;
  }
  return v;
}

/**
 * One pair: set-up, the first pre-key message, the answer, then `turns` of ping-pong with a
 * message held back and delivered late each turn. Returns `{outcome, step, err, epoch}`.
 */
export async function runPair(I, R, turns) {
  const [bob, bundle] = await R.responder();
  const a = await I.initiator(bundle);
  if (!a.party) return { outcome: 'fails: initiator refuses the bundle', err: a.err, epoch: 0 };
  const alice = a.party;
  let epoch = 0;
  const deliver = async (to, T, wire, text, step) => {
    epoch = Math.max(epoch, spqrEpoch(wire));
    const d = await T.recv(to, wire);
    if (d.ok && d.ok.plaintext === Buffer.from(text).toString('hex')) return null;
    return { step, err: d.err ?? { class: 'wrong-plaintext', detail: JSON.stringify(d) } };
  };
  let f = await deliver(bob, R, await I.send(alice, 'first'), 'first', 'first');
  if (f) return { outcome: 'fails: responder refuses the first pre-key message', err: f.err, epoch };
  f = await deliver(alice, I, await R.send(bob, 'answer'), 'answer', 'answer');
  if (f) return { outcome: 'fails: initiator refuses the answer', err: f.err, epoch };
  for (let t = 0; t < turns; t++) {
    for (const [from, F, to, T] of [
      [alice, I, bob, R],
      [bob, R, alice, I],
    ]) {
      const late = await F.send(from, `late ${t}`);
      const now = await F.send(from, `now ${t}`);
      f = (await deliver(to, T, now, `now ${t}`, t)) ?? (await deliver(to, T, late, `late ${t}`, t));
      if (f) return { outcome: `fails: turn ${t} (${from === alice ? 'initiator to responder' : 'responder to initiator'})`, err: f.err, epoch };
    }
  }
  return { outcome: 'works', epoch };
}

export function crossReleaseSuite({ turns }) {
  describe('cross-release: every release with every other of its family', () => {
    const shims = new Map();
    const results = [];
    before(async () => {
      for (const p of LIBSIGNAL_PEERS) {
        const s = new Shim(p.args);
        await s.ok('hello', { protocol: 1 });
        shims.set(p.name, s);
      }
    });
    after(async () => {
      for (const s of shims.values()) assert.equal(await s.close(), 0);
      console.log('# cross-release, libsignal family (initiator -> responder: outcome [refusal] max SPQR epoch)');
      for (const r of results) {
        const err = r.err ? ` [${r.err.class}: ${r.err.detail}]` : '';
        console.log(`#   ${r.pair}: ${r.outcome}${err} epoch ${r.epoch}`);
      }
    });

    for (const i of LIBSIGNAL_PEERS) {
      for (const r of LIBSIGNAL_PEERS) {
        const want = expectedOutcome(i.name, r.name);
        test(`libsignal ${i.name} -> ${r.name}: ${want}`, async () => {
          const got = await runPair(shims.get(i.name), shims.get(r.name), turns);
          results.push({ pair: `${i.name} -> ${r.name}`, ...got });
          assert.equal(got.outcome, want, `detail: ${JSON.stringify(got.err)}`);
          // Where both sides run SPQR the exchange is long enough for its ML-KEM exchange to
          // complete at least once (epoch 1 -> 2, about 25 turns); where one lacks it, the
          // initiator's offer (epoch 1) is all there is.
          const bothSpqr = i.name !== '0.72' && r.name !== '0.72';
          if (got.outcome === 'works' && bothSpqr) assert.ok(got.epoch >= 2, `SPQR reached epoch ${got.epoch}`);
          if (got.outcome === 'works' && !bothSpqr) assert.ok(got.epoch <= 1, `no SPQR epoch change, got ${got.epoch}`);
        });
      }
    }
  });
}

/** X3DH (signal-v3, 0.72.1) against the releases that require Kyber: what they do with it. */
export function x3dhAgainstKyberSuite() {
  describe('cross-release: signal-v3 (X3DH) against the Kyber releases', () => {
    const shims = new Map();
    before(async () => {
      for (const p of [{ name: '0.72', args: ['--release', '0.72'] }, ...LIBSIGNAL_PEERS.slice(1)]) {
        const s = new Shim(p.args);
        await s.ok('hello', { protocol: 1 });
        shims.set(p.name, s);
      }
    });
    after(async () => {
      for (const s of shims.values()) assert.equal(await s.close(), 0);
    });

    test('signal-v3 0.72 -> 0.72: works', async () => {
      const got = await runPair(shims.get('0.72'), shims.get('0.72'), 4);
      assert.equal(got.outcome, 'works', JSON.stringify(got.err));
    });

    for (const r of LIBSIGNAL_PEERS.slice(1)) {
      test(`signal-v3 0.72 -> ${r.name} (its keys without Kyber): the X3DH pre-key message is refused`, async () => {
        // The responder's JSON bundle rewritten as PROTOCOL.md's signal-v3 bundle: the same
        // identity, signed and one-time pre-keys, no Kyber pre-key.
        const R = shims.get(r.name);
        const I = shims.get('0.72');
        const [bob, json] = await R.responder();
        const b = JSON.parse(Buffer.from(json, 'hex').toString('utf8'));
        const u32 = (v) => {
          const x = Buffer.alloc(4);
          x.writeUInt32BE(v);
          return x;
        };
        const v3 = Buffer.concat([
          u32(b.registration_id),
          u32(b.device_id),
          Buffer.from(b.identity_key, 'hex'),
          u32(b.signed_pre_key_id),
          Buffer.from(b.signed_pre_key, 'hex'),
          Buffer.from(b.signed_pre_key_signature, 'hex'),
          Buffer.of(1),
          u32(b.pre_key_id),
          Buffer.from(b.pre_key, 'hex'),
        ]).toString('hex');
        const a = await I.initiator(v3);
        assert.ok(a.party, JSON.stringify(a.err));
        const m0 = await I.send(a.party, 'x3dh');
        assert.equal(m0.slice(2, 4), '34', 'a version-3 pre-key message');
        // v0.75.0 RELEASE_NOTES: "X3DH PreKey messages will now be rejected as invalid".
        const e = await R.expectErr(bob, m0, 'malformed');
        assert.match(e.detail, /X3DH|version|Kyber|kyber|invalid/i);
        console.log(`#   signal-v3 0.72 -> ${r.name}: refused [${e.class}: ${e.detail}]`);
      });
    }

    for (const r of LIBSIGNAL_PEERS.slice(1)) {
      test(`libsignal ${r.name} cannot build a bundle without a Kyber pre-key (no X3DH initiator)`, async () => {
        const { findRelease, load } = await import('../lib/releases.js');
        const S = await load(findRelease(r.name));
        const idk = S.IdentityKeyPair.generate();
        const spk = S.PrivateKey.generate();
        const sig = idk.privateKey.sign(spk.getPublicKey().serialize());
        assert.throws(() => S.PreKeyBundle.new(200, 1, null, null, 3000000, spk.getPublicKey(), sig, idk.publicKey, null, null, null));
      });
    }
  });
}

/**
 * A session set up by older releases goes on after one side moves to a newer release (its
 * exported records restored there): what an app does when it upgrades libsignal under its
 * stored sessions. v0.92.0 requires SPQR of newly initiated sessions only, and v0.75.0 refuses
 * X3DH pre-key messages, not version-3 sessions that already exist.
 */
export function upgradeSuite() {
  describe('cross-release: sessions survive an upgrade of one side', () => {
    const shims = new Map();
    const specs = [
      { name: '0.72 signal-v3', args: ['--release', '0.72'] },
      ...LIBSIGNAL_PEERS.map((p) => ({ name: p.name, args: p.args })),
    ];
    before(async () => {
      for (const p of specs) {
        const s = new Shim(p.args);
        await s.ok('hello', { protocol: 1 });
        shims.set(p.name, s);
      }
    });
    after(async () => {
      for (const s of shims.values()) assert.equal(await s.close(), 0);
    });

    const cases = [
      // [initiator, responder, who moves, to which release]
      ['0.72 signal-v3', '0.72 signal-v3', 'responder', '0.90'],
      ['0.72 signal-v3', '0.72 signal-v3', 'initiator', '0.103'],
      ['0.72', '0.90', 'responder', '0.103'],
      ['0.72', '0.72', 'initiator', '0.92'],
      ['0.90', '0.90', 'initiator', '0.92'],
      ['0.92', '0.92', 'responder', '0.103'],
    ];
    let party = 90000;
    for (const [ini, res, who, to] of cases) {
      test(`${ini} -> ${res}, then the ${who} moves to ${to}: messages in flight and new ones decrypt`, async () => {
        const I = shims.get(ini);
        const R = shims.get(res);
        const [bob, bundle] = await R.responder();
        const alice = (await I.initiator(bundle)).party;
        await R.expectPlain(bob, await I.send(alice, 'a0'), 'a0');
        await I.expectPlain(alice, await R.send(bob, 'b0'), 'b0');
        const inFlightA = await I.send(alice, 'in flight a');
        const inFlightB = await R.send(bob, 'in flight b');
        const [M, m] = who === 'initiator' ? [I, alice] : [R, bob];
        const { state } = await M.ok('export', { party: m });
        const T = shims.get(to);
        const moved = ++party;
        await T.ok('restore', { peer: 0, party: moved, state, seed: '00'.repeat(32) });
        const [PA, pa, PB, pb] = who === 'initiator' ? [T, moved, R, bob] : [I, alice, T, moved];
        await PB.expectPlain(pb, inFlightA, 'in flight a');
        await PA.expectPlain(pa, inFlightB, 'in flight b');
        for (let i = 0; i < 4; i++) {
          await PB.expectPlain(pb, await PA.send(pa, `a${i}`), `a${i}`);
          await PA.expectPlain(pa, await PB.send(pb, `b${i}`), `b${i}`);
        }
      });
    }
  });
}
