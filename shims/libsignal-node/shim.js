#!/usr/bin/env node
// SPDX-License-Identifier: GPL-3.0-only
//
// ratchet-bench shim (protocol v1, shims/PROTOCOL.md) for the npm package `libsignal`
// (WhiskeySockets' libsignal-node, the Signal Protocol library of the Baileys WhatsApp Web
// client) as a peer of the `signal-v3` family: X3DH with a signed pre-key and an optional
// one-time pre-key, then the version-3 Double Ratchet, each party in its own in-memory
// stores. JSON lines on stdin / stdout, logs on stderr only. This folder is GPL-3.0-only
// because it loads libsignal-node (see NOTICE). The framing is the JavaScript template's
// (../template-js/shim.js).

import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync, readSync, writeSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const L = require('libsignal');
// The library's own curve module: SessionBuilder and SessionCipher call its functions
// through this object at call time, so replacing `generateKeyPair` here reaches every key
// the library generates.
const curve = require('libsignal/src/curve');
const keyhelper = require('libsignal/src/keyhelper');

const PROTOCOL = 1;
const VERBOSE = process.env.LIBSIGNAL_NODE_SHIM_LOG === '1';

/** The installed library's version, read from its own package.json (what is under test). */
function libraryVersion() {
  try {
    return JSON.parse(readFileSync(require.resolve('libsignal/package.json'), 'utf8')).version;
  } catch (e) {
    return 'unknown';
  }
}

/**
 * The limits of libsignal-node 6.0.0, from its source (README, "Limits"):
 * - src/session_cipher.js:260 `counter - chain.chainKey.counter > 2000` refuses ("Over 2000
 *   messages into the future!"); chainKey.counter is the index of the last key derived, so
 *   a message may skip at most 1999 keys of its chain (2000 derived with its own).
 * - No skipped key is ever dropped (messageKeys only loses a key when it is used) and no
 *   receiving chain is ever removed (only the sending chain is deleted on a DH step).
 * - src/session_record.js:5 CLOSED_SESSIONS_MAX = 40 sessions per record: not a field here.
 */
const LIMITS = {
  max_skip: 1999,
  max_stored: null,
  max_stored_per_chain: null,
  when_full: 'unbounded',
  window: null,
  max_chains: null,
};

// ---------------------------------------------------------------------------------------
// Framing (the JavaScript template's): synchronous reads and writes on descriptors 0 and 1,
// so that a random draw inside a library call can ask the bench and wait for its answer.

const MAX_LINE = 16 * 1024 * 1024;
const pauseCell = new Int32Array(new SharedArrayBuffer(4));
const pause = () => Atomics.wait(pauseCell, 0, 0, 2);

function writeAll(fd, text) {
  const b = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < b.length) {
    try {
      at += writeSync(fd, b, at, b.length - at);
    } catch (e) {
      if (e.code === 'EAGAIN') pause();
      else throw e;
    }
  }
}

function log(msg) {
  writeAll(2, `libsignal-node-shim: ${msg}\n`);
}

class LineReader {
  constructor(fd) {
    this.fd = fd;
    this.chunk = Buffer.alloc(1 << 16);
    this.lines = [];
    this.partial = [];
    this.partialSize = 0;
    this.eof = false;
  }

