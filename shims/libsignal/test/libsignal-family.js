// SPDX-License-Identifier: AGPL-3.0-only
//
// The `libsignal` family's own tests: its JSON bundle with a Kyber pre-key (PQXDH).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZERO, flipBit, hex } from './pipe.js';

export function libsignalFamilyTests(s) {
  test('bundle: libsignal serialisations of every part, PQXDH with a Kyber pre-key', async () => {
    const shim = s();
    const [, bundle] = await shim.responder();
    const b = JSON.parse(Buffer.from(bundle, 'hex').toString('utf8'));
    for (const f of ['registration_id', 'device_id', 'pre_key_id', 'signed_pre_key_id', 'kyber_pre_key_id']) {
      assert.ok(Number.isSafeInteger(b[f]), `bundle has ${f}`);
    }
    // Curve25519 public keys as libsignal serialises them: type byte 0x05 || 32 bytes.
    for (const f of ['identity_key', 'pre_key', 'signed_pre_key']) {
      assert.match(b[f], /^05[0-9a-f]{64}$/, `${f} is a serialised Curve25519 key`);
    }
    // XEdDSA signatures are 64 bytes; the Kyber key is a type byte || ML-KEM/Kyber-1024 key.
    assert.equal(b.signed_pre_key_signature.length, 128);
    assert.equal(b.kyber_pre_key_signature.length, 128);
    assert.equal(b.kyber_pre_key.length, 2 * (1 + 1568));
    const initiate = (bad) =>
      shim.call('initiate', { peer: 0, party: ++shim.party, shared_secret: ZERO, seed: ZERO, bundle: hex(JSON.stringify(bad)) });
    // A bundle whose signed pre-key signature is broken is refused by libsignal.
    const a = await initiate({ ...b, signed_pre_key_signature: flipBit(b.signed_pre_key_signature, 3) });
    assert.equal(a.err?.class, 'auth', JSON.stringify(a));
    const k = await initiate({ ...b, kyber_pre_key_signature: flipBit(b.kyber_pre_key_signature, 3) });
    assert.equal(k.err?.class, 'auth', JSON.stringify(k));
    // Without the Kyber pre-key the family's bundle is incomplete (and no release after 0.72
    // can set up a session without one).
    const { kyber_pre_key_id: _i, kyber_pre_key: _k, kyber_pre_key_signature: _s, ...noKyber } = b;
    const n = await initiate(noKyber);
    assert.equal(n.err?.class, 'malformed', JSON.stringify(n));
    assert.match(n.err.detail, /kyber_pre_key_id/);
  });

  test('bundle without the one-time pre-key: PQXDH from the signed and Kyber pre-keys', async () => {
    const shim = s();
    const [bob, bundle] = await shim.responder();
    const b = JSON.parse(Buffer.from(bundle, 'hex').toString('utf8'));
    const { pre_key_id: _i, pre_key: _k, ...noOneTime } = b;
    const a = await shim.initiator(hex(JSON.stringify(noOneTime)));
    assert.ok(a.party, JSON.stringify(a.err));
    const m0 = await shim.send(a.party, 'no one-time key');
    assert.notEqual(m0.slice(4, 6), '08', 'no field 1 (pre_key_id) in the pre-key message');
    await shim.expectPlain(bob, m0, 'no one-time key');
    await shim.expectPlain(a.party, await shim.send(bob, 'back'), 'back');
  });
}
