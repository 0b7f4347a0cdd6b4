// SPDX-License-Identifier: GPL-3.0-only
//
// The bench's side of the shim protocol for test.js, and checks written with node:crypto
// only (X25519 public keys, XEdDSA verification, a protobuf reader), so that what the shim
// answers is compared with values computed without the library.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { createInterface } from 'node:readline';

export const zero = '00'.repeat(32);
export const hex = (s) => Buffer.from(s, 'utf8').toString('hex');

export function flipBit(wireHex, at, bit = 0) {
  const b = Buffer.from(wireHex, 'hex');
  b[at] ^= 1 << bit;
  return b.toString('hex');
}

/** A party's random stream, standing in for the bench's generator: SHA-256 of (label,
 * block number) blocks. */
export class Stream {
  constructor(label) {
    this.label = label;
    this.buf = Buffer.alloc(0);
    this.block = 0;
  }

  take(n) {
    while (this.buf.length < n) {
      this.buf = Buffer.concat([this.buf, createHash('sha256').update(`${this.label}/${this.block++}`).digest()]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Bytes [skip, skip + n) of a fresh stream with this label. */
  static bytes(label, skip, n) {
    return Buffer.from(new Stream(label).take(skip + n).subarray(skip));
  }
}

const P = 2n ** 255n - 19n;
function powmod(b, e) {
  let r = 1n;
  b %= P;
  for (; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
}
const le = (b) => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);
const toLe = (n) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();

/** libsignal's serialised public key of the X25519 private key `priv`: 0x05 || X25519(priv,
 * 9), by RFC 7748's Montgomery ladder in BigInt arithmetic, independent of OpenSSL and of
 * the libraries' curve code. */
export function x25519Public(priv) {
  const k = Buffer.from(priv);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  const n = le(k);
  const x1 = 9n;
  let [x2, z2, x3, z3, swap] = [1n, 0n, x1, 1n, 0n];
  for (let t = 254n; t >= 0n; t--) {
    const bit = (n >> t) & 1n;
    if (swap ^ bit) [x2, x3, z2, z3] = [x3, x2, z3, z2];
    swap = bit;
    const a = (x2 + z2) % P;
    const aa = (a * a) % P;
    const b = (x2 - z2 + P) % P;
    const bb = (b * b) % P;
    const e = (aa - bb + P) % P;
    const c = (x3 + z3) % P;
    const d = (x3 - z3 + P) % P;
    const da = (d * a) % P;
    const cb = (c * b) % P;
    x3 = ((da + cb) * (da + cb)) % P;
    z3 = (x1 * (((da - cb + P) * (da - cb + P)) % P)) % P;
    x2 = (aa * bb) % P;
    z2 = (e * ((aa + 121665n * e) % P)) % P;
  }
  if (swap) [x2, z2] = [x3, z3];
  return Buffer.concat([Buffer.from([5]), toLe((x2 * powmod(z2, P - 2n)) % P)]);
}

/** XEdDSA verification (libsignal's curve25519 signatures) with node:crypto's Ed25519: the
 * Montgomery key u maps to the Edwards y = (u - 1) / (u + 1), whose sign bit the signature
 * carries in its top bit. */
export function xeddsaVerify(pub33, msg, sig) {
  const u = le(pub33.subarray(1)) & ((1n << 255n) - 1n);
  const y = (((u - 1n + P) % P) * powmod(u + 1n, P - 2n)) % P;
  const ed = toLe(y);
  ed[31] |= sig[63] & 0x80;
  const s = Buffer.from(sig);
  s[63] &= 0x7f;
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), ed]), format: 'der', type: 'spki' });
  return verify(null, msg, key, s);
}

/** The fields of a protobuf in b[start, end): field -> {value} (varint) or {bytes}. */
export function protoFields(b, start, end) {
  const fields = new Map();
  let at = start;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const c = b[at++];
      v += (c & 0x7f) * mul;
      mul *= 128;
      if (!(c & 0x80)) return v;
    }
  };
  while (at < end) {
    const tag = varint();
    if ((tag & 7) === 0) {
      const start = at;
      fields.set(tag >>> 3, { value: varint(), at: start });
    }
    else if ((tag & 7) === 2) {
      const n = varint();
      fields.set(tag >>> 3, { bytes: Buffer.from(b.subarray(at, at + n)), at });
      at += n;
    } else throw new Error(`wire type ${tag & 7}`);
  }
  return fields;
}

