#!/usr/bin/env node
// SPDX-License-Identifier: AGPL-3.0-only
//
// ratchet-bench shim (protocol v1, shims/PROTOCOL.md) for libsignal through
// @signalapp/libsignal-client: PQXDH session set-up from a pre-key bundle with a Kyber
// pre-key, then signalEncrypt / signalDecrypt, each party in its own in-memory stores.
// JSON lines on stdin / stdout; logs on stderr only. This folder is AGPL-3.0-only because
// it links libsignal (see NOTICE).

import { createInterface } from 'node:readline';
import { randomInt } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as S from '@signalapp/libsignal-client';

const PROTOCOL = 1;

/** The installed library's version, read from its own package.json (what is under test). */
function libraryVersion() {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@signalapp/libsignal-client');
    const pkg = new URL('../package.json', pathToFileURL(main));
    return JSON.parse(readFileSync(pkg, 'utf8')).version;
  } catch (e) {
    return 'unknown';
  }
}

/**
 * The limits libsignal declares, from rust/protocol/src/consts.rs (module `limits`):
 * MAX_FORWARD_JUMPS = 25_000 (a message may be at most this far past the chain's index),
 * MAX_MESSAGE_KEYS = 2000 (skipped keys kept per receiving chain, oldest dropped first),
 * MAX_RECEIVER_CHAINS = 5 (receiving chains kept per session state, oldest dropped).
 * ARCHIVED_STATES_MAX_LENGTH = 40 (previous session states kept) has no field in the
 * protocol's limits: it is stated in the README.
 */
const LIMITS = {
  max_skip: 25000,
  max_stored: null,
  max_stored_per_chain: 2000,
  when_full: 'evict-oldest',
  window: null,
  max_chains: 5,
};

const DEVICE_ID = 1;
const VERBOSE = process.env.LIBSIGNAL_SHIM_LOG === '1';

function log(msg) {
  process.stderr.write(`libsignal-shim: ${msg}\n`);
}

// ---------------------------------------------------------------------------------------
// libsignal's own log lines, kept per request: when a decryption fails libsignal returns
// one generic "decryption failed" for every session state it tried, and says in its log why
// each state failed ("MAC verification failed", "message from too far into the future").
// The shim reads those reasons to pick the reject class, and keeps them in the detail.

let captured = [];
S.initLogger(S.LogLevel.Info, (level, target, file, line, message) => {
  captured.push({ level, message });
  if (captured.length > 64) captured.shift();
  if (VERBOSE) log(`[libsignal ${level}] ${message}`);
});

// ---------------------------------------------------------------------------------------
// Small helpers.

class ShimError extends Error {
  constructor(cls, detail) {
    super(detail);
    this.cls = cls;
  }
}

const HEX = /^(?:[0-9a-f]{2})*$/;

function hexField(req, name) {
  const v = req[name];
  if (typeof v !== 'string' || !HEX.test(v)) {
    throw new ShimError('malformed', `field "${name}" of "${req.op}" must be lowercase hex`);
  }
  return new Uint8Array(Buffer.from(v, 'hex'));
}

function intField(req, name) {
  const v = req[name];
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new ShimError('malformed', `field "${name}" of "${req.op}" must be a non-negative integer`);
  }
  return v;
}

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Associated data bound in the payload: u32 BE len(ad) || ad || plaintext. */
function bindAd(ad, plaintext) {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, ad.length, false);
  return concat(len, ad, plaintext);
}

