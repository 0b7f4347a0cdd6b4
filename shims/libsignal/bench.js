// SPDX-License-Identifier: AGPL-3.0-only
//
// Cost of one encrypt + decrypt round trip (1 KiB, an established session, whisper messages)
// inside Node, without the pipe: libsignal alone (signalEncrypt + signalDecrypt over the
// shim's stores), and the shim's request handling (JSON, hex, associated data, snapshot).
// Medians. Run: `node bench.js [iterations]`; the pipe's figure is in `node test.js`.

import { performance } from 'node:perf_hooks';
import { handle } from './shim.js';

const N = Number(process.argv[2] ?? 2000);
let id = 0;
async function call(op, fields = {}) {
  const a = await handle(JSON.stringify({ id: ++id, op, ...fields }));
  if (!a.ok) throw new Error(`${op}: ${JSON.stringify(a)}`);
  return a.ok;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const us = (ms) => `${(ms * 1000).toFixed(1)} us`;

const zero = '00'.repeat(32);
const pt = '78'.repeat(1024);
await call('hello', { protocol: 1 });
const { bundle } = await call('respond', { peer: 0, party: 1, shared_secret: zero, seed: zero });
await call('initiate', { peer: 0, party: 2, shared_secret: zero, seed: zero, bundle });
const a1 = await call('encrypt', { party: 2, ad: '', plaintext: pt });
await call('decrypt', { party: 1, ad: '', wire: a1.wire });
const b1 = await call('encrypt', { party: 1, ad: '', plaintext: pt });
await call('decrypt', { party: 2, ad: '', wire: b1.wire });

const shim = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const { wire } = await call('encrypt', { party: 2, ad: 'abcd', plaintext: pt });
  await call('decrypt', { party: 1, ad: 'abcd', wire });
  shim.push(performance.now() - t0);
}
console.log(`libsignal ${N} round trips (1 KiB, encrypt + decrypt) through the shim's handler, no pipe: median ${us(median(shim))}`);

// libsignal alone: the same calls with stores that keep records as objects (no
// serialisation between calls), the least a caller of this API can pay.
import * as S from '@signalapp/libsignal-client';

class Mem {
  constructor() {
    this.idk = S.IdentityKeyPair.generate();
    const sessions = new Map();
    const ids = new Map();
    const idk = this.idk;
    this.session = new (class extends S.SessionStore {
      async saveSession(a, r) { sessions.set(a.toString(), r); }
      async getSession(a) { return sessions.get(a.toString()) ?? null; }
      async getExistingSessions(as) { return as.map((a) => sessions.get(a.toString())); }
    })();
    this.identity = new (class extends S.IdentityKeyStore {
      async getIdentityKey() { return idk.privateKey; }
      async getLocalRegistrationId() { return 7; }
      async saveIdentity(a, k) { ids.set(a.toString(), k); return S.IdentityChange.NewOrUnchanged; }
      async isTrustedIdentity() { return true; }
      async getIdentity(a) { return ids.get(a.toString()) ?? null; }
    })();
    const pre = new Map(); const spk = new Map(); const kpk = new Map();
    this.preKey = new (class extends S.PreKeyStore {
      async savePreKey(i, r) { pre.set(i, r); }
      async getPreKey(i) { return pre.get(i); }
      async removePreKey(i) { pre.delete(i); }
    })();
    this.signed = new (class extends S.SignedPreKeyStore {
      async saveSignedPreKey(i, r) { spk.set(i, r); }
      async getSignedPreKey(i) { return spk.get(i); }
    })();
    this.kyber = new (class extends S.KyberPreKeyStore {
      async saveKyberPreKey(i, r) { kpk.set(i, r); }
      async getKyberPreKey(i) { return kpk.get(i); }
      async markKyberPreKeyUsed() {}
    })();
  }
}

const A = new Mem();
const B = new Mem();
const addrA = S.ProtocolAddress.new('alice', 1);
const addrB = S.ProtocolAddress.new('bob', 1);
const spk = S.PrivateKey.generate();
const kem = S.KEMKeyPair.generate();
const spkSig = B.idk.privateKey.sign(spk.getPublicKey().serialize());
const kemSig = B.idk.privateKey.sign(kem.getPublicKey().serialize());
await B.signed.saveSignedPreKey(1, S.SignedPreKeyRecord.new(1, 0, spk.getPublicKey(), spk, spkSig));
await B.kyber.saveKyberPreKey(2, S.KyberPreKeyRecord.new(2, 0, kem, kemSig));
await S.processPreKeyBundle(
  S.PreKeyBundle.new(7, 1, null, null, 1, spk.getPublicKey(), spkSig, B.idk.publicKey, 2, kem.getPublicKey(), kemSig),
  addrB, addrA, A.session, A.identity,
);
const msg = new Uint8Array(1024).fill(0x78);
const first = await S.signalEncrypt(msg, addrB, addrA, A.session, A.identity);
await S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(first.serialize()), addrA, addrB, B.session, B.identity, B.preKey, B.signed, B.kyber);
const back = await S.signalEncrypt(msg, addrA, addrB, B.session, B.identity);
await S.signalDecrypt(S.SignalMessage.deserialize(back.serialize()), addrB, addrA, A.session, A.identity);
const raw = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const c = await S.signalEncrypt(msg, addrB, addrA, A.session, A.identity);
  await S.signalDecrypt(S.SignalMessage.deserialize(c.serialize()), addrA, addrB, B.session, B.identity);
  raw.push(performance.now() - t0);
}
console.log(`libsignal ${N} round trips (1 KiB, encrypt + decrypt) called directly, records kept as objects: median ${us(median(raw))}`);
