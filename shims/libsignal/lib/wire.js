// SPDX-License-Identifier: AGPL-3.0-only
//
// What every release shares and no library call touches: the shim protocol's byte strings,
// associated data bound in the payload, and where the regions of a libsignal message lie.

/** A refusal the shim itself decides, with its canonical class (PROTOCOL.md). */
export class ShimError extends Error {
  constructor(cls, detail) {
    super(detail);
    this.cls = cls;
  }
}

export const HEX = /^(?:[0-9a-f]{2})*$/;

export function hexField(req, name) {
  const v = req[name];
  if (typeof v !== 'string' || !HEX.test(v)) {
    throw new ShimError('malformed', `field "${name}" of "${req.op}" must be lowercase hex`);
  }
  return new Uint8Array(Buffer.from(v, 'hex'));
}

export function intField(req, name) {
  const v = req[name];
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new ShimError('malformed', `field "${name}" of "${req.op}" must be a non-negative integer`);
  }
  return v;
}

export const hex = (bytes) => Buffer.from(bytes).toString('hex');
export const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Associated data bound in the payload: u32 BE len(ad) || ad || plaintext. */
export function bindAd(ad, plaintext) {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, ad.length, false);
  return concat(len, ad, plaintext);
}

export function unbindAd(ad, payload) {
  if (payload.length < 4) {
    throw new ShimError('auth', `decrypted payload of ${payload.length} bytes has no associated-data prefix`);
  }
  const n = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, false);
  if (n !== ad.length || payload.length < 4 + n || !equalBytes(payload.subarray(4, 4 + n), ad)) {
    throw new ShimError('auth', 'associated data differs from the one bound in the message');
  }
  return payload.slice(4 + n);
}

// ---------------------------------------------------------------------------------------
// Wire layout: where the regions of a libsignal message lie. A SignalMessage is
// version byte || protobuf || 8-byte truncated HMAC; a PreKeySignalMessage is
// version byte || protobuf holding the SignalMessage in field 4. Protobuf fields have no
// fixed offsets, so the regions are found by reading the fields of each message. The same
// for version 3 (X3DH, 0x33) and version 4 (PQXDH, 0x44) messages.

/** libsignal's CiphertextMessageType values, the wire's first byte (the same in every release). */
export const WHISPER = 2;
export const PRE_KEY = 3;

export function readVarint(b, at) {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= b.length) throw new ShimError('malformed', 'protobuf varint runs past the end');
    const c = b[at++];
    v += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) return [v, at];
    mul *= 128;
  }
  throw new ShimError('malformed', 'protobuf varint too long');
}

/** Field number -> [start, end) of the value of each length-delimited field. */
export function protoFields(b, start, end) {
  const fields = new Map();
  let at = start;
  while (at < end) {
    const [tag, a1] = readVarint(b, at);
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (wt === 0) {
      at = readVarint(b, a1)[1];
    } else if (wt === 2) {
      const [len, a2] = readVarint(b, a1);
      if (a2 + len > end) throw new ShimError('malformed', `protobuf field ${field} runs past the end`);
      fields.set(field, [a2, a2 + len]);
      at = a2 + len;
    } else {
      throw new ShimError('malformed', `protobuf wire type ${wt} not used by libsignal`);
    }
  }
  return fields;
}

function signalMessageLayout(b, start, end) {
  if (end - start < 1 + 8) throw new ShimError('malformed', 'SignalMessage shorter than version byte and MAC');
  const fields = protoFields(b, start + 1, end - 8);
  const body = fields.get(4);
  const key = fields.get(1);
  if (!body) throw new ShimError('malformed', 'SignalMessage has no ciphertext field');
  return { body, mac: [end - 8, end], ratchetKey: key ?? null };
}

export function layout(wire) {
  if (wire.length < 2) throw new ShimError('malformed', 'wire shorter than type and version bytes');
  let inner;
  if (wire[0] === WHISPER) {
    inner = signalMessageLayout(wire, 1, wire.length);
  } else if (wire[0] === PRE_KEY) {
    const fields = protoFields(wire, 2, wire.length);
    const msg = fields.get(4);
    if (!msg) throw new ShimError('malformed', 'PreKeySignalMessage has no message field');
    inner = signalMessageLayout(wire, msg[0], msg[1]);
  } else {
    throw new ShimError('malformed', `unknown message type byte ${wire[0]}`);
  }
  return {
    header: [0, inner.body[0]],
    body: inner.body,
    mac: inner.mac,
    ratchet_key: inner.ratchetKey,
  };
}
