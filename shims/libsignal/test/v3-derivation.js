// SPDX-License-Identifier: AGPL-3.0-only
//
// The Signal Protocol's version-3 session derived a second time, with node:crypto only,
// from the private keys a party exports: X3DH, the root and chain steps, the message keys,
// AES-256-CBC and the truncated MAC, as the project's design notes state them (the facts the
// bench's signal-v3 reference implements). test/signal-v3.js checks libsignal's messages
// against it, so an agreement here is an agreement between libsignal and those facts, not
// libsignal with itself.

import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
} from 'node:crypto';

// ---------------------------------------------------------------------------------------
// Protobuf, enough to read libsignal's records and messages (varint, 64-bit, bytes, 32-bit).

function varint(b, at) {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (at >= b.length) throw new Error('varint runs past the end');
    const c = b[at++];
    v += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) return [v, at];
    mul *= 128;
  }
}

/** Every field in wire order: {field, wireType, value (number or Buffer), start, end}. */
export function protoRead(buf) {
  const b = Buffer.from(buf);
  const out = [];
  let at = 0;
  while (at < b.length) {
    const start = at;
    const [tag, a1] = varint(b, at);
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    let value;
    if (wt === 0) [value, at] = varint(b, a1);
    else if (wt === 1) [value, at] = [b.subarray(a1, a1 + 8), a1 + 8];
    else if (wt === 5) [value, at] = [b.subarray(a1, a1 + 4), a1 + 4];
    else if (wt === 2) {
      const [len, a2] = varint(b, a1);
      [value, at] = [b.subarray(a2, a2 + len), a2 + len];
    } else throw new Error(`wire type ${wt}`);
    out.push({ field, wireType: wt, value, start, end: at });
  }
  return out;
}

export const protoGet = (fields, n) => fields.find((f) => f.field === n)?.value;

function encVarint(v) {
  const out = [];
  do {
    let c = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) c |= 0x80;
    out.push(c);
  } while (v > 0);
  return Buffer.from(out);
}
const encBytes = (field, b) => Buffer.concat([encVarint(field * 8 + 2), encVarint(b.length), b]);
const encUint = (field, v) => Buffer.concat([encVarint(field * 8), encVarint(v)]);

/** A SignalMessage as the design notes lay it out: version byte || protobuf {1, 2, 3, 4} || MAC. */
export function encodeSignalMessage(version, ratchetKey, counter, previousCounter, ciphertext, mac) {
  return Buffer.concat([
    Buffer.of(version),
    encBytes(1, ratchetKey),
    encUint(2, counter),
    encUint(3, previousCounter),
    encBytes(4, ciphertext),
    mac,
  ]);
}

/** A PreKeySignalMessage, its fields in field-number order (1 pre-key id if any, 2, 3, 4, 5, 6). */
export function encodePreKeySignalMessage(version, m) {
  return Buffer.concat([
    Buffer.of(version),
    m.preKeyId === null ? Buffer.alloc(0) : encUint(1, m.preKeyId),
    encBytes(2, m.baseKey),
    encBytes(3, m.identityKey),
    encBytes(4, m.message),
    encUint(5, m.registrationId),
    encUint(6, m.signedPreKeyId),
  ]);
}

// ---------------------------------------------------------------------------------------
// The primitives.

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/** X25519(private 32 bytes, public as libsignal serialises it: 0x05 || 32 bytes). */
export function dh(priv, pub) {
  if (pub.length !== 33 || pub[0] !== 0x05) throw new Error('public key is not 0x05 || 32 bytes');
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, priv]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519, pub.subarray(1)]), format: 'der', type: 'spki' });
  return diffieHellman({ privateKey, publicKey });
}

/** The public key of an X25519 private key, serialised (0x05 || 32 bytes). */
export function publicOf(priv) {
  const der = createPublicKey(createPrivateKey({ key: Buffer.concat([PKCS8_X25519, priv]), format: 'der', type: 'pkcs8' }))
    .export({ format: 'der', type: 'spki' });
  return Buffer.concat([Buffer.of(0x05), der.subarray(der.length - 32)]);
}

const hkdf = (ikm, salt, info, n) => Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), n));
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();
const ZERO_SALT = Buffer.alloc(32);