  /** The next line without its "\n", or null at the end of input. */
  readLine() {
    for (;;) {
      if (this.lines.length) return this.lines.shift();
      if (this.eof) {
        if (!this.partialSize) return null;
        const line = Buffer.concat(this.partial).toString('utf8');
        this.partial = [];
        this.partialSize = 0;
        return line;
      }
      let n;
      try {
        n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (e) {
        if (e.code === 'EAGAIN') {
          pause();
          continue;
        }
        if (e.code !== 'EOF') throw e;
        n = 0;
      }
      if (n === 0) {
        this.eof = true;
        continue;
      }
      let data = this.chunk.subarray(0, n);
      let nl;
      while ((nl = data.indexOf(10)) >= 0) {
        this.partial.push(data.subarray(0, nl));
        this.lines.push(Buffer.concat(this.partial).toString('utf8'));
        this.partial = [];
        this.partialSize = 0;
        data = data.subarray(nl + 1);
      }
      if (data.length) {
        this.partial.push(Buffer.from(data));
        this.partialSize += data.length;
        if (this.partialSize > MAX_LINE) throw new Error(`a line longer than ${MAX_LINE} bytes on stdin`);
      }
    }
  }
}

let reader = null;
let currentRequest = null;

/** Asks the bench for n random bytes of the party the current request is about. */
function random(n) {
  if (n === 0) return Buffer.alloc(0);
  if (currentRequest === null || reader === null) throw new Error(`random(${n}) outside a request`);
  const parts = [];
  for (let got = 0; got < n; ) {
    const k = Math.min(n - got, 4096);
    writeAll(1, `${JSON.stringify({ id: currentRequest, random: k })}\n`);
    const line = reader.readLine();
    if (line === null) throw new Error(`stdin closed while waiting for ${k} random bytes`);
    const answer = JSON.parse(line);
    if (answer === null || answer.id !== currentRequest || typeof answer.random !== 'string' || answer.random.length !== 2 * k) {
      throw new Error(`the bench answered an ask for ${k} bytes with ${line.slice(0, 200)}`);
    }
    parts.push(Buffer.from(answer.random, 'hex'));
    got += k;
  }
  return Buffer.concat(parts);
}

// The library writes to the console (console.info prints whole session objects, keys
// included, to stdout). Nothing but answers may reach stdout: every console line goes to a
// buffer kept for the current request (the shim reads the reasons of a failed decryption
// from it) and, with LIBSIGNAL_NODE_SHIM_LOG=1, to stderr.
let consoleLines = [];
for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[level] = (...args) => {
    // The first argument alone: the library passes a stack or a whole session after it.
    const a = args[0];
    const text = typeof a === 'string' ? a : a instanceof Error ? `${a.name}: ${a.message}` : String(a);
    consoleLines.push(text);
    if (consoleLines.length > 64) consoleLines.shift();
    if (VERBOSE) log(`[libsignal-node console.${level}] ${text.split('\n')[0]}`);
  };
}

// ---------------------------------------------------------------------------------------
// Small helpers.

class Refused extends Error {
  constructor(cls, detail) {
    super(detail);
    this.cls = cls;
  }
}

class Unimplemented extends Error {}

const HEX = /^(?:[0-9a-f]{2})*$/;

function hexField(req, name) {
  const v = req[name];
  if (typeof v !== 'string' || !HEX.test(v)) throw new Refused('malformed', `field "${name}" of "${req.op}" must be lowercase hex`);
  return Buffer.from(v, 'hex');
}

const hex = (b) => Buffer.from(b).toString('hex');

/** Associated data bound in the payload: u32 BE len(ad) || ad || plaintext. */
function bindAd(ad, plaintext) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(ad.length, 0);
  return Buffer.concat([len, ad, plaintext]);
}

function unbindAd(ad, payload) {
  if (payload.length < 4) throw new Refused('auth', `decrypted payload of ${payload.length} bytes has no associated-data prefix`);
  const n = payload.readUInt32BE(0);
  if (n !== ad.length || payload.length < 4 + n || !payload.subarray(4, 4 + n).equals(ad)) {
    throw new Refused('auth', 'associated data differs from the one bound in the message');
  }
  return payload.subarray(4 + n);
}

// ---------------------------------------------------------------------------------------
// Randomness. A party draws from its byte source: the bench's (host_rng), or a stream made
// from the `seed` when the bench does not offer host_rng. The library's draws reach it
// through `curve.generateKeyPair`, replaced below while a request runs.

class HostBytes {
  take(n) {
    return random(n);
  }
}

/** Block i = SHA-256("ratchet-bench libsignal-node shim rng" || seed || u64 BE i). */
class SeedBytes {
  constructor(seed) {
    this.seed = Buffer.from(seed);
    this.block = 0n;
    this.buf = Buffer.alloc(0);
  }

