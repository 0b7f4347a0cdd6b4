// SPDX-License-Identifier: AGPL-3.0-only
//
// The libsignal releases this shim runs, side by side through npm aliases (package.json),
// and the one place where their Node APIs differ. Everything else in lib/ is written once
// against `adapt(S, release)`.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * Limits, from rust/protocol/src/consts.rs at each release's tag (module `limits`; the same
 * values at v0.72.1, v0.90.0, v0.92.2 and v0.103.0): MAX_FORWARD_JUMPS = 25_000 (a message
 * may be at most this far past the chain's index; 2,000 until January 2021, raised before
 * the first @signalapp/libsignal-client release), MAX_MESSAGE_KEYS = 2000 (skipped keys kept
 * per receiving chain, oldest dropped first), MAX_RECEIVER_CHAINS = 5 (receiving chains kept
 * per session state, oldest dropped). ARCHIVED_STATES_MAX_LENGTH = 40 (previous session
 * states kept) has no field in the protocol's limits: it is stated in the README.
 */
export const LIMITS = {
  max_skip: 25000,
  max_stored: null,
  max_stored_per_chain: 2000,
  when_full: 'evict-oldest',
  window: null,
  max_chains: 5,
};

/**
 * One entry per release. `families`: the wire conventions it can speak (PROTOCOL.md), the
 * first being the one its peer declares unless `--family` says otherwise. `spqr`: whether
 * its sessions run the sparse post-quantum ratchet (RELEASE_NOTES.md: v0.74.0 "Integrate
 * post-quantum ratchet in opt-in mode", v0.83.0 "Remove client-provided options to turn
 * on/off SPQR, defaulting to on everywhere", v0.92.0 "Force use of SPQR v1 for all newly
 * initiated sessions"). `api`: how its Node API differs, read from the package's
 * dist/index.d.ts and checked by test.js on the installed library.
 */
export const RELEASES = [
  {
    name: '0.72',
    version: '0.72.1',
    module: 'libsignal-client-0.72',
    // The last release that sets up a session from a bundle without a Kyber pre-key (X3DH,
    // version 3 messages): v0.73.0 removed that from the app languages, v0.75.0 refuses
    // X3DH pre-key messages. With a Kyber pre-key it speaks PQXDH (version 4) as later
    // releases do, without SPQR.
    families: ['signal-v3', 'libsignal'],
    spqr: 'none',
    api: {
      // Node Buffers in and out (v0.75.0: "All APIs now use Uint8Array instead of Buffer").
      buffers: true,
      // The Kyber pre-key is optional in PreKeyBundle.new.
      kyberOptional: true,
      // KyberPreKeyStore.markKyberPreKeyUsed(kyberPreKeyId) (v0.81.0 added the signed
      // pre-key id and the base key).
      markKyberUsedTakesBaseKey: false,
      // Which calls take the local address (v0.91.0 / v0.92.0 and later, one by one).
      localAddress: { processPreKeyBundle: false, signalEncrypt: false, signalDecrypt: false, signalDecryptPreKey: false },
    },
  },
  {
    name: '0.90',
    version: '0.90.0',
    module: 'libsignal-client-0.90',
    // The last release on npm before SPQR became mandatory: SPQR is on in every session it
    // starts, and it still accepts a correspondent without it (min_version V0 in
    // rust/protocol/src/ratchet.rs at v0.90.0).
    families: ['libsignal'],
    spqr: 'offered',
    api: {
      buffers: false,
      kyberOptional: false,
      markKyberUsedTakesBaseKey: true,
      localAddress: { processPreKeyBundle: false, signalEncrypt: false, signalDecrypt: false, signalDecryptPreKey: false },
    },
  },
  {
    name: '0.92',
    version: '0.92.2',
    module: 'libsignal-client-0.92',
    // The first release on npm with SPQR required in new sessions (min_version V1).
    families: ['libsignal'],
    spqr: 'required',
    api: {
      buffers: false,
      kyberOptional: false,
      markKyberUsedTakesBaseKey: true,
      localAddress: { processPreKeyBundle: false, signalEncrypt: true, signalDecrypt: false, signalDecryptPreKey: true },
    },
  },
  {
    name: '0.103',
    version: '0.103.0',
    module: '@signalapp/libsignal-client',
    families: ['libsignal'],
    spqr: 'required',
    api: {
      buffers: false,
      kyberOptional: false,
      markKyberUsedTakesBaseKey: true,
      localAddress: { processPreKeyBundle: true, signalEncrypt: true, signalDecrypt: true, signalDecryptPreKey: true },
    },
  },
];