function unbindAd(ad, payload) {
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
// A party: one device with its own identity and in-memory stores, implementing libsignal's
// store interfaces. Records are kept serialised, as a real store keeps them (session
// records as libsignal's immutable objects, see the session store), so that a party's state
// is exactly these maps (export / restore) and a copy of them is a snapshot.

class PartyState {
  constructor(fields) {
    Object.assign(this, fields);
  }

  static fresh(role, party) {
    return new PartyState({
      role,
      localName: `${role === 'initiator' ? 'alice' : 'bob'}-${party}`,
      // Each party talks to one correspondent; the transport (here the bench) tells it who.
      remoteName: role === 'initiator' ? 'bob' : 'alice',
      identity: S.IdentityKeyPair.generate().serialize(),
      // 14 bits as libsignal's clients use; from 128 up, a 2-byte varint (fixed layout).
      registrationId: randomInt(128, 16381),
      sessions: new Map(),
      identities: new Map(),
      preKeys: new Map(),
      signedPreKeys: new Map(),
      kyberPreKeys: new Map(),
      kyberBaseKeys: new Map(),
    });
  }

  snapshot() {
    return new PartyState({
      ...this,
      sessions: new Map(this.sessions),
      identities: new Map(this.identities),
      preKeys: new Map(this.preKeys),
      signedPreKeys: new Map(this.signedPreKeys),
      kyberPreKeys: new Map(this.kyberPreKeys),
      kyberBaseKeys: new Map([...this.kyberBaseKeys].map(([k, v]) => [k, [...v]])),
    });
  }

  toJSON() {
    const m = (map) => [...map].map(([k, v]) => [k, hex(v)]);
    return {
      format: 'ratchet-bench libsignal shim state 1',
      role: this.role,
      local_name: this.localName,
      remote_name: this.remoteName,
      identity_key_pair: hex(this.identity),
      registration_id: this.registrationId,
      sessions: [...this.sessions].map(([k, v]) => [k, hex(v.serialize())]),
      identities: m(this.identities),
      pre_keys: m(this.preKeys),
      signed_pre_keys: m(this.signedPreKeys),
      kyber_pre_keys: m(this.kyberPreKeys),
      kyber_base_keys: [...this.kyberBaseKeys],
    };
  }

  static fromJSON(j) {
    if (j === null || typeof j !== 'object' || j.format !== 'ratchet-bench libsignal shim state 1') {
      throw new ShimError('malformed', 'state: not a libsignal shim state (format field)');
    }
    const m = (name, keyIsNumber) => {
      const v = j[name];
      if (!Array.isArray(v)) throw new ShimError('malformed', `state: field "${name}" must be a list`);
      return new Map(
        v.map((e) => {
          if (!Array.isArray(e) || e.length !== 2 || typeof e[1] !== 'string' || !HEX.test(e[1])) {
            throw new ShimError('malformed', `state: an entry of "${name}" is not [key, hex]`);
          }
          return [keyIsNumber ? Number(e[0]) : String(e[0]), unhex(e[1])];
        }),
      );
    };
    for (const f of ['role', 'local_name', 'remote_name', 'identity_key_pair']) {
      if (typeof j[f] !== 'string') throw new ShimError('malformed', `state: field "${f}" must be a string`);
    }
    if (!Number.isSafeInteger(j.registration_id)) {
      throw new ShimError('malformed', 'state: field "registration_id" must be an integer');
    }
    const s = new PartyState({
      role: j.role,
      localName: j.local_name,
      remoteName: j.remote_name,
      identity: unhex(j.identity_key_pair),
      registrationId: j.registration_id,
      sessions: m('sessions', false),
      identities: m('identities', false),
      preKeys: m('pre_keys', true),
      signedPreKeys: m('signed_pre_keys', true),
      kyberPreKeys: m('kyber_pre_keys', true),
      kyberBaseKeys: new Map(Array.isArray(j.kyber_base_keys) ? j.kyber_base_keys : []),
    });
    // Parse every record once so that a damaged state is refused here, not later.
    S.IdentityKeyPair.deserialize(s.identity);
    for (const [k, v] of s.sessions) s.sessions.set(k, S.SessionRecord.deserialize(v));
    for (const v of s.identities.values()) S.PublicKey.deserialize(v);
    for (const v of s.preKeys.values()) S.PreKeyRecord.deserialize(v);
    for (const v of s.signedPreKeys.values()) S.SignedPreKeyRecord.deserialize(v);
    for (const v of s.kyberPreKeys.values()) S.KyberPreKeyRecord.deserialize(v);
    return s;
  }
}

const addrKey = (a) => `${a.name()}.${a.deviceId()}`;

/** libsignal's store interfaces over one PartyState (read at call time, so a rollback works). */
class Stores {
  constructor(party) {
    this.party = party;
    const p = () => this.party.state;
    this.session = new (class extends S.SessionStore {
      // Session records are kept as libsignal's objects: libsignal copies a record it
      // loads and hands a new object to save, never changing one it was given (checked),
      // so a kept object is a snapshot and the hot path skips two (de)serialisations of a
      // record that holds up to 2000 skipped keys per chain.
      async saveSession(name, record) {
        p().sessions.set(addrKey(name), record);
      }
      async getSession(name) {
        return p().sessions.get(addrKey(name)) ?? null;
      }
      async getExistingSessions(addresses) {
        return addresses.map((a) => {
          const r = p().sessions.get(addrKey(a));
          if (!r) throw new Error(`no session for ${addrKey(a)}`);
          return r;
        });
      }
    })();
    this.identity = new (class extends S.IdentityKeyStore {
      async getIdentityKey() {
        return party.identityKeyPair().privateKey;
      }
      async getLocalRegistrationId() {
        return p().registrationId;
      }
      async saveIdentity(name, key) {
        const old = p().identities.get(addrKey(name));
        p().identities.set(addrKey(name), key.serialize());
        return old && !equalBytes(old, key.serialize())
          ? S.IdentityChange.ReplacedExisting
          : S.IdentityChange.NewOrUnchanged;
      }
      // Trust on first use, as libsignal's own in-memory store does: a known address
      // presenting another identity key is untrusted.
      async isTrustedIdentity(name, key, _direction) {
        const old = p().identities.get(addrKey(name));
        return !old || equalBytes(old, key.serialize());
      }
      async getIdentity(name) {
        const b = p().identities.get(addrKey(name));
        return b ? S.PublicKey.deserialize(b) : null;
      }
    })();
    this.preKey = new (class extends S.PreKeyStore {
      async savePreKey(id, record) {
        p().preKeys.set(id, record.serialize());
      }
      async getPreKey(id) {
        const b = p().preKeys.get(id);
        if (!b) throw new Error(`no pre-key with id ${id}`);
        return S.PreKeyRecord.deserialize(b);
      }
      async removePreKey(id) {
        p().preKeys.delete(id);
      }
    })();
    this.signedPreKey = new (class extends S.SignedPreKeyStore {
      async saveSignedPreKey(id, record) {
        p().signedPreKeys.set(id, record.serialize());
      }
      async getSignedPreKey(id) {
        const b = p().signedPreKeys.get(id);
        if (!b) throw new Error(`no signed pre-key with id ${id}`);
        return S.SignedPreKeyRecord.deserialize(b);
      }
    })();
    // The Kyber pre-key is kept after use, as a last-resort key is; libsignal asks the store
    // to refuse a second session from the same (Kyber key, signed pre-key, base key).
    this.kyberPreKey = new (class extends S.KyberPreKeyStore {
      async saveKyberPreKey(id, record) {
        p().kyberPreKeys.set(id, record.serialize());
      }
      async getKyberPreKey(id) {
        const b = p().kyberPreKeys.get(id);
        if (!b) throw new Error(`no Kyber pre-key with id ${id}`);
        return S.KyberPreKeyRecord.deserialize(b);
      }
      async markKyberPreKeyUsed(id, signedPreKeyId, baseKey) {
        const k = `${id}:${signedPreKeyId}`;
        const seen = p().kyberBaseKeys.get(k) ?? [];
        const b = hex(baseKey.serialize());
        if (seen.includes(b)) throw new Error('Kyber pre-key already used with this base key');
        p().kyberBaseKeys.set(k, [...seen, b]);
      }
    })();
  }
}

class Party {
  constructor(state) {
    this.state = state;
    this.stores = new Stores(this);
  }
  /** The identity never changes, so it is parsed once (a snapshot shares the same bytes). */
  identityKeyPair() {
    if (!this.idk || this.idkBytes !== this.state.identity) {
      this.idk = S.IdentityKeyPair.deserialize(this.state.identity);
      this.idkBytes = this.state.identity;
    }
    return this.idk;
  }
  get local() {
    return S.ProtocolAddress.new(this.state.localName, DEVICE_ID);
  }
  get remote() {
    return S.ProtocolAddress.new(this.state.remoteName, DEVICE_ID);
  }
}

// ---------------------------------------------------------------------------------------
// Errors: libsignal's error (code and text) onto the protocol's classes.

function reasonsFromLog() {
  // "Candidate session N failed with '<error>'" lines of libsignal's decryption-failure log.
  const reasons = [];
  for (const { message } of captured) {
    for (const m of message.matchAll(/Candidate session (\d+) failed with '([^']*)'/g)) {
      reasons.push(`state ${m[1]}: ${m[2]}`);
    }
  }
  return reasons;
}

