// SPDX-License-Identifier: AGPL-3.0-only
//
// The bench's side of the shim protocol, for the tests: a shim process, one request, then its
// answer, over stdin / stdout exactly as the bench drives it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SHIM = fileURLToPath(new URL('../shim.js', import.meta.url));

export const QUICK = process.env.LIBSIGNAL_SHIM_QUICK === '1';

export const hex = (s) => Buffer.from(s, 'utf8').toString('hex');
export const ZERO = '00'.repeat(32);

export function flipBit(wireHex, at) {
  const b = Buffer.from(wireHex, 'hex');
  b[at] ^= 1;
  return b.toString('hex');
}

export class Shim {
  /** `args`: the shim's command-line arguments (`['--release', '0.72']`). */
  constructor(args = []) {
    this.args = args;
    this.child = spawn(process.execPath, [SHIM, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    this.exited = new Promise((r) => this.child.on('exit', r));
    this.id = 0;
    this.party = 0;
  }

  raw(line) {
    this.child.stdin.write(`${line}\n`);
    return new Promise((resolve) => {
      const l = this.lines.shift();
      if (l !== undefined) resolve(l);
      else this.waiting.push(resolve);
    });
  }

  async call(op, fields = {}) {
    const id = ++this.id;
    const line = await this.raw(JSON.stringify({ id, op, ...fields }));
    const answer = JSON.parse(line);
    assert.equal(answer.id, id, `answer to ${op} carries the request's id`);
    return answer;
  }

  async ok(op, fields) {
    const a = await this.call(op, fields);
    assert.ok(a.ok, `${op} should succeed, got ${JSON.stringify(a)}`);
    return a.ok;
  }

  async close() {
    this.child.stdin.end();
    return this.exited;
  }

  /** A new responder: [party, bundle hex]. */
  async responder() {
    const bob = ++this.party;
    const { bundle } = await this.ok('respond', { peer: 0, party: bob, shared_secret: ZERO, seed: ZERO });
    return [bob, bundle];
  }

  /** A new initiator from `bundle`: its party number, or the refusal. */
  async initiator(bundle) {
    const alice = ++this.party;
    const a = await this.call('initiate', { peer: 0, party: alice, shared_secret: ZERO, bundle, seed: ZERO });
    if (!a.ok) return { err: a.err };
    const { handshake } = await this.ok('handshake', { party: alice });
    assert.equal(handshake, null, 'libsignal needs no handshake before the first message');
    return { party: alice };
  }

  /** A new session: [alice, bob] party numbers. */
  async session() {
    const [bob, bundle] = await this.responder();
    const a = await this.initiator(bundle);
    assert.ok(a.party, `initiate should succeed, got ${JSON.stringify(a.err)}`);
    return [a.party, bob];
  }

  async send(party, text, ad = 'ad') {
    const { wire } = await this.ok('encrypt', { party, ad: hex(ad), plaintext: hex(text) });
    return wire;
  }

  async recv(party, wire, ad = 'ad') {
    return this.call('decrypt', { party, ad: hex(ad), wire });
  }

  async expectPlain(party, wire, text, ad = 'ad') {
    const a = await this.recv(party, wire, ad);
    assert.ok(a.ok, `genuine message should decrypt, got ${JSON.stringify(a)}`);
    assert.equal(a.ok.plaintext, hex(text));
  }

  async expectErr(party, wire, cls, ad = 'ad') {
    const a = await this.recv(party, wire, ad);
    assert.ok(a.err, `message should be refused, got ${JSON.stringify(a)}`);
    assert.equal(a.err.class, cls, `refusal class (detail: ${a.err.detail})`);
    assert.ok(a.err.detail.length > 0, 'the refusal keeps libsignal text');
    return a.err;
  }
}