  take(n) {
    while (this.buf.length < n) {
      const i = Buffer.alloc(8);
      i.writeBigUInt64BE(this.block++, 0);
      const h = createHash('sha256').update('ratchet-bench libsignal-node shim rng').update(this.seed).update(i).digest();
      this.buf = Buffer.concat([this.buf, h]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** Stand-in bytes for a trial decryption: never asked of the bench, never kept. */
class StandInBytes {
  take(n) {
    return randomBytes(n);
  }
}

/** Records the sizes of the draws made through it. */
class Counting {
  constructor(inner) {
    this.inner = inner;
    this.draws = [];
  }

  take(n) {
    this.draws.push(n);
    return this.inner.take(n);
  }
}

let activeSource = null;

async function withSource(source, fn) {
  const before = activeSource;
  activeSource = source;
  try {
    return await fn();
  } finally {
    activeSource = before;
  }
}

function clamp(b) {
  const k = Buffer.from(b);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  return k;
}

// libsignal-node generates every key pair here. Its own generateKeyPair lets OpenSSL draw
// the private key (node:crypto generateKeyPairSync('x25519')), out of reach; the
// replacement takes the 32 bytes from the active source, clamps them as OpenSSL clamps a new
// X25519 key, and has OpenSSL derive the public key, as the original does.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function publicKeyOf(privKey) {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privKey]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return Buffer.concat([Buffer.from([5]), spki.subarray(spki.length - 32)]);
}

curve.generateKeyPair = function generateKeyPairFromSource() {
  if (activeSource === null) throw new Error('libsignal-node drew a key outside a request about a party');
  const privKey = clamp(activeSource.take(32));
  return { pubKey: publicKeyOf(privKey), privKey };
};

/** Registration id from 2 bytes (PROTOCOL.md): 128 + v mod 16253, in 128..=16380. */
const registrationIdFrom = (b) => 128 + (b.readUInt16BE(0) % 16253);
/** Pre-key id from 3 bytes (PROTOCOL.md): 2^21 + v mod (2^24 - 2^21). */
const preKeyIdFrom = (b) => 0x200000 + (((b[0] << 16) | (b[1] << 8) | b[2]) % (0x1000000 - 0x200000));

// ---------------------------------------------------------------------------------------
// The signal-v3 bundle (PROTOCOL.md): a fixed binary layout, integers big-endian.

const DEVICE_ID = 1;

function encodeBundle(b) {
  const parts = [Buffer.alloc(8)];
  parts[0].writeUInt32BE(b.registrationId, 0);
  parts[0].writeUInt32BE(DEVICE_ID, 4);
  const spkId = Buffer.alloc(4);
  spkId.writeUInt32BE(b.signedPreKeyId, 0);
  parts.push(b.identityKey, spkId, b.signedPreKey, b.signature);
  if (b.preKey) {
    const id = Buffer.alloc(5);
    id[0] = 1;
    id.writeUInt32BE(b.preKeyId, 1);
    parts.push(id, b.preKey);
  } else {
    parts.push(Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

function decodeBundle(raw) {
  if (raw.length !== 143 && raw.length !== 180) {
    throw new Refused('malformed', `bundle of ${raw.length} bytes: a signal-v3 bundle is 143 or 180 bytes`);
  }
  const flag = raw[142];
  if ((flag === 1) !== (raw.length === 180) || flag > 1) {
    throw new Refused('malformed', `bundle of ${raw.length} bytes with one-time pre-key flag ${flag}`);
  }
  return {
    registrationId: raw.readUInt32BE(0),
    deviceId: raw.readUInt32BE(4),
    identityKey: raw.subarray(8, 41),
    signedPreKeyId: raw.readUInt32BE(41),
    signedPreKey: raw.subarray(45, 78),
    signature: raw.subarray(78, 142),
    preKeyId: flag === 1 ? raw.readUInt32BE(143) : null,
    preKey: flag === 1 ? raw.subarray(147, 180) : null,
  };
}

// ---------------------------------------------------------------------------------------
// Wire layout: a SignalMessage is version byte || protobuf || 8-byte truncated HMAC; a
// PreKeySignalMessage is version byte || protobuf holding the SignalMessage in field 4.
// Protobuf fields have no fixed offsets, so the regions are found by reading the fields.

function readVarint(b, at) {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= b.length) throw new Refused('malformed', 'protobuf varint runs past the end');
    const c = b[at++];
    v += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) return [v, at];
    mul *= 128;
  }
  throw new Refused('malformed', 'protobuf varint too long');
}

/** Field number -> [start, end) of the value of each length-delimited field. */
function protoFields(b, start, end) {
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
      if (a2 + len > end) throw new Refused('malformed', `protobuf field ${field} runs past the end`);
      fields.set(field, [a2, a2 + len]);
      at = a2 + len;
    } else {
      throw new Refused('malformed', `protobuf wire type ${wt} not used by the signal-v3 messages`);
    }
  }
  if (at !== end) throw new Refused('malformed', 'protobuf runs past the end');
  return fields;
}

function signalMessageLayout(b, start, end) {
  if (end - start < 1 + 8) throw new Refused('malformed', 'SignalMessage shorter than version byte and MAC');
  const fields = protoFields(b, start + 1, end - 8);
  const body = fields.get(4);
  if (!body) throw new Refused('malformed', 'SignalMessage has no ciphertext field');
  return { body, mac: [end - 8, end], ratchetKey: fields.get(1) ?? null };
}

const TYPE_WHISPER = 2; // libsignal's CiphertextMessageType: 2 whisper, 3 pre-key
const TYPE_PREKEY = 3;

function layout(wire) {
  if (wire.length < 2) throw new Refused('malformed', 'wire shorter than type and version bytes');
  let inner;
  if (wire[0] === TYPE_WHISPER) {
    inner = signalMessageLayout(wire, 1, wire.length);
  } else if (wire[0] === TYPE_PREKEY) {
    const msg = protoFields(wire, 2, wire.length).get(4);
    if (!msg) throw new Refused('malformed', 'PreKeySignalMessage has no message field');
    inner = signalMessageLayout(wire, msg[0], msg[1]);
  } else {
    throw new Refused('malformed', `unknown message type byte ${wire[0]}`);
  }
  return { header: [0, inner.body[0]], body: inner.body, mac: inner.mac, ratchet_key: inner.ratchetKey };
}

// ---------------------------------------------------------------------------------------
// A party: one device, its identity and its stores, implementing the storage interface
// libsignal-node calls (index.d.ts `SignalStorage`). Session records are kept serialised
// (JSON of SessionRecord.serialize()) and parsed anew on every load, as a database would
// hold them: the library changes a loaded record in place before it checks a message's
// MAC, so a record object handed out must never be the kept one. Every value is replaced,
// never changed, so a copy of the maps is a snapshot.

const STATE_FORMAT = 'ratchet-bench libsignal-node shim state 1';

class Party {
  constructor(fields) {
    Object.assign(this, fields);
    this.remote = new L.ProtocolAddress(this.remoteName, DEVICE_ID);
    const party = this;
    this.storage = {
      async getOurIdentity() {
        return party.identity;
      },
      async getOurRegistrationId() {
        return party.registrationId;
      },
      // Trust on first use, keyed by the correspondent's name: libsignal-node asks with the
      // name ("alice") and, in SessionBuilder.initIncoming, with the address ("alice.1"),
      // and never calls a saveIdentity, so the first key asked about is kept. A refused
      // message puts the party back as it was, first key included.
      async isTrustedIdentity(identifier, identityKey) {
        const name = String(identifier).split('.')[0];
        const known = party.identities.get(name);
        if (known === undefined) {
          party.identities.set(name, hex(identityKey));
          return true;
        }
        return known === hex(identityKey);
      },
      async loadSession(id) {
        const s = party.sessions.get(id);
        return s === undefined ? undefined : L.SessionRecord.deserialize(JSON.parse(s));
      },
      async storeSession(id, record) {
        party.sessions.set(id, JSON.stringify(record.serialize()));
      },
      async loadPreKey(id) {
        return party.preKeys.get(Number(id));
      },
      async removePreKey(id) {
        party.preKeys.delete(Number(id));
      },
      async loadSignedPreKey(id) {
        return party.signedPreKeys.get(Number(id));
      },
    };
  }

