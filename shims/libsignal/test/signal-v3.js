// SPDX-License-Identifier: AGPL-3.0-only
//
// The `signal-v3` family's own tests (libsignal 0.72.1): PROTOCOL.md's fixed binary bundle
// without a Kyber pre-key, set-up with and without the one-time pre-key, a bad signature
// refused as auth, malformed bundles, and the session derived a second time from the
// parties' exported private keys with node:crypto (v3-derivation.js): X3DH, KDF_RK, KDF_CK,
// the message keys, AES-256-CBC, the MAC and the byte layout of both messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flipBit } from './pipe.js';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  dh,
  encodePreKeySignalMessage,
  encodeSignalMessage,
  exportedKeys,
  mac,
  messageKeys,
  parseWire,
  publicOf,
  rootStep,
  x3dhFromResponder,
} from './v3-derivation.js';

/** PROTOCOL.md's layout, read independently of the shim's encoder. */
function readBundle(bundleHex) {
  const b = Buffer.from(bundleHex, 'hex');
  const out = {
    length: b.length,
    registrationId: b.readUInt32BE(0),
    deviceId: b.readUInt32BE(4),
    identityKey: b.subarray(8, 41),
    signedPreKeyId: b.readUInt32BE(41),
    signedPreKey: b.subarray(45, 78),
    signature: b.subarray(78, 142),
    flag: b[142],
  };
  if (b.length === 180) {
    out.preKeyId = b.readUInt32BE(143);
    out.preKey = b.subarray(147, 180);
  }
  return out;
}

/** The bundle without its one-time pre-key: the first 142 bytes and flag 00 (143 bytes). */
const withoutOneTime = (bundleHex) => `${bundleHex.slice(0, 2 * 142)}00`;

const bindAd = (ad, pt) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(ad.length);
  return Buffer.concat([len, ad, pt]);
};