/** The fields of a signal-v3 bundle (PROTOCOL.md's fixed layout). */
export function bundleFields(bundleHex) {
  const b = Buffer.from(bundleHex, 'hex');
  return {
    length: b.length,
    registrationId: b.readUInt32BE(0),
    deviceId: b.readUInt32BE(4),
    identityKey: b.subarray(8, 41),
    signedPreKeyId: b.readUInt32BE(41),
    signedPreKey: b.subarray(45, 78),
    signature: b.subarray(78, 142),
    preKeyFlag: b[142],
    preKeyId: b.length === 180 ? b.readUInt32BE(143) : null,
    preKey: b.length === 180 ? b.subarray(147, 180) : null,
  };
}

/** The bench's side of the protocol: one request, its asks answered from the party's
 * stream, then its answer. */
export class Shim {
  constructor(path, args = []) {
    this.child = spawn(process.execPath, [path, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.child.stderr.on('data', (d) => {
      this.stderr += d;
    });
    this.waiting = [];
    this.lines = [];
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.id = 0;
    this.party = 0;
    this.streams = new Map();
    this.asks = []; // [party, op, size] of every ask
    this.history = new Map(); // party -> [[op, [sizes]]]
  }

  next() {
    return new Promise((resolve) => {
      const l = this.lines.shift();
      if (l !== undefined) resolve(l);
      else this.waiting.push(resolve);
    });
  }

  raw(line) {
    this.child.stdin.write(`${line}\n`);
    return this.next();
  }

  newParty() {
    return ++this.party;
  }

  async call(op, fields = {}) {
    const id = ++this.id;
    const party = fields.party;
    const sizes = [];
    if (party !== undefined) {
      if (!this.history.has(party)) this.history.set(party, []);
      this.history.get(party).push([op, sizes]);
    }
    this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    for (;;) {
      const line = await this.next();
      const msg = JSON.parse(line);
      assert.equal(msg.id, id, `the shim's line carries the request's id: ${line.slice(0, 200)}`);
      if (!('random' in msg)) return msg;
      assert.ok(Number.isInteger(msg.random) && msg.random >= 1 && msg.random <= 4096, `an ask of 1..4096 bytes: ${line}`);
      assert.ok(['respond', 'initiate', 'restore', 'encrypt', 'decrypt', 'handshake', 'join'].includes(op), `${op} may not ask`);
      assert.ok(party !== undefined, `${op} asked for random bytes but names no party`);
      if (!this.streams.has(party)) this.streams.set(party, new Stream(`party ${party}`));
      sizes.push(msg.random);
      this.asks.push([party, op, msg.random]);
      this.child.stdin.write(`${JSON.stringify({ id, random: this.streams.get(party).take(msg.random).toString('hex') })}\n`);
    }
  }

  /** The sizes asked during the last request about `party` (of operation `op`, if given). */
  asksOf(party, op) {
    const h = (this.history.get(party) ?? []).filter(([o]) => op === undefined || o === op);
    return h.length ? h[h.length - 1][1] : [];
  }

  async ok(op, fields) {
    const a = await this.call(op, fields);
    assert.ok(a.ok, `${op} should succeed, got ${JSON.stringify(a)}\n${this.stderr.slice(-2000)}`);
    return a.ok;
  }

  async close() {
    this.child.stdin.end();
    return new Promise((r) => this.child.on('exit', r));
  }

  /** A new session: [alice, bob, bundle]. */
  async session() {
    const bob = this.newParty();
    const alice = this.newParty();
    const { bundle } = await this.ok('respond', { peer: 0, party: bob, shared_secret: zero });
    await this.ok('initiate', { peer: 0, party: alice, shared_secret: zero, bundle });
    const { handshake } = await this.ok('handshake', { party: alice });
    assert.equal(handshake, null, 'signal-v3 needs no handshake before the first message');
    return [alice, bob, bundle];
  }

  async send(party, text, ad = 'ad') {
    return (await this.ok('encrypt', { party, ad: hex(ad), plaintext: hex(text) })).wire;
  }

  async recv(party, wire, ad = 'ad') {
    return this.call('decrypt', { party, ad: hex(ad), wire });
  }

  async expectPlain(party, wire, text, ad = 'ad') {
    const a = await this.recv(party, wire, ad);
    assert.ok(a.ok, `a genuine message should decrypt, got ${JSON.stringify(a)}`);
    assert.equal(a.ok.plaintext, hex(text));
  }

  async expectErr(party, wire, cls, ad = 'ad') {
    const a = await this.recv(party, wire, ad);
    assert.ok(a.err, `the message should be refused, got ${JSON.stringify(a)}`);
    assert.equal(a.err.class, cls, `refusal class (detail: ${a.err.detail})`);
    assert.ok(a.err.detail.length > 0, "the refusal keeps the library's text");
    return a.err;
  }
}

/** Runs `fn` with the console silenced: the libraries log whole sessions, keys included. */
export async function quietly(fn) {
  const saved = {};
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    saved[level] = console[level];
    console[level] = () => {};
  }
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}
