// SPDX-License-Identifier: AGPL-3.0-only
//
// The shim's requests (PROTOCOL.md) over one libsignal release and one wire family: the
// party table, set-up from a bundle, encrypt / decrypt with associated data bound in the
// payload, export / restore, layout. Written once against releases.js's adapted API.

import { randomInt } from 'node:crypto';
import { adapt, installedVersion, LIMITS } from './releases.js';
import { errorMapping, log, VERBOSE } from './errors.js';
import { FAMILIES } from './families.js';
import { DEVICE_ID, partyClasses } from './party.js';
import {
  PRE_KEY,
  ShimError,
  WHISPER,
  bindAd,
  concat,
  hex,
  hexField,
  intField,
  layout,
  unbindAd,
} from './wire.js';

const PROTOCOL = 1;

/** The request handler for `release` (its module `S` loaded) speaking `familyName`. */
export function makeHandler(S, release, familyName) {
  const family = FAMILIES[familyName];
  if (!family || !release.families.includes(familyName)) {
    throw new Error(`libsignal ${release.version} does not speak family ${JSON.stringify(familyName)} (it speaks ${release.families.join(', ')})`);
  }
  const api = adapt(S, release);
  const errors = errorMapping(S);
  const { PartyState, Party } = partyClasses(S, api);
  const version = installedVersion(release);

  const parties = new Map();
  let helloDone = false;
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

  /** A new bundle of `party`'s device: its identity key, its signed pre-key (and, for
   * PQXDH, its Kyber pre-key), each made on first use and kept, and a new one-time pre-key.
   * Ids are random 24-bit numbers as Signal's clients draw them, so that two parties'
   * bundles differ; from 2^21 up, so that each is a 4-byte varint in a pre-key message and
   * the message's layout (where a scenario's bit flip lands) does not depend on the draw. */
  async function bundleOf(party) {
    const idk = party.identityKeyPair();
    const st = party.stores;
    const newId = () => randomInt(0x200000, 0x1000000);
    const now = Date.now();
    const preKeyId = newId();
    const preKey = S.PrivateKey.generate();
    await st.preKey.savePreKey(preKeyId, S.PreKeyRecord.new(preKeyId, preKey.getPublicKey(), preKey));
    let [signedId] = party.state.signedPreKeys.keys();
    if (signedId === undefined) {
      signedId = newId();
      const key = S.PrivateKey.generate();
      const sig = idk.privateKey.sign(key.getPublicKey().serialize());
      await st.signedPreKey.saveSignedPreKey(
        signedId,
        S.SignedPreKeyRecord.new(signedId, now, key.getPublicKey(), key, sig),
      );
    }
    const signed = await st.signedPreKey.getSignedPreKey(signedId);
    let kyber = null;
    if (family.kyber) {
      let [kyberId] = party.state.kyberPreKeys.keys();
      if (kyberId === undefined) {
        kyberId = newId();
        const kem = S.KEMKeyPair.generate();
        const sig = idk.privateKey.sign(kem.getPublicKey().serialize());
        await st.kyberPreKey.saveKyberPreKey(kyberId, S.KyberPreKeyRecord.new(kyberId, now, kem, sig));
      }
      const k = await st.kyberPreKey.getKyberPreKey(kyberId);
      kyber = { id: kyberId, key: k.publicKey().serialize(), signature: k.signature() };
    }
    return family.encode({
      identityKey: idk.publicKey.serialize(),
      registrationId: party.state.registrationId,
      deviceId: DEVICE_ID,
      preKeyId,
      preKey: preKey.getPublicKey().serialize(),
      signedPreKeyId: signedId,
      signedPreKey: signed.publicKey().serialize(),
      signedPreKeySignature: signed.signature(),
      kyber,
    });
  }

  async function respond(req) {
    checkPeer(req);
    const n = newParty(req);
    const party = new Party(PartyState.fresh('responder', n));
    const bundle = await bundleOf(party);
    parties.set(n, party);
    return { bundle: hex(bundle) };
  }

  /** `publish`: a new bundle of the party's device, for its correspondent's `renew`. */
  async function publish(req) {
    const party = partyOf(req);
    const before = party.state.snapshot();
    try {
      return { bundle: hex(await bundleOf(party)) };
    } catch (e) {
      party.state = before;
      throw e;
    }
  }

  /** `renew`: a new session from the correspondent's new bundle, in the party's record
   * beside the earlier ones (libsignal's processPreKeyBundle on a record that has one makes
   * the new session current and archives the old). */
  async function renew(req) {
    const party = partyOf(req);
    const bundle = api.preKeyBundle(family.decode(hexField(req, 'bundle'), S, api.bytes));
    const before = party.state.snapshot();
    try {
      await api.processPreKeyBundle(bundle, party.remote, party.local, party.stores);
      return {};
    } catch (e) {
      party.state = before;
      throw e;
    }
  }

  async function initiate(req) {
    checkPeer(req);
    const n = newParty(req);
    const raw = hexField(req, 'bundle');
    const bundle = api.preKeyBundle(family.decode(raw, S, api.bytes));
    const party = new Party(PartyState.fresh('initiator', n));
    await api.processPreKeyBundle(bundle, party.remote, party.local, party.stores);
    parties.set(n, party);
    return {};
  }

  async function encrypt(req) {
    const party = partyOf(req);
    const payload = bindAd(hexField(req, 'ad'), hexField(req, 'plaintext'));
    const before = party.state.snapshot();
    try {
      const msg = await api.signalEncrypt(payload, party.remote, party.local, party.stores);
      return encrypted(concat(Uint8Array.of(msg.type()), msg.serialize()));
    } catch (e) {
      party.state = before;
      throw e;
    }
  }

  /** `encrypt_many`: `count` encryptions in a row, stopped by the first refusal (the wires
   * made before it stand, `refused` says why the rest were not made). */
  async function encryptMany(req) {
    if (!encryptManyOn) throw new ShimError('other', 'encrypt_many was not taken up in the hello');
    const count = req.count;
    if (!Number.isInteger(count) || count < 1) {
      throw new ShimError('other', `encrypt_many: count ${JSON.stringify(count)} is not a positive integer`);
    }
    const wires = [];
    const layouts = [];
    let refused = null;
    for (let i = 0; i < count; i++) {
      let made;
      try {
        made = await encrypt(req);
      } catch (e) {
        if (wires.length === 0) throw e;
        // Let libsignal's log callbacks for this call arrive before reading them.
        await new Promise((r) => setImmediate(r));
        refused = errors.classify(e);
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

  async function decrypt(req) {
    const party = partyOf(req);
    const ad = hexField(req, 'ad');
    const wire = hexField(req, 'wire');
    if (wire.length === 0) throw new ShimError('malformed', 'empty wire: no message type byte');
    const type = wire[0];
    const body = api.bytes(wire.slice(1));
    // libsignal stores nothing when it refuses; the associated-data check comes after it has
    // accepted, so the whole party is put back as it was if that check fails.
    const before = party.state.snapshot();
    try {
      let payload;
      if (type === PRE_KEY) {
        const m = S.PreKeySignalMessage.deserialize(body);
        payload = await api.signalDecryptPreKey(m, party.remote, party.local, party.stores);
      } else if (type === WHISPER) {
        const m = S.SignalMessage.deserialize(body);
        payload = await api.signalDecrypt(m, party.remote, party.local, party.stores);
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
      parties.delete(intField(req, 'party'));
      return {};
    },
  };

  function hello(req) {
    if (req.protocol !== PROTOCOL) {
      throw new ShimError('other', `this shim speaks protocol ${PROTOCOL}, not ${JSON.stringify(req.protocol)}`);
    }
    helloDone = true;
    const features = Array.isArray(req.features) ? req.features : [];
    encryptManyOn = features.includes('encrypt_many');
    wireLayoutOn = features.includes('wire_layout');
    return {
      protocol: PROTOCOL,
      implementation: 'libsignal-client',
      version,
      peers: [
        {
          family: family.name,
          limits: LIMITS,
          // libsignal draws every random byte from the operating system: no seed, no host_rng.
          capabilities: { injectable_rng: false, export_state: true },
          weakened: [],
        },
      ],
      features: [...(encryptManyOn ? ['encrypt_many'] : []), ...(wireLayoutOn ? ['wire_layout'] : [])],
    };
  }

  /** One request line in, one answer object out. */
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
    errors.reset();
    try {
      if (req.op === 'hello') return { id, ok: hello(req) };
      if (!helloDone) throw new ShimError('other', `"${req.op}" before "hello"`);
      const op = Object.prototype.hasOwnProperty.call(OPS, req.op) ? OPS[req.op] : null;
      if (!op) return { id, unimplemented: `unknown op ${JSON.stringify(req.op)}` };
      return { id, ok: await op(req) };
    } catch (e) {
      // Let libsignal's log callbacks for this call arrive before reading them.
      await new Promise((r) => setImmediate(r));
      const err = errors.classify(e);
      if (VERBOSE) log(`${req.op} refused: ${err.class}: ${err.detail}`);
      return { id, err };
    }
  }

  return { handle };
}