  static fresh(role, source) {
    return new Party({
      role,
      remoteName: role === 'initiator' ? 'bob' : 'alice',
      source,
      identity: null,
      registrationId: 0,
      sessions: new Map(),
      identities: new Map(),
      preKeys: new Map(),
      signedPreKeys: new Map(),
      signatures: new Map(),
    });
  }

  snapshot() {
    return {
      sessions: new Map(this.sessions),
      identities: new Map(this.identities),
      preKeys: new Map(this.preKeys),
      signedPreKeys: new Map(this.signedPreKeys),
      signatures: new Map(this.signatures),
    };
  }

  putBack(s) {
    Object.assign(this, s);
  }

  toJSON() {
    const pair = (k) => ({ pub: hex(k.pubKey), priv: hex(k.privKey) });
    return {
      format: STATE_FORMAT,
      role: this.role,
      remote_name: this.remoteName,
      identity_key_pair: pair(this.identity),
      registration_id: this.registrationId,
      sessions: [...this.sessions].map(([k, v]) => [k, JSON.parse(v)]),
      identities: [...this.identities],
      pre_keys: [...this.preKeys].map(([id, k]) => [id, pair(k)]),
      signed_pre_keys: [...this.signedPreKeys].map(([id, k]) => [id, pair(k)]),
      signatures: [...this.signatures].map(([id, sig]) => [id, hex(sig)]),
    };
  }