/** Today's release, what `shim.js` runs without `--release`. */
export const DEFAULT_RELEASE = '0.103';

export function findRelease(name) {
  const r = RELEASES.find((x) => x.name === name || x.version === name);
  if (!r) {
    throw new Error(`unknown release ${JSON.stringify(name)}; expected one of ${RELEASES.map((x) => x.name).join(', ')}`);
  }
  return r;
}

/** The installed version of a release's package, read from its own package.json. */
export function installedVersion(release) {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve(release.module);
    let dir = new URL('./', pathToFileURL(main));
    // The main file lies in dist/ (or the package root): walk up to the package.json.
    for (let i = 0; i < 3; i++) {
      try {
        const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
        if (pkg.name === '@signalapp/libsignal-client') return pkg.version;
      } catch (e) {
        // not here; one level up
      }
      dir = new URL('../', dir);
    }
    return 'unknown';
  } catch (e) {
    return 'unknown';
  }
}

/** Loads a release's package: its module namespace, checked against the table's version. */
export async function load(release) {
  const S = await import(release.module);
  const v = installedVersion(release);
  if (v !== release.version) {
    throw new Error(
      `${release.module} is ${v}, but lib/releases.js describes ${release.version}: run ./setup (the lock pins it)`,
    );
  }
  return S;
}

/**
 * The release's API behind one shape: the calls the shim makes, with the arguments each
 * release takes. `local` is the calling party's own address (the releases that take it use
 * it to bind messages to addresses when the names are service ids; the shim's are not).
 */
export function adapt(S, release) {
  const a = release.api;
  const bytes = a.buffers ? (u8) => Buffer.from(u8) : (u8) => u8;
  const withLocal = (call, local) => (a.localAddress[call] ? [local] : []);
  return {
    bytes,
    markKyberUsedTakesBaseKey: a.markKyberUsedTakesBaseKey,
    /** A PreKeyBundle; `kyber` is `{id, key, signature}` or null (only where optional). */
    preKeyBundle(f) {
      const base = [
        f.registrationId,
        f.deviceId,
        f.preKeyId,
        f.preKey,
        f.signedPreKeyId,
        f.signedPreKey,
        bytes(f.signedPreKeySignature),
        f.identityKey,
      ];
      if (f.kyber) return S.PreKeyBundle.new(...base, f.kyber.id, f.kyber.key, bytes(f.kyber.signature));
      if (!a.kyberOptional) throw new Error(`libsignal ${release.version} needs a Kyber pre-key in every bundle`);
      return S.PreKeyBundle.new(...base, null, null, null);
    },
    processPreKeyBundle(bundle, remote, local, st) {
      return S.processPreKeyBundle(bundle, remote, ...withLocal('processPreKeyBundle', local), st.session, st.identity);
    },
    signalEncrypt(payload, remote, local, st) {
      return S.signalEncrypt(bytes(payload), remote, ...withLocal('signalEncrypt', local), st.session, st.identity);
    },
    signalDecrypt(msg, remote, local, st) {
      return S.signalDecrypt(msg, remote, ...withLocal('signalDecrypt', local), st.session, st.identity);
    },
    signalDecryptPreKey(msg, remote, local, st) {
      return S.signalDecryptPreKey(
        msg,
        remote,
        ...withLocal('signalDecryptPreKey', local),
        st.session,
        st.identity,
        st.preKey,
        st.signedPreKey,
        st.kyberPreKey,
      );
    },
  };
}