function classify(e) {
  if (e instanceof ShimError) return { class: e.cls, detail: e.message };
  const text = e && typeof e.message === 'string' ? e.message : String(e);
  if (!(e instanceof S.LibSignalErrorBase)) {
    // Thrown by this shim's stores through libsignal (a missing key) or by JavaScript.
    if (/no (pre-key|signed pre-key|Kyber pre-key|session) (with id|for) /.test(text)) {
      return { class: 'unknown-session', detail: text };
    }
    if (/already used with this base key/.test(text)) return { class: 'replay', detail: text };
    return { class: 'other', detail: `${e && e.name ? e.name : 'error'}: ${text}` };
  }
  const detail = e.operation ? `${e.operation}: ${text}` : text;
  switch (e.code) {
    case S.ErrorCode.DuplicatedMessage:
      return { class: 'replay', detail };
    case S.ErrorCode.UntrustedIdentity:
    case S.ErrorCode.InvalidSession:
      return { class: 'unknown-session', detail };
    case S.ErrorCode.InvalidRegistrationId:
    case S.ErrorCode.InvalidProtocolAddress:
      return { class: 'other', detail };
    case S.ErrorCode.VerificationFailed:
      return { class: 'auth', detail };
    default:
      break;
  }
  // A store of this shim refusing through libsignal ("error in method call 'loadPreKey'").
  if (/no (pre-key|signed pre-key|Kyber pre-key|session) (with id|for) /.test(text)) {
    return { class: 'unknown-session', detail };
  }
  if (/already used with this base key/.test(text)) return { class: 'replay', detail };
  if (/decryption failed/.test(text)) {
    const reasons = reasonsFromLog();
    const all = reasons.length ? `${detail} (${reasons.join('; ')})` : detail;
    // The Double Ratchet's forward limit, or SPQR's (the post-quantum ratchet's MAX_JUMP).
    if (reasons.some((r) => /too far into the future|Key jump/.test(r))) return { class: 'too-far-ahead', detail: all };
    // SPQR no longer holds the key: used, trimmed (more than 2000 behind), or of a dropped epoch.
    if (reasons.some((r) => /Key trimmed|Key already requested|epoch not in valid range/.test(r))) {
      return { class: 'replay', detail: all };
    }
    if (reasons.some((r) => /MAC verification failed|failed to decrypt/.test(r))) return { class: 'auth', detail: all };
    if (reasons.some((r) => /No session available/.test(r))) return { class: 'unknown-session', detail: all };
    if (reasons.some((r) => /version/.test(r))) return { class: 'malformed', detail: all };
    return { class: 'auth', detail: all };
  }
  if (/too far into the future|Key jump/.test(text)) return { class: 'too-far-ahead', detail };
  if (/Key trimmed|Key already requested|epoch not in valid range/.test(text)) return { class: 'replay', detail };
  if (/MAC verification failed|invalid signature|signature/.test(text)) return { class: 'auth', detail };
  if (/old counter/.test(text)) return { class: 'replay', detail };
  if (/not found|invalid (prekey|signed prekey|Kyber prekey) identifier|No session available/i.test(text)) {
    return { class: 'unknown-session', detail };
  }
  if (
    /protobuf|too short|version|bad key|key type|KEM|no key type|invalid argument|invalid (PreKey|Whisper) message/i.test(
      text,
    )
  ) {
    return { class: 'malformed', detail };
  }
  return { class: 'other', detail };
}