  static fromJSON(j, source) {
    const bad = (what) => new Refused('malformed', `state: ${what}`);
    if (j === null || typeof j !== 'object' || j.format !== STATE_FORMAT) throw bad('not a libsignal-node shim state (format field)');
    const pair = (p) => {
      if (!p || typeof p.pub !== 'string' || typeof p.priv !== 'string' || !HEX.test(p.pub) || !HEX.test(p.priv)) {
        throw bad('a key pair is not {pub, priv} in hex');
      }
      const k = { pubKey: Buffer.from(p.pub, 'hex'), privKey: Buffer.from(p.priv, 'hex') };
      if (k.pubKey.length !== 33 || k.privKey.length !== 32) throw bad('a key pair has the wrong lengths');
      return k;
    };
    const list = (name) => {
      if (!Array.isArray(j[name]) || !j[name].every((e) => Array.isArray(e) && e.length === 2)) throw bad(`"${name}" is not a list of pairs`);
      return j[name];
    };
    if (!['initiator', 'responder'].includes(j.role) || typeof j.remote_name !== 'string') throw bad('role or remote_name');
    if (!Number.isSafeInteger(j.registration_id)) throw bad('registration_id is not an integer');
    const sessions = new Map();
    for (const [k, v] of list('sessions')) {
      try {
        L.SessionRecord.deserialize(JSON.parse(JSON.stringify(v))); // parses, or throws
      } catch (e) {
        throw bad(`session record ${k} does not parse: ${e.message}`);
      }
      sessions.set(String(k), JSON.stringify(v));
    }
    const p = new Party({
      role: j.role,
      remoteName: j.remote_name,
      source,
      identity: pair(j.identity_key_pair),
      registrationId: j.registration_id,
      sessions,
      identities: new Map(list('identities').map(([k, v]) => [String(k), String(v)])),
      preKeys: new Map(list('pre_keys').map(([id, k]) => [Number(id), pair(k)])),
      signedPreKeys: new Map(list('signed_pre_keys').map(([id, k]) => [Number(id), pair(k)])),
      // A state exported before signatures were kept has none: such a device cannot publish.
      signatures: new Map((Array.isArray(j.signatures) ? j.signatures : []).map(([id, sig]) => {
        if (typeof sig !== 'string' || !HEX.test(sig)) throw bad('a signature is not hex');
        return [Number(id), Buffer.from(sig, 'hex')];
      })),
    });
    return p;
  }
}

// ---------------------------------------------------------------------------------------
// Errors: libsignal-node's error (name and text) onto the protocol's classes.

const RULES = [
  // [pattern over "Name: text", class]
  [/Over 2000 messages into the future/, 'too-far-ahead'],
  [/MessageCounterError|Key used already or never filled/, 'replay'],
  [/Bad MAC length/, 'malformed'],
  [/Bad MAC\b/, 'auth'],
  // AES-CBC padding after a valid MAC (OpenSSL's "bad decrypt").
  [/bad decrypt|wrong final block length/i, 'auth'],
  // A message for a chain the library has closed (keys beyond its last index never
  // existed), or one carrying the party's own sending ratchet key: a forgery.
  [/Chain closed|Tried to decrypt on a sending chain/, 'auth'],
  [/UntrustedIdentityKeyError|PreKeyError|Invalid PreKey ID|Missing SignedPreKey|No session|No sessions|No record/, 'unknown-session'],
  [/Tried to lookup a session using our basekey/, 'unknown-session'],
  [/Incompatible version number|Invalid public key|index out of range|invalid wire type|invalid (?:encoding|length)|illegal|Expected Buffer|Invalid signature|required/i, 'malformed'],
];

function classifyText(text) {
  for (const [re, cls] of RULES) if (re.test(text)) return cls;
  return null;
}

function classify(e) {
  if (e instanceof Refused) return { class: e.cls, detail: e.message };
  const text = e && e.message !== undefined ? `${e.name || 'Error'}: ${e.message}` : String(e);
  if (/No matching sessions found for message/.test(text)) {
    // SessionCipher.decryptWithSessions tries every session of the record and throws this
    // one error; it logs why each session failed ("Session error:<error>").
    const reasons = consoleLines.filter((l) => l.startsWith('Session error:')).map((l) => l.slice('Session error:'.length).split('\n')[0]);
    const detail = reasons.length ? `${text} (${reasons.join('; ')})` : text;
    const classes = reasons.map(classifyText);
    for (const cls of ['too-far-ahead', 'replay', 'auth', 'malformed', 'unknown-session']) {
      if (classes.includes(cls)) return { class: cls, detail };
    }
    return { class: 'auth', detail };
  }
  return { class: classifyText(text) ?? 'other', detail: text };
}

// ---------------------------------------------------------------------------------------
// Requests.

const parties = new Map();
let helloDone = false;
let hostRng = false;
// The optional features taken up in the hello (PROTOCOL.md): `encrypt_many` (several
// encryptions of one party in one request) and `wire_layout` (each encryption's answer
// carries the wire's layout).
let encryptManyOn = false;
let wireLayoutOn = false;

/** The `ok` fields of one encryption: the wire, and with wire_layout its layout. */
function encrypted(wire) {
  return wireLayoutOn ? { wire: hex(wire), layout: layout(wire) } : { wire: hex(wire) };
}

function partyOf(req) {
  const p = parties.get(req.party);
  if (!p) throw new Refused('unknown-session', `no party ${JSON.stringify(req.party)} in this shim`);
  return p;
}

function newParty(req) {
  if (!Number.isSafeInteger(req.party)) throw new Refused('other', 'field "party" must be an integer');
  if (parties.has(req.party)) throw new Refused('other', `party ${req.party} already exists`);
  return req.party;
}

function checkPeer(req) {
  if (req.peer !== 0) throw new Refused('other', `no peer ${JSON.stringify(req.peer)}: this shim serves peer 0 only`);
}

/** A new party's byte source: the bench's (host_rng), else the seed's. */
function sourceFor(req) {
  if (hostRng) return new HostBytes();
  if ('seed' in req) return new SeedBytes(hexField(req, 'seed'));
  log(`${req.op} without a seed: drawing from the operating system`);
  return new StandInBytes();
}

async function respond(req) {
  checkPeer(req);
  const n = newParty(req);
  const party = Party.fresh('responder', sourceFor(req));
  const src = party.source;
  let bundle;
  await withSource(src, async () => {
    // PROTOCOL.md's order: identity key, registration id, then the bundle's keys in
    // bundleOf's order.
    party.identity = curve.generateKeyPair();
    party.registrationId = registrationIdFrom(src.take(2));
    bundle = bundleOf(party);
  });
  parties.set(n, party);
  return { bundle: hex(bundle) };
}

/** A decoded bundle as SessionBuilder.initOutgoing takes it. */
function outgoingBundle(b) {
  return {
    registrationId: b.registrationId,
    identityKey: Buffer.from(b.identityKey),
    signedPreKey: { keyId: b.signedPreKeyId, publicKey: Buffer.from(b.signedPreKey), signature: Buffer.from(b.signature) },
    preKey: b.preKey ? { keyId: b.preKeyId, publicKey: Buffer.from(b.preKey) } : undefined,
  };
}

async function initiate(req) {
  checkPeer(req);
  const n = newParty(req);
  const b = decodeBundle(hexField(req, 'bundle'));
  // SessionBuilder.initOutgoing does not check the signed pre-key's signature (it calls
  // curve.verifySignature with isInit = true, which returns true unchecked, and ignores
  // the result). The shim checks it with the same library function, as PROTOCOL.md asks.
  if (!curve.verifySignature(b.identityKey, b.signedPreKey, b.signature, false)) {
    throw new Refused('auth', "the signed pre-key's signature does not verify (curve.verifySignature)");
  }
  const party = Party.fresh('initiator', sourceFor(req));
  await withSource(party.source, async () => {
    party.identity = curve.generateKeyPair();
    party.registrationId = registrationIdFrom(party.source.take(2));
    const builder = new L.SessionBuilder(party.storage, party.remote);
    await builder.initOutgoing(outgoingBundle(b));
  });
  parties.set(n, party);
  return {};
}

/** A new bundle of the party's device, called under its byte source, in the reference's
 * order of draws: where the device has no signed pre-key yet (a new responder's, or an
 * initiator's), its id (3), key (32) and the signature's Z (64); then a new one-time
 * pre-key's id (3) and key (32). */
function bundleOf(party) {
  const src = party.source;
  let [signedId] = party.signedPreKeys.keys();
  if (signedId === undefined) {
    signedId = preKeyIdFrom(src.take(3));
    const signed = keyhelper.generateSignedPreKey(party.identity, signedId);
    // libsignal-node signs deterministically (curve.calculateSignature: curve25519-js's
    // sign without its random suffix); the 64 bytes of Z the reference hashes in are drawn
    // so that every later draw stays where the reference makes it, and not used.
    src.take(64);
    party.signedPreKeys.set(signedId, signed.keyPair);
    party.signatures.set(signedId, signed.signature);
  }
  const preId = preKeyIdFrom(src.take(3));
  const pre = keyhelper.generatePreKey(preId);
  party.preKeys.set(preId, pre.keyPair);
  return encodeBundle({
    registrationId: party.registrationId,
    identityKey: party.identity.pubKey,
    signedPreKeyId: signedId,
    signedPreKey: party.signedPreKeys.get(signedId).pubKey,
    signature: party.signatures.get(signedId),
    preKeyId: preId,
    preKey: pre.keyPair.pubKey,
  });
}

/** `publish`: a new bundle of the party's device, for its correspondent's `renew`. */
async function publish(req) {
  const party = partyOf(req);
  const before = party.snapshot();
  try {
    let bundle;
    await withSource(party.source, async () => {
      bundle = bundleOf(party);
    });
    return { bundle: hex(bundle) };
  } catch (e) {
    party.putBack(before);
    throw e;
  }
}

/** `renew`: SessionBuilder.initOutgoing on the party's record, which closes the open
 * session (kept in the record to decrypt with) and opens the new one; the signature is
 * checked first, as in initiate. */
async function renew(req) {
  const party = partyOf(req);
  const b = decodeBundle(hexField(req, 'bundle'));
  if (!curve.verifySignature(b.identityKey, b.signedPreKey, b.signature, false)) {
    throw new Refused('auth', "the signed pre-key's signature does not verify (curve.verifySignature)");
  }
  const before = party.snapshot();
  try {
    await withSource(party.source, async () => {
      const builder = new L.SessionBuilder(party.storage, party.remote);
      await builder.initOutgoing(outgoingBundle(b));
    });
    return {};
  } catch (e) {
    party.putBack(before);
    throw e;
  }
}

async function encrypt(req) {
  const party = partyOf(req);
  const payload = bindAd(hexField(req, 'ad'), hexField(req, 'plaintext'));
  const before = party.snapshot();
  try {
    const cipher = new L.SessionCipher(party.storage, party.remote);
    const r = await withSource(party.source, () => cipher.encrypt(payload));
    const type = r.type === 3 ? TYPE_PREKEY : TYPE_WHISPER; // libsignal-node says 1 for whisper
    return encrypted(Buffer.concat([Buffer.from([type]), r.body]));
  } catch (e) {
    party.putBack(before);
    throw e;
  }
}

/** One decryption as the library does it, on the party's current state. */
async function decryptOnce(party, ad, wire) {
  const cipher = new L.SessionCipher(party.storage, party.remote);
  const body = Buffer.from(wire.subarray(1));
  let payload;
  if (wire[0] === TYPE_PREKEY) payload = await cipher.decryptPreKeyWhisperMessage(body);
  else if (wire[0] === TYPE_WHISPER) payload = await cipher.decryptWhisperMessage(body);
  else throw new Refused('malformed', `unknown message type byte ${wire[0]} (3 pre-key, 2 whisper)`);
  return unbindAd(ad, payload);
}

async function decrypt(req) {
  const party = partyOf(req);
  const ad = hexField(req, 'ad');
  const wire = hexField(req, 'wire');
  if (wire.length === 0) throw new Refused('malformed', 'empty wire: no message type byte');
  // libsignal-node draws the next ratchet key of a DH step before it checks the MAC. The
  // reference draws only for a message it accepts, so the message is first decrypted with
  // stand-in bytes; a refusal puts the party back and asks for nothing. If it was accepted
  // and drew, the party is put back and the message decrypted again with its own bytes.
  const before = party.snapshot();
  const trial = new Counting(new StandInBytes());
  let plaintext;
  try {
    plaintext = await withSource(trial, () => decryptOnce(party, ad, wire));
  } catch (e) {
    party.putBack(before);
    throw e;
  }
  if (trial.draws.length === 0) return { plaintext: hex(plaintext) };
  party.putBack(before);
  const real = new Counting(party.source);
  try {
    plaintext = await withSource(real, () => decryptOnce(party, ad, wire));
  } catch (e) {
    party.putBack(before);
    throw new Refused('other', `the second decryption, with the party's own bytes, failed after the trial succeeded: ${e.message}`);
  }
  if (real.draws.join() !== trial.draws.join()) {
    throw new Refused('other', `the library drew ${real.draws} with the party's bytes, ${trial.draws} in the trial`);
  }
  return { plaintext: hex(plaintext) };
}

async function exportState(req) {
  const party = partyOf(req);
  return { state: hex(Buffer.from(JSON.stringify(party.toJSON()), 'utf8')) };
}

async function restore(req) {
  checkPeer(req);
  const n = newParty(req);
  let j;
  try {
    j = JSON.parse(hexField(req, 'state').toString('utf8'));
  } catch (e) {
    if (e instanceof Refused) throw e;
    throw new Refused('malformed', `state: not JSON (${e.message})`);
  }
  parties.set(n, Party.fromJSON(j, sourceFor(req)));
  return {};
}

/** `encrypt_many`: `count` encryptions in a row, stopped by the first refusal (the wires
 * made before it stand, `refused` says why the rest were not made). */
async function encryptMany(req) {
  if (!encryptManyOn) throw new Unimplemented('encrypt_many: not taken up in the hello');
  const count = req.count;
  if (!Number.isInteger(count) || count < 1) {
    throw new Refused('other', `encrypt_many: count ${JSON.stringify(count)} is not a positive integer`);
  }
  const wires = [];
  const layouts = [];
  let refused = null;
  for (let i = 0; i < count; i++) {
    let made;
    try {
      made = await encrypt(req);
    } catch (e) {
      if (e instanceof Unimplemented || wires.length === 0) throw e;
      refused = classify(e);
      break;
    }
    wires.push(made.wire);
    if (wireLayoutOn) layouts.push(made.layout);
  }
  const out = { wires };
  if (wireLayoutOn) out.layouts = layouts;
  if (refused !== null) out.refused = refused;
  return out;
}

const OPS = {
  respond,
  initiate,
  handshake: async (req) => {
    partyOf(req);
    return { handshake: null };
  },
  join: async (req) => {
    partyOf(req);
    throw new Unimplemented('join: signal-v3 sessions have no handshake: the first message carries the set-up');
  },
  encrypt,
  encrypt_many: encryptMany,
  decrypt,
  export: exportState,
  restore,
  publish,
  renew,
  layout: async (req) => {
    checkPeer(req);
    return layout(hexField(req, 'wire'));
  },
  drop: async (req) => {
    parties.delete(req.party);
    return {};
  },
};

function hello(req) {
  if (req.protocol !== PROTOCOL) throw new Refused('other', `this shim speaks protocol ${PROTOCOL}, not ${JSON.stringify(req.protocol)}`);
  helloDone = true;
  const features = Array.isArray(req.features) ? req.features : [];
  hostRng = features.includes('host_rng');
  encryptManyOn = features.includes('encrypt_many');
  wireLayoutOn = features.includes('wire_layout');
  return {
    protocol: PROTOCOL,
    implementation: 'libsignal-node',
    version: libraryVersion(),
    peers: [
      {
        family: 'signal-v3',
        limits: LIMITS,
        // With host_rng every random byte comes from the party's own stream, as the other
        // peers' do; without it, from the seed, which cannot reproduce their bytes.
        capabilities: { injectable_rng: hostRng, export_state: true, host_rng: hostRng },
        weakened: [],
      },
    ],
    features: [...(encryptManyOn ? ['encrypt_many'] : []), ...(wireLayoutOn ? ['wire_layout'] : [])],
  };
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
    if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new SyntaxError('not a JSON object');
  } catch (e) {
    return { id: -1, err: { class: 'malformed', detail: `request is not JSON: ${e.message}` } };
  }
  const id = req.id ?? null;
  consoleLines = [];
  currentRequest = id;
  try {
    if (req.op === 'hello') return { id, ok: hello(req) };
    if (!helloDone) throw new Refused('other', `"${req.op}" before "hello"`);
    const op = Object.prototype.hasOwnProperty.call(OPS, req.op) ? OPS[req.op] : null;
    if (!op) return { id, unimplemented: `unknown op ${JSON.stringify(req.op)}` };
    return { id, ok: await op(req) };
  } catch (e) {
    if (e instanceof Unimplemented) return { id, unimplemented: e.message };
    const err = classify(e);
    if (VERBOSE) log(`${req.op} refused: ${err.class}: ${err.detail}`);
    return { id, err };
  } finally {
    currentRequest = null;
  }
}

/** One request line in, one answer object out (exported for the tests' in-process use). */
export { handle, decodeBundle, layout, LIMITS };

async function serve() {
  reader = new LineReader(0);
  for (;;) {
    const line = reader.readLine();
    if (line === null) return;
    if (!line.trim()) continue;
    let answer;
    try {
      answer = await handle(line);
    } catch (e) {
      answer = { id: null, err: { class: 'other', detail: `shim failure: ${e && e.stack ? e.stack : e}` } };
    }
    writeAll(1, `${JSON.stringify(answer)}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.on('unhandledRejection', (e) => log(`unhandled rejection: ${e && e.stack ? e.stack : e}`));
  serve().then(
    () => process.exit(0),
    (e) => {
      log(`shim failure: ${e && e.stack ? e.stack : e}`);
      process.exit(1);
    },
  );
}