export function signalV3Tests(s) {
  test('bundle: the fixed binary layout of PROTOCOL.md, 180 bytes, ids in their ranges', async () => {
    const [, bundle] = await s().responder();
    const b = readBundle(bundle);
    assert.equal(b.length, 180, 'a responder always publishes a one-time pre-key');
    assert.ok(b.registrationId >= 128 && b.registrationId <= 16380, `registration id ${b.registrationId}`);
    assert.equal(b.deviceId, 1);
    for (const id of [b.signedPreKeyId, b.preKeyId]) assert.ok(id >= 2 ** 21 && id <= 2 ** 24 - 1, `pre-key id ${id}`);
    for (const k of [b.identityKey, b.signedPreKey, b.preKey]) assert.equal(k[0], 0x05, 'keys are 0x05 || 32 bytes');
    assert.equal(b.flag, 1);
  });

  test('set-up without the one-time pre-key (143 bytes): X3DH from the signed pre-key alone', async () => {
    const shim = s();
    const [bob, bundle] = await shim.responder();
    const a = await shim.initiator(withoutOneTime(bundle));
    assert.ok(a.party, JSON.stringify(a.err));
    const m0 = await shim.send(a.party, 'first');
    const p = parseWire(m0);
    assert.equal(p.outer.preKeyId, null, 'no field 1 (pre_key_id) in the pre-key message');
    await shim.expectPlain(bob, m0, 'first');
    await shim.expectPlain(a.party, await shim.send(bob, 'back'), 'back');
    await shim.expectPlain(bob, await shim.send(a.party, 'again'), 'again');
  });

  test('a bundle whose signature does not verify is refused as auth', async () => {
    const shim = s();
    const [, bundle] = await shim.responder();
    for (const at of [78, 100, 141]) {
      const a = await shim.initiator(flipBit(bundle, at));
      assert.equal(a.err?.class, 'auth', `signature byte ${at}: ${JSON.stringify(a)}`);
    }
    // The signature is over the signed pre-key: another signed pre-key fails it as well.
    const a = await shim.initiator(flipBit(bundle, 50));
    assert.equal(a.err?.class, 'auth', JSON.stringify(a));
    // So does another identity key (the signature is checked with the bundle's identity).
    const i = await shim.initiator(flipBit(bundle, 20));
    assert.equal(i.err?.class, 'auth', JSON.stringify(i));
  });

  test('malformed bundles: lengths, the flag, key types', async () => {
    const shim = s();
    const [, bundle] = await shim.responder();
    const cases = [
      ['', 'empty'],
      [bundle.slice(0, 2 * 142), '142 bytes'],
      [`${bundle}00`, '181 bytes'],
      [bundle.slice(0, 2 * 179), '179 bytes'],
      [`${withoutOneTime(bundle)}00`, '144 bytes'],
      [`${bundle.slice(0, 2 * 142)}02${bundle.slice(2 * 143)}`, 'flag 2'],
      [`${bundle.slice(0, 2 * 142)}01`, 'flag 1 with 143 bytes'],
      [`${bundle.slice(0, 2 * 142)}00${bundle.slice(2 * 143)}`, 'flag 0 with 180 bytes'],
      [`${bundle.slice(0, 16)}06${bundle.slice(18)}`, 'identity key of type 6'],
      [`${bundle.slice(0, 2 * 147)}06${bundle.slice(2 * 148)}`, 'one-time pre-key of type 6'],
    ];
    for (const [b, what] of cases) {
      const a = await shim.initiator(b);
      assert.equal(a.err?.class, 'malformed', `${what}: ${JSON.stringify(a)}`);
    }
  });

  for (const oneTime of [true, false]) {
    test(`the session derived again from exported keys (node:crypto), ${oneTime ? 'with' : 'without'} the one-time pre-key`, async () => {
      const shim = s();
      const [bob, bundle] = await shim.responder();
      const a = await shim.initiator(oneTime ? bundle : withoutOneTime(bundle));
      const alice = a.party;
      const m0 = await shim.send(alice, 'zero', 'ad-0');
      const m1 = await shim.send(alice, 'one', 'ad-1');
      const A = exportedKeys((await shim.ok('export', { party: alice })).state);
      const B = exportedKeys((await shim.ok('export', { party: bob })).state);
      const b = readBundle(bundle);
      const p0 = parseWire(m0);
      const p1 = parseWire(m1);

      // The pre-key message's outer fields name the bundle's keys and Alice's identity.
      assert.equal(p0.outer.version, 0x34, 'version byte: session version 3 << 4 | libsignal current version 4');
      assert.deepEqual(p0.outer.order, oneTime ? [1, 2, 3, 4, 5, 6] : [2, 3, 4, 5, 6], 'fields in field-number order');
      assert.equal(p0.outer.preKeyId, oneTime ? b.preKeyId : null);
      assert.equal(p0.outer.signedPreKeyId, b.signedPreKeyId);
      assert.equal(p0.outer.registrationId, A.registrationId);
      assert.deepEqual(p0.outer.identityKey, A.identityPublic);
      assert.deepEqual(publicOf(A.identityPriv), A.identityPublic, "Alice's exported identity pair is consistent");
      assert.deepEqual(p1.outer.baseKey, p0.outer.baseKey, 'one base key until Bob answers');

      // X3DH on Bob's side, then Alice's first root step (her ratchet key is in the message).
      const signedPriv = B.signed.get(b.signedPreKeyId);
      assert.deepEqual(publicOf(signedPriv), b.signedPreKey);
      const x3dh = x3dhFromResponder({
        identityPriv: B.identityPriv,
        signedPreKeyPriv: signedPriv,
        oneTimePreKeyPriv: oneTime ? B.oneTime.get(b.preKeyId) : null,
        initiatorIdentity: A.identityPublic,
        baseKey: p0.outer.baseKey,
      });
      const aliceChain = rootStep(x3dh.rootKey, dh(signedPriv, p0.ratchetKey));
      assert.deepEqual(A.sessions[0].rootKey, aliceChain.rootKey, "Alice's root key after her first step");
      assert.equal(A.sessions[0].version, 3, 'a version-3 session');

      // Each message: keys from the chain, the MAC over both identities and the message,
      // the plaintext with its associated data bound, and the bytes re-encoded.
      const check = (p, counter, ad, text, senderId, receiverId, chainKey) => {
        assert.equal(p.counter, counter);
        assert.deepEqual(p.order, [1, 2, 3, 4], 'SignalMessage fields 1..4 in order');
        const keys = messageKeys(chainKey, counter);
        const body = p.signalMessage.subarray(0, p.signalMessage.length - 8);
        assert.deepEqual(mac(keys.macKey, senderId, receiverId, body), p.mac, `MAC of message ${counter}`);
        const pt = bindAd(Buffer.from(ad), Buffer.from(text));
        assert.deepEqual(aesCbcDecrypt(keys, p.ciphertext), pt, `plaintext of message ${counter}`);
        assert.deepEqual(aesCbcEncrypt(keys, pt), p.ciphertext, 'AES-256-CBC with PKCS#7, IV from the keys');
        const again = encodeSignalMessage(p.version, p.ratchetKey, p.counter, p.previousCounter, p.ciphertext, p.mac);
        assert.deepEqual(again, p.signalMessage, 'the SignalMessage re-encoded byte for byte');
      };
      check(p0, 0, 'ad-0', 'zero', A.identityPublic, B.identityPublic, aliceChain.chainKey);
      check(p1, 1, 'ad-1', 'one', A.identityPublic, B.identityPublic, aliceChain.chainKey);
      const outer = encodePreKeySignalMessage(p0.outer.version, p0.outer);
      assert.deepEqual(Buffer.concat([Buffer.of(3), outer]), p0.wire, 'the PreKeySignalMessage re-encoded byte for byte');

      // Bob decrypts, answers from a new ratchet key: a root step over DH(Bob's new key, Alice's).
      await shim.expectPlain(bob, m1, 'one', 'ad-1');
      await shim.expectPlain(bob, m0, 'zero', 'ad-0');
      const r0 = await shim.send(bob, 'reply', 'ad-r');
      const pr = parseWire(r0);
      assert.equal(pr.type, 2);
      const B2 = exportedKeys((await shim.ok('export', { party: bob })).state);
      const bobPriv = B2.sessions[0].senderRatchetPriv;
      assert.deepEqual(publicOf(bobPriv), pr.ratchetKey, "the reply's ratchet key is Bob's new sending key");
      const bobChain = rootStep(aliceChain.rootKey, dh(bobPriv, p0.ratchetKey));
      assert.deepEqual(B2.sessions[0].rootKey, bobChain.rootKey, "Bob's root key after his step");
      check(pr, 0, 'ad-r', 'reply', B.identityPublic, A.identityPublic, bobChain.chainKey);
      assert.equal(pr.previousCounter, 0);
      await shim.expectPlain(alice, r0, 'reply', 'ad-r');
    });
  }

  test('messages of a version-3 session keep that version in the wire and refuse 0x44 headers', async () => {
    const shim = s();
    const [alice, bob] = await shim.session();
    await shim.expectPlain(bob, await shim.send(alice, 'a'), 'a');
    const w = await shim.send(bob, 'b');
    // The whisper message's version byte is MACed: rewriting it to 0x44 or 0x33 is refused.
    for (const v of ['44', '33']) {
      const e = await shim.recv(alice, `02${v}${w.slice(4)}`);
      assert.ok(e.err, `version byte ${v}: ${JSON.stringify(e)}`);
    }
    await shim.expectPlain(alice, w, 'b');
  });
}