// ---------------------------------------------------------------------------------------
// Wire layout: where the regions of a libsignal message lie. A SignalMessage is
// version byte || protobuf || 8-byte truncated HMAC; a PreKeySignalMessage is
// version byte || protobuf holding the SignalMessage in field 4. Protobuf fields have no
// fixed offsets, so the regions are found by reading the fields of each message.

function readVarint(b, at) {
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

function layout(wire) {
  if (wire.length < 2) throw new ShimError('malformed', 'wire shorter than type and version bytes');
  let inner;
  if (wire[0] === S.CiphertextMessageType.Whisper) {
    inner = signalMessageLayout(wire, 1, wire.length);
  } else if (wire[0] === S.CiphertextMessageType.PreKey) {
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

// ---------------------------------------------------------------------------------------
// Requests.

const parties = new Map();
let helloDone = false;

function partyOf(req) {
  const n = intField(req, 'party');
  const p = parties.get(n);
  if (!p) throw new ShimError('other', `no party ${n} in this shim`);
  return p;
}

function newParty(req) {
  const n = intField(req, 'party');
  if (parties.has(n)) throw new ShimError('other', `party ${n} already exists`);
  return n;
}

function checkPeer(req) {
  if (req.peer !== 0) throw new ShimError('other', `no peer ${JSON.stringify(req.peer)}: this shim serves peer 0 only`);
}

function bundleField(b, name, kind) {
  const v = b[name];
  if (kind === 'int') {
    if (!Number.isSafeInteger(v) || v < 0) throw new ShimError('malformed', `bundle: field "${name}" must be an integer`);
    return v;
  }
  if (typeof v !== 'string' || !HEX.test(v)) throw new ShimError('malformed', `bundle: field "${name}" must be hex`);
  return unhex(v);
}

async function respond(req) {
  checkPeer(req);
  const n = newParty(req);
  const party = new Party(PartyState.fresh('responder', n));
  const idk = S.IdentityKeyPair.deserialize(party.state.identity);
  // Random 24-bit ids as Signal's clients draw them, so that two parties' bundles differ;
  // from 2^21 up, so that each is a 4-byte varint in a pre-key message and the message's
  // layout (where a scenario's bit flip lands) does not depend on the draw.
  const preKeyId = randomInt(0x200000, 0x1000000);
  const signedId = randomInt(0x200000, 0x1000000);
  const kyberId = randomInt(0x200000, 0x1000000);
  const preKey = S.PrivateKey.generate();
  const signed = S.PrivateKey.generate();
  const signedSig = idk.privateKey.sign(signed.getPublicKey().serialize());
  const kem = S.KEMKeyPair.generate();
  const kemSig = idk.privateKey.sign(kem.getPublicKey().serialize());
  const now = Date.now();
  const st = party.stores;
  await st.preKey.savePreKey(preKeyId, S.PreKeyRecord.new(preKeyId, preKey.getPublicKey(), preKey));
  await st.signedPreKey.saveSignedPreKey(
    signedId,
    S.SignedPreKeyRecord.new(signedId, now, signed.getPublicKey(), signed, signedSig),
  );
  await st.kyberPreKey.saveKyberPreKey(kyberId, S.KyberPreKeyRecord.new(kyberId, now, kem, kemSig));
  const bundle = {
    identity_key: hex(idk.publicKey.serialize()),
    registration_id: party.state.registrationId,
    device_id: DEVICE_ID,
    pre_key_id: preKeyId,
    pre_key: hex(preKey.getPublicKey().serialize()),
    signed_pre_key_id: signedId,
    signed_pre_key: hex(signed.getPublicKey().serialize()),
    signed_pre_key_signature: hex(signedSig),
    kyber_pre_key_id: kyberId,
    kyber_pre_key: hex(kem.getPublicKey().serialize()),
    kyber_pre_key_signature: hex(kemSig),
  };
  parties.set(n, party);
  return { bundle: hex(Buffer.from(JSON.stringify(bundle), 'utf8')) };
}

async function initiate(req) {
  checkPeer(req);
  const n = newParty(req);
  const raw = hexField(req, 'bundle');
  let b;
  try {
    b = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    throw new ShimError('malformed', `bundle: not a JSON object (${e.message})`);
  }
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new ShimError('malformed', 'bundle: not a JSON object');
  const hasPreKey = b.pre_key_id !== undefined && b.pre_key_id !== null;
  const bundle = S.PreKeyBundle.new(
    bundleField(b, 'registration_id', 'int'),
    bundleField(b, 'device_id', 'int'),
    hasPreKey ? bundleField(b, 'pre_key_id', 'int') : null,
    hasPreKey ? S.PublicKey.deserialize(bundleField(b, 'pre_key', 'hex')) : null,
    bundleField(b, 'signed_pre_key_id', 'int'),
    S.PublicKey.deserialize(bundleField(b, 'signed_pre_key', 'hex')),
    bundleField(b, 'signed_pre_key_signature', 'hex'),
    S.PublicKey.deserialize(bundleField(b, 'identity_key', 'hex')),
    bundleField(b, 'kyber_pre_key_id', 'int'),
    S.KEMPublicKey.deserialize(bundleField(b, 'kyber_pre_key', 'hex')),
    bundleField(b, 'kyber_pre_key_signature', 'hex'),
  );
  const party = new Party(PartyState.fresh('initiator', n));
  await S.processPreKeyBundle(bundle, party.remote, party.local, party.stores.session, party.stores.identity);
  parties.set(n, party);
  return {};
}

async function encrypt(req) {
  const party = partyOf(req);
  const payload = bindAd(hexField(req, 'ad'), hexField(req, 'plaintext'));
  const before = party.state.snapshot();
  try {
    const msg = await S.signalEncrypt(payload, party.remote, party.local, party.stores.session, party.stores.identity);
    return { wire: hex(concat(Uint8Array.of(msg.type()), msg.serialize())) };
  } catch (e) {
    party.state = before;
    throw e;
  }
}

async function decrypt(req) {
  const party = partyOf(req);
  const ad = hexField(req, 'ad');
  const wire = hexField(req, 'wire');
  if (wire.length === 0) throw new ShimError('malformed', 'empty wire: no message type byte');
  const type = wire[0];
  const body = wire.slice(1);
  const st = party.stores;
  // libsignal stores nothing when it refuses; the associated-data check comes after it has
  // accepted, so the whole party is put back as it was if that check fails.
  const before = party.state.snapshot();
  try {
    let payload;
    if (type === S.CiphertextMessageType.PreKey) {
      const m = S.PreKeySignalMessage.deserialize(body);
      payload = await S.signalDecryptPreKey(
        m, party.remote, party.local, st.session, st.identity, st.preKey, st.signedPreKey, st.kyberPreKey,
      );
    } else if (type === S.CiphertextMessageType.Whisper) {
      const m = S.SignalMessage.deserialize(body);
      payload = await S.signalDecrypt(m, party.remote, party.local, st.session, st.identity);
    } else {
      throw new ShimError('malformed', `unknown message type byte ${type} (3 pre-key, 2 whisper)`);
    }
    return { plaintext: hex(unbindAd(ad, payload)) };
  } catch (e) {
    party.state = before;
    throw e;
  }
}

async function exportState(req) {
  const party = partyOf(req);
  return { state: hex(Buffer.from(JSON.stringify(party.state.toJSON()), 'utf8')) };
}

async function restore(req) {
  checkPeer(req);
  const n = newParty(req);
  const raw = hexField(req, 'state');
  let j;
  try {
    j = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    throw new ShimError('malformed', `state: not JSON (${e.message})`);
  }
  parties.set(n, new Party(PartyState.fromJSON(j)));
  return {};
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
    throw new ShimError('other', 'libsignal sessions have no handshake: the first message carries the set-up');
  },
  encrypt,
  decrypt,
  export: exportState,
  restore,
  layout: async (req) => {
    checkPeer(req);
    return layout(hexField(req, 'wire'));
  },
  drop: async (req) => {
    parties.delete(intField(req, 'party'));
    return {};
  },
};

function hello(req) {
  if (req.protocol !== PROTOCOL) {
    throw new ShimError('other', `this shim speaks protocol ${PROTOCOL}, not ${JSON.stringify(req.protocol)}`);
  }
  helloDone = true;
  return {
    protocol: PROTOCOL,
    implementation: 'libsignal-client',
    version: libraryVersion(),
    peers: [
      {
        family: 'libsignal',
        limits: LIMITS,
        capabilities: { injectable_rng: false, export_state: true },
        weakened: [],
      },
    ],
  };
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    return { id: null, err: { class: 'malformed', detail: `request is not JSON: ${e.message}` } };
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    return { id: null, err: { class: 'malformed', detail: 'request is not a JSON object' } };
  }
  const id = req.id ?? null;
  captured = [];
  try {
    if (req.op === 'hello') return { id, ok: hello(req) };
    if (!helloDone) throw new ShimError('other', `"${req.op}" before "hello"`);
    const op = Object.prototype.hasOwnProperty.call(OPS, req.op) ? OPS[req.op] : null;
    if (!op) return { id, unimplemented: `unknown op ${JSON.stringify(req.op)}` };
    return { id, ok: await op(req) };
  } catch (e) {
    // Let libsignal's log callbacks for this call arrive before reading them.
    await new Promise((r) => setImmediate(r));
    const err = classify(e);
    if (VERBOSE) log(`${req.op} refused: ${err.class}: ${err.detail}`);
    return { id, err };
  }
}

/** One request line in, one answer object out (exported for bench.js, which skips the pipe). */
export { handle };

function serve() {
  // One request at a time, answers in order.
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      let answer;
      try {
        answer = await handle(line);
      } catch (e) {
        answer = { id: null, err: { class: 'other', detail: `shim failure: ${e && e.stack ? e.stack : e}` } };
      }
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    });
  });
  rl.on('close', () => {
    chain.then(() => process.exit(0));
  });
  process.on('uncaughtException', (e) => log(`uncaught: ${e && e.stack ? e.stack : e}`));
  process.on('unhandledRejection', (e) => log(`unhandled rejection: ${e && e.stack ? e.stack : e}`));
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) serve();
