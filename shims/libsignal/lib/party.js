// SPDX-License-Identifier: AGPL-3.0-only
//
// A party: one device with its own identity and in-memory stores, implementing libsignal's
// store interfaces (the same five in every release; only markKyberPreKeyUsed's arguments
// differ, see releases.js). Records are kept serialised, as a real store keeps them (session
// records as libsignal's immutable objects, see the session store), so that a party's state
// is exactly these maps (export / restore) and a copy of them is a snapshot.

import { randomInt } from 'node:crypto';
import { HEX, ShimError, equalBytes, hex, unhex } from './wire.js';

export const DEVICE_ID = 1;
const STATE_FORMAT = 'ratchet-bench libsignal shim state 1';

/** The party classes over one release's module `S` and its adapted API. */
export function partyClasses(S, api) {
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
        format: STATE_FORMAT,
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
      if (j === null || typeof j !== 'object' || j.format !== STATE_FORMAT) {
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
            return [keyIsNumber ? Number(e[0]) : String(e[0]), api.bytes(unhex(e[1]))];
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
        identity: api.bytes(unhex(j.identity_key_pair)),
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
      // The Kyber pre-key is kept after use, as a last-resort key is; libsignal (0.81 and
      // later) asks the store to refuse a second session from the same (Kyber key, signed
      // pre-key, base key). Older releases name the key only: nothing to check then.
      const takesBaseKey = api.markKyberUsedTakesBaseKey;
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
          if (!takesBaseKey) return;
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

  return { PartyState, Party };
}
