// SPDX-License-Identifier: AGPL-3.0-only
//
// The shim's own tests, for every release it runs, through the pipe exactly as the bench
// drives it (JSON lines, protocol v1): test/suite.js per release (with its family's own tests,
// test/libsignal-family.js or test/signal-v3.js), then test/cross-release.js (every release
// with every other of its family, X3DH against the Kyber releases, sessions across an upgrade).
//
// Run: `node test.js` (or `npm test`). LIBSIGNAL_SHIM_QUICK=1 leaves out the 25,000-message
// forward-jump edges (the slow part) and shortens the cross-release exchanges;
// LIBSIGNAL_SHIM_RELEASES=0.72,0.103 runs those releases only (and no cross-release tests).

import { QUICK } from './test/pipe.js';
import { releaseSuite } from './test/suite.js';
import { libsignalFamilyTests } from './test/libsignal-family.js';
import { signalV3Tests } from './test/signal-v3.js';
import { crossReleaseSuite, upgradeSuite, x3dhAgainstKyberSuite } from './test/cross-release.js';

// The exact versions pinned in package.json, and what each release's sessions are.
const RELEASES = [
  // X3DH without Kyber: version-3 sessions, whose messages libsignal writes with the
  // version byte 0x34 (session version 3, libsignal's current version 4).
  { name: '0.72', args: ['--release', '0.72'], version: '0.72.1', family: 'signal-v3', versionByte: '34', spqr: false, extra: signalV3Tests },
  { name: '0.90', args: ['--release', '0.90'], version: '0.90.0', family: 'libsignal', versionByte: '44', spqr: true, extra: libsignalFamilyTests },
  { name: '0.92', args: ['--release', '0.92'], version: '0.92.2', family: 'libsignal', versionByte: '44', spqr: true, extra: libsignalFamilyTests },
  // No arguments: what the bench runs as `libsignal`.
  { name: '0.103', args: [], version: '0.103.0', family: 'libsignal', versionByte: '44', spqr: true, extra: libsignalFamilyTests },
];

const only = process.env.LIBSIGNAL_SHIM_RELEASES ? process.env.LIBSIGNAL_SHIM_RELEASES.split(',') : null;
if (only) {
  const unknown = only.filter((n) => !RELEASES.some((r) => r.name === n));
  if (unknown.length) throw new Error(`LIBSIGNAL_SHIM_RELEASES: unknown ${unknown.join(', ')}; expected ${RELEASES.map((r) => r.name).join(', ')}`);
}
for (const r of RELEASES) if (!only || only.includes(r.name)) releaseSuite(r);
if (!only) {
  crossReleaseSuite({ turns: QUICK ? 40 : 120 });
  x3dhAgainstKyberSuite();
  upgradeSuite();
}