/** X3DH: 32 x 0xFF || DH(IK_A, SPK_B) || DH(EK_A, IK_B) || DH(EK_A, SPK_B) [|| DH(EK_A, OPK_B)]. */
export function x3dhFromResponder({ identityPriv, signedPreKeyPriv, oneTimePreKeyPriv, initiatorIdentity, baseKey }) {
  const parts = [
    Buffer.alloc(32, 0xff),
    dh(signedPreKeyPriv, initiatorIdentity),
    dh(identityPriv, baseKey),
    dh(signedPreKeyPriv, baseKey),
  ];
  if (oneTimePreKeyPriv) parts.push(dh(oneTimePreKeyPriv, baseKey));
  const out = hkdf(Buffer.concat(parts), ZERO_SALT, 'WhisperText', 64);
  return { rootKey: out.subarray(0, 32), chainKey: out.subarray(32, 64) };
}

/** KDF_RK: HKDF(salt = root key, ikm = DH output, info "WhisperRatchet") -> root key, chain key. */
export function rootStep(rootKey, dhOut) {
  const out = hkdf(dhOut, rootKey, 'WhisperRatchet', 64);
  return { rootKey: out.subarray(0, 32), chainKey: out.subarray(32, 64) };
}

/** The message keys of index `n` of a chain: seed = HMAC(ck_n, 0x01), ck_{i+1} = HMAC(ck_i, 0x02). */
export function messageKeys(chainKey, n) {
  let ck = chainKey;
  for (let i = 0; i < n; i++) ck = hmac(ck, Buffer.of(0x02));
  const out = hkdf(hmac(ck, Buffer.of(0x01)), ZERO_SALT, 'WhisperMessageKeys', 80);
  return { cipherKey: out.subarray(0, 32), macKey: out.subarray(32, 64), iv: out.subarray(64, 80) };
}

/** The 8-byte MAC: HMAC-SHA-256(mac key, sender identity || receiver identity || message without MAC). */
export function mac(macKey, senderIdentity, receiverIdentity, messageWithoutMac) {
  return hmac(macKey, Buffer.concat([senderIdentity, receiverIdentity, messageWithoutMac])).subarray(0, 8);
}

export function aesCbcDecrypt(keys, ciphertext) {
  const d = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  return Buffer.concat([d.update(ciphertext), d.final()]);
}

export function aesCbcEncrypt(keys, plaintext) {
  const c = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  return Buffer.concat([c.update(plaintext), c.final()]);
}

// ---------------------------------------------------------------------------------------
// libsignal's records, as a party's export holds them (storage.proto at v0.72.1).

/** The parts of the shim's exported state a derivation needs. */
export function exportedKeys(stateHex) {
  const j = JSON.parse(Buffer.from(stateHex, 'hex').toString('utf8'));
  const idk = protoRead(Buffer.from(j.identity_key_pair, 'hex'));
  const rec = (hexRecord) => protoRead(Buffer.from(hexRecord, 'hex'));
  const signed = new Map(j.signed_pre_keys.map(([id, r]) => [Number(id), protoGet(rec(r), 3)]));
  const oneTime = new Map(j.pre_keys.map(([id, r]) => [Number(id), protoGet(rec(r), 3)]));
  // RecordStructure {1 current SessionStructure {4 root key, 6 sender chain {2 private key}}}.
  const sessions = j.sessions.map(([, r]) => {
    const cur = protoRead(protoGet(rec(r), 1));
    const sender = protoRead(protoGet(cur, 6));
    return { rootKey: protoGet(cur, 4), senderRatchetPriv: protoGet(sender, 2), version: protoGet(cur, 1) };
  });
  return {
    registrationId: j.registration_id,
    identityPublic: protoGet(idk, 1),
    identityPriv: protoGet(idk, 2),
    signed,
    oneTime,
    sessions,
  };
}

/** A wire message (type byte || message) split into its parts. */
export function parseWire(wireHex) {
  const w = Buffer.from(wireHex, 'hex');
  const type = w[0];
  let outer = null;
  let sm;
  if (type === 3) {
    const f = protoRead(w.subarray(2));
    outer = {
      version: w[1],
      order: f.map((x) => x.field),
      preKeyId: protoGet(f, 1) ?? null,
      baseKey: protoGet(f, 2),
      identityKey: protoGet(f, 3),
      message: protoGet(f, 4),
      registrationId: protoGet(f, 5),
      signedPreKeyId: protoGet(f, 6),
    };
    sm = outer.message;
  } else {
    sm = w.subarray(1);
  }
  const f = protoRead(sm.subarray(1, sm.length - 8));
  return {
    type,
    wire: w,
    outer,
    signalMessage: sm,
    version: sm[0],
    order: f.map((x) => x.field),
    ratchetKey: protoGet(f, 1),
    counter: protoGet(f, 2),
    previousCounter: protoGet(f, 3),
    ciphertext: protoGet(f, 4),
    mac: sm.subarray(sm.length - 8),
  };
}
