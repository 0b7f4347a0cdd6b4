#!/usr/bin/env node
// SPDX-License-Identifier: AGPL-3.0-only
//
// ratchet-bench shim (protocol v1, shims/PROTOCOL.md) for libsignal through
// @signalapp/libsignal-client, at one of several releases installed side by side:
//
//   node shim.js [--release 0.72|0.90|0.92|0.103] [--family libsignal|signal-v3]
//
// Without arguments: today's release (0.103) and its family. Each release speaks the family
// its table entry in lib/releases.js names first (0.72: signal-v3, X3DH without a Kyber
// pre-key; the others: libsignal, PQXDH); `--family` picks another it can speak (0.72 also
// speaks libsignal, for the cross-release tests). Session set-up from a pre-key bundle, then
// signalEncrypt / signalDecrypt, each party in its own in-memory stores. JSON lines on
// stdin / stdout; logs on stderr only. This folder is AGPL-3.0-only because it links
// libsignal (see NOTICE).

import { createInterface } from 'node:readline';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_RELEASE, findRelease, load } from './lib/releases.js';
import { makeHandler } from './lib/handler.js';
import { log } from './lib/errors.js';

const isMain = Boolean(process.argv[1]) && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;

const USAGE = 'usage: node shim.js [--release 0.72|0.90|0.92|0.103] [--family libsignal|signal-v3]';

function options() {
  if (!isMain) return { release: DEFAULT_RELEASE, family: undefined };
  try {
    const { values } = parseArgs({
      options: { release: { type: 'string' }, family: { type: 'string' } },
      allowPositionals: false,
    });
    return { release: values.release ?? DEFAULT_RELEASE, family: values.family };
  } catch (e) {
    log(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
}

let handle;
{
  const opts = options();
  try {
    const release = findRelease(opts.release);
    const S = await load(release);
    ({ handle } = makeHandler(S, release, opts.family ?? release.families[0]));
  } catch (e) {
    log(`${e.message}\n${USAGE}`);
    process.exit(isMain ? 2 : 1);
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

if (isMain) serve();
