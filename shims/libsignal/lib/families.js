// SPDX-License-Identifier: AGPL-3.0-only
//
// The two wire families a libsignal release can speak (PROTOCOL.md, "Wire conventions per
// family"). They differ only in the bundle: what the responder publishes and how it is
// written. The messages are libsignal's own in both (type byte || serialised message).
//
// - `libsignal`: a JSON object (UTF-8) with a one-time, a signed and a Kyber pre-key, each
//   part as libsignal serialises it; PQXDH (version 4 messages), and SPQR where the release
//   runs it.
// - `signal-v3`: PROTOCOL.md's fixed binary layout without a Kyber pre-key, the one-time
//   pre-key optional; X3DH (version 3 messages). Only releases up to 0.72 set that up.

import { HEX, ShimError, concat, hex, unhex } from './wire.js';

/**
 * The parts of a bundle as libsignal takes them. Decoding checks and deserialises them in
 * PreKeyBundle.new's argument order, so that the first bad part is the one refused.
 */
function jsonField(b, name, kind) {
  const v = b[name];
  if (kind === 'int') {
    if (!Number.isSafeInteger(v) || v < 0) throw new ShimError('malformed', `bundle: field "${name}" must be an integer`);
    return v;
  }
  if (typeof v !== 'string' || !HEX.test(v)) throw new ShimError('malformed', `bundle: field "${name}" must be hex`);
  return unhex(v);
}

const libsignalJson = {
  name: 'libsignal',
  kyber: true,
  /** `p`: the responder's public parts (keys serialised, signatures as bytes). */
  encode(p) {
    const bundle = {
      identity_key: hex(p.identityKey),
      registration_id: p.registrationId,
      device_id: p.deviceId,
      pre_key_id: p.preKeyId,
      pre_key: hex(p.preKey),
      signed_pre_key_id: p.signedPreKeyId,
      signed_pre_key: hex(p.signedPreKey),
      signed_pre_key_signature: hex(p.signedPreKeySignature),
      kyber_pre_key_id: p.kyber.id,
      kyber_pre_key: hex(p.kyber.key),
      kyber_pre_key_signature: hex(p.kyber.signature),
    };
    return Buffer.from(JSON.stringify(bundle), 'utf8');
  },
  decode(raw, S, bytes) {
    let b;
    try {
      b = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch (e) {
      throw new ShimError('malformed', `bundle: not a JSON object (${e.message})`);
    }
    if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new ShimError('malformed', 'bundle: not a JSON object');
    const hasPreKey = b.pre_key_id !== undefined && b.pre_key_id !== null;
    const key = (name) => S.PublicKey.deserialize(bytes(jsonField(b, name, 'hex')));
    return {
      registrationId: jsonField(b, 'registration_id', 'int'),
      deviceId: jsonField(b, 'device_id', 'int'),
      preKeyId: hasPreKey ? jsonField(b, 'pre_key_id', 'int') : null,
      preKey: hasPreKey ? key('pre_key') : null,
      signedPreKeyId: jsonField(b, 'signed_pre_key_id', 'int'),
      signedPreKey: key('signed_pre_key'),
      signedPreKeySignature: jsonField(b, 'signed_pre_key_signature', 'hex'),
      identityKey: key('identity_key'),
      kyber: {
        id: jsonField(b, 'kyber_pre_key_id', 'int'),
        key: S.KEMPublicKey.deserialize(bytes(jsonField(b, 'kyber_pre_key', 'hex'))),
        signature: jsonField(b, 'kyber_pre_key_signature', 'hex'),
      },
    };
  },
};

// PROTOCOL.md's signal-v3 bundle: offsets of its fixed layout (integers big-endian).
const V3 = {
  registrationId: 0,
  deviceId: 4,
  identityKey: 8,
  signedPreKeyId: 41,
  signedPreKey: 45,
  signature: 78,
  flag: 142,
  preKeyId: 143,
  preKey: 147,
  short: 143,
  long: 180,
};
const KEY_LEN = 33;
const SIG_LEN = 64;

const u32 = (v) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, false);
  return b;
};

const signalV3Binary = {
  name: 'signal-v3',
  kyber: false,
  encode(p) {
    if (p.identityKey.length !== KEY_LEN || p.signedPreKey.length !== KEY_LEN || p.signedPreKeySignature.length !== SIG_LEN) {
      throw new ShimError('other', 'libsignal produced a key or signature of an unexpected length for a signal-v3 bundle');
    }
    const parts = [
      u32(p.registrationId),
      u32(p.deviceId),
      p.identityKey,
      u32(p.signedPreKeyId),
      p.signedPreKey,
      p.signedPreKeySignature,
    ];
    if (p.preKey) parts.push(Uint8Array.of(1), u32(p.preKeyId), p.preKey);
    else parts.push(Uint8Array.of(0));
    return concat(...parts);
  },
  decode(raw, S, bytes) {
    const n = raw.length;
    if (n !== V3.short && n !== V3.long) {
      throw new ShimError('malformed', `bundle: ${n} bytes; a signal-v3 bundle is ${V3.short} (no one-time pre-key) or ${V3.long}`);
    }
    const flag = raw[V3.flag];
    if (flag > 1) throw new ShimError('malformed', `bundle: one-time pre-key flag is ${flag}, expected 0 or 1`);
    if ((flag === 1) !== (n === V3.long)) {
      throw new ShimError('malformed', `bundle: one-time pre-key flag ${flag} with ${n} bytes`);
    }
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
    const at = (off, len) => bytes(raw.slice(off, off + len));
    return {
      registrationId: dv.getUint32(V3.registrationId, false),
      deviceId: dv.getUint32(V3.deviceId, false),
      preKeyId: flag === 1 ? dv.getUint32(V3.preKeyId, false) : null,
      preKey: flag === 1 ? S.PublicKey.deserialize(at(V3.preKey, KEY_LEN)) : null,
      signedPreKeyId: dv.getUint32(V3.signedPreKeyId, false),
      signedPreKey: S.PublicKey.deserialize(at(V3.signedPreKey, KEY_LEN)),
      signedPreKeySignature: raw.slice(V3.signature, V3.signature + SIG_LEN),
      identityKey: S.PublicKey.deserialize(at(V3.identityKey, KEY_LEN)),
      kyber: null,
    };
  },
};

export const FAMILIES = { libsignal: libsignalJson, 'signal-v3': signalV3Binary };
