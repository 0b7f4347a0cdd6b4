// SPDX-License-Identifier: AGPL-3.0-only
//
// Drives shim.js over stdin / stdout exactly as the bench does (JSON lines, protocol v1)
// and checks libsignal <-> libsignal sessions: set-up, both directions, out of order,
// replays, tampering, other associated data, garbage, another session's messages, the
// declared limits at their edges, export / restore, and that a refusal changes nothing.
// Run: `node test.js` (or `npm test`). LIBSIGNAL_SHIM_QUICK=1 leaves out the 25,000-message
// forward-jump edges (about a minute).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const SHIM = fileURLToPath(new URL('./shim.js', import.meta.url));
const QUICK = process.env.LIBSIGNAL_SHIM_QUICK === '1';

/** The bench's side of the protocol: one request, then its answer. */
class Shim {
  constructor() {
    this.child = spawn(process.execPath, [SHIM], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    const code = await new Promise((r) => this.child.on('exit', r));
    return code;
  }

  /** A new session: [alice, bob] party numbers. */
  async session() {
    const bob = ++this.party;
    const alice = ++this.party;
    const zero = '00'.repeat(32);
    const { bundle } = await this.ok('respond', { peer: 0, party: bob, shared_secret: zero, seed: zero });
    await this.ok('initiate', { peer: 0, party: alice, shared_secret: zero, bundle, seed: zero });
    const { handshake } = await this.ok('handshake', { party: alice });
    assert.equal(handshake, null, 'libsignal needs no handshake before the first message');
    return [alice, bob];
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

const hex = (s) => Buffer.from(s, 'utf8').toString('hex');

function flipBit(wireHex, at) {
  const b = Buffer.from(wireHex, 'hex');
  b[at] ^= 1;
  return b.toString('hex');
}

let shim;
test.before(async () => {
  shim = new Shim();
  await shim.ok('hello', { protocol: 1 });
});
test.after(async () => {
  assert.equal(await shim.close(), 0, 'the shim exits with status 0 when stdin closes');
});

test('hello: protocol 1, the installed version, libsignal family, limits from consts.rs', async () => {
  const s = new Shim();
  const h = await s.ok('hello', { protocol: 1 });
  assert.equal(h.protocol, 1);
  assert.equal(h.implementation, 'libsignal-client');
  assert.equal(h.version, '0.103.0', 'the version pinned in package.json');
  assert.equal(h.peers.length, 1);
  const p = h.peers[0];
  assert.equal(p.family, 'libsignal');
  // rust/protocol/src/consts.rs: MAX_FORWARD_JUMPS 25_000, MAX_MESSAGE_KEYS 2000,
  // MAX_RECEIVER_CHAINS 5.
  assert.deepEqual(p.limits, {
    max_skip: 25000,
    max_stored: null,
    max_stored_per_chain: 2000,
    when_full: 'evict-oldest',
    window: null,
    max_chains: 5,
  });
  assert.deepEqual(p.capabilities, { injectable_rng: false, export_state: true });
  assert.deepEqual(p.weakened, []);
  const bad = await s.call('hello', { protocol: 2 });
  assert.ok(bad.err, 'another protocol version is refused');
  assert.equal(await s.close(), 0);
});

test('a request before hello, unknown ops and non-JSON lines get answers, not a dead shim', async () => {
  const s = new Shim();
  const early = await s.call('encrypt', { party: 1, ad: '', plaintext: '' });
  assert.ok(early.err);
  await s.ok('hello', { protocol: 1 });
  const unknown = await s.call('fly', {});
  assert.ok(typeof unknown.unimplemented === 'string');
  const garbage = JSON.parse(await s.raw('{not json'));
  assert.equal(garbage.err.class, 'malformed');
  const noParty = await s.call('encrypt', { party: 99, ad: '', plaintext: '' });
  assert.ok(noParty.err);
  const badHex = await s.call('encrypt', { party: 99, ad: 'ZZ', plaintext: '' });
  assert.ok(badHex.err);
  const badBundle = await s.call('initiate', { peer: 0, party: 5, bundle: hex('{"x":1}'), shared_secret: '', seed: '' });
  assert.equal(badBundle.err.class, 'malformed');
  assert.match(badBundle.err.detail, /bundle: field/);
  const notJsonBundle = await s.call('initiate', { peer: 0, party: 6, bundle: 'abcd', shared_secret: '', seed: '' });
  assert.equal(notJsonBundle.err.class, 'malformed');
  const [alice] = await s.session();
  assert.ok((await s.call('encrypt', { party: alice, ad: '', plaintext: '' })).ok, 'the shim still works');
  assert.equal(await s.close(), 0);
});

test('bundle: libsignal serialisations of every part, PQXDH with a Kyber pre-key', async () => {
  const zero = '00'.repeat(32);
  const { bundle } = await shim.ok('respond', { peer: 0, party: 1000, shared_secret: zero, seed: zero });
  const b = JSON.parse(Buffer.from(bundle, 'hex').toString('utf8'));
  for (const f of ['registration_id', 'device_id', 'pre_key_id', 'signed_pre_key_id', 'kyber_pre_key_id']) {
    assert.ok(Number.isSafeInteger(b[f]), `bundle has ${f}`);
  }
  // Curve25519 public keys as libsignal serialises them: type byte 0x05 || 32 bytes.
  for (const f of ['identity_key', 'pre_key', 'signed_pre_key']) {
    assert.match(b[f], /^05[0-9a-f]{64}$/, `${f} is a serialised Curve25519 key`);
  }
  // XEdDSA signatures are 64 bytes; the Kyber key is a type byte || ML-KEM/Kyber-1024 key.
  assert.equal(b.signed_pre_key_signature.length, 128);
  assert.equal(b.kyber_pre_key_signature.length, 128);
  assert.equal(b.kyber_pre_key.length, 2 * (1 + 1568));
  // A bundle whose signed pre-key signature is broken is refused by libsignal.
  const bad = { ...b, signed_pre_key_signature: flipBit(b.signed_pre_key_signature, 3) };
  const a = await shim.call('initiate', {
    peer: 0, party: 1001, shared_secret: zero, seed: zero, bundle: hex(JSON.stringify(bad)),
  });
  assert.equal(a.err?.class, 'auth', JSON.stringify(a));
  const badKyber = { ...b, kyber_pre_key_signature: flipBit(b.kyber_pre_key_signature, 3) };
  const k = await shim.call('initiate', {
    peer: 0, party: 1002, shared_secret: zero, seed: zero, bundle: hex(JSON.stringify(badKyber)),
  });
  assert.equal(k.err?.class, 'auth', JSON.stringify(k));
});

test('both directions, in and out of order; pre-key messages until the first answer', async () => {
  const [alice, bob] = await shim.session();
  const a1 = await shim.send(alice, 'a1');
  const a2 = await shim.send(alice, 'a2');
  const a3 = await shim.send(alice, 'a3');
  for (const w of [a1, a2, a3]) assert.equal(w.slice(0, 2), '03', 'a pre-key message before any answer');
  await shim.expectPlain(bob, a3, 'a3');
  await shim.expectPlain(bob, a1, 'a1');
  const b1 = await shim.send(bob, 'b1');
  assert.equal(b1.slice(0, 2), '02', 'the responder sends whisper messages');
  const b2 = await shim.send(bob, 'b2');
  await shim.expectPlain(alice, b2, 'b2');
  await shim.expectPlain(bob, a2, 'a2');
  const a4 = await shim.send(alice, 'a4');
  assert.equal(a4.slice(0, 2), '02', 'whisper messages once the responder answered');
  await shim.expectPlain(alice, b1, 'b1');
  await shim.expectPlain(bob, a4, 'a4');
  // Several ratchet turns with messages held back across turns.
  const held = [];
  for (let turn = 0; turn < 6; turn++) {
    const [from, to] = turn % 2 === 0 ? [alice, bob] : [bob, alice];
    const w1 = await shim.send(from, `t${turn}-1`);
    const w2 = await shim.send(from, `t${turn}-2`);
    held.push([to, w1, `t${turn}-1`]);
    await shim.expectPlain(to, w2, `t${turn}-2`);
  }
  for (const [to, w, t] of held.reverse()) await shim.expectPlain(to, w, t);
  await shim.expectPlain(bob, await shim.send(alice, ''), '');
});

test('replays are refused as replay, pre-key and whisper, and change nothing', async () => {
  const [alice, bob] = await shim.session();
  const a1 = await shim.send(alice, 'a1');
  await shim.expectPlain(bob, a1, 'a1');
  const e = await shim.expectErr(bob, a1, 'replay');
  assert.match(e.detail, /old counter/);
  const b1 = await shim.send(bob, 'b1');
  await shim.expectPlain(alice, b1, 'b1');
  await shim.expectErr(alice, b1, 'replay');
  const a2 = await shim.send(alice, 'a2');
  await shim.expectPlain(bob, a2, 'a2');
  await shim.expectErr(bob, a2, 'replay');
  await shim.expectErr(bob, a1, 'replay');
  await shim.expectPlain(alice, await shim.send(bob, 'b2'), 'b2');
});

test('layout names the regions; a flipped bit in each is refused and changes nothing', async () => {
  const [alice, bob] = await shim.session();
  const pre = await shim.send(alice, 'pre');
  for (const wire of [pre]) {
    const l = await shim.ok('layout', { peer: 0, wire });
    const n = wire.length / 2;
    assert.ok(l.header[0] === 0 && l.header[1] === l.body[0], 'header runs up to the body');
    assert.ok(l.body[1] <= l.mac[0] && l.mac[1] <= n && l.mac[1] - l.mac[0] === 8, '8-byte MAC after the body');
    assert.equal(l.ratchet_key[1] - l.ratchet_key[0], 33, 'the ratchet key field: 0x05 || 32 bytes');
    assert.equal(wire.slice(2 * l.ratchet_key[0], 2 * l.ratchet_key[0] + 2), '05');
    await shim.expectErr(bob, flipBit(wire, l.mac[0] + 2), 'auth');
    await shim.expectErr(bob, flipBit(wire, l.body[0] + 1), 'auth');
  }
  await shim.expectPlain(bob, pre, 'pre');
  const w = await shim.send(bob, 'whisper');
  const l = await shim.ok('layout', { peer: 0, wire: w });
  assert.deepEqual(l.mac, [w.length / 2 - 8, w.length / 2], 'a whisper message ends with its MAC');
  assert.equal(w.slice(2 * l.ratchet_key[0], 2 * l.ratchet_key[0] + 2), '05');
  await shim.expectErr(alice, flipBit(w, l.mac[0] + 5), 'auth');
  await shim.expectErr(alice, flipBit(w, l.body[0] + 3), 'auth');
  // The ratchet key itself: a key no one sent gives a chain whose MAC does not verify.
  await shim.expectErr(alice, flipBit(w, l.ratchet_key[0] + 9), 'auth');
  await shim.expectPlain(alice, w, 'whisper');
  assert.equal((await shim.call('layout', { peer: 0, wire: '07' })).err.class, 'malformed');
});

test('libsignal behaviour pinned: unauthenticated parts of a pre-key message', async () => {
  const [alice, bob] = await shim.session();
  const m0 = await shim.send(alice, 'm0');
  const m1 = await shim.send(alice, 'm1');
  // Byte 1 is the PreKeySignalMessage's version byte (0x44): libsignal reads its high
  // nibble only, and no MAC covers it (only the inner SignalMessage is MACed).
  assert.equal(m0.slice(2, 4), '44');
  const nibble = flipBit(m0, 1); // 0x45
  await shim.expectPlain(bob, m1, 'm1');
  // Once a session for the message's base key exists, libsignal skips the pre-key lookup:
  // the one-time pre-key id (field 1, a varint at bytes 3..6 after its tag at byte 2) is
  // ignored, so a copy with another id decrypts to the genuine plaintext.
  assert.equal(m0.slice(4, 6), '08', 'field 1 (pre_key_id) comes first');
  const otherId = flipBit(m0, 3);
  await shim.expectPlain(bob, otherId, 'm0');
  await shim.expectErr(bob, m0, 'replay');
  await shim.expectErr(bob, nibble, 'replay');
  const m2 = await shim.send(alice, 'm2');
  await shim.expectPlain(bob, flipBit(m2, 1), 'm2');
});

test('other associated data is auth and leaves the session as it was', async () => {
  const [alice, bob] = await shim.session();
  const a1 = await shim.send(alice, 'a1', 'one');
  await shim.expectErr(bob, a1, 'auth', 'two');
  await shim.expectPlain(bob, a1, 'a1', 'one');
  const b1 = await shim.send(bob, 'b1', '');
  await shim.expectErr(alice, b1, 'auth', 'x');
  await shim.expectPlain(alice, b1, 'b1', '');
});

test('garbage, truncation, extension, unknown type bytes are refused', async () => {
  const [alice, bob] = await shim.session();
  const a1 = await shim.send(alice, 'a1');
  await shim.expectErr(bob, '', 'malformed');
  await shim.expectErr(bob, '09', 'malformed');
  await shim.expectErr(bob, '0200', 'malformed');
  await shim.expectErr(bob, '03ffffffff', 'malformed');
  await shim.expectErr(bob, `07${a1.slice(2)}`, 'malformed');
  for (const keep of [1, 2, 10, 40, a1.length / 2 - 1]) {
    const a = await shim.recv(bob, a1.slice(0, 2 * keep));
    assert.ok(a.err, `truncated to ${keep} bytes is refused`);
  }
  await shim.expectPlain(bob, a1, 'a1');
  const b1 = await shim.send(bob, 'b1');
  const ext = await shim.recv(alice, `${b1}00`);
  // The MAC is the last 8 bytes: appending moves it, and the protobuf before it no longer parses.
  assert.ok(['auth', 'malformed'].includes(ext.err?.class), JSON.stringify(ext));
  await shim.expectPlain(alice, b1, 'b1');
});

test("another session's messages are refused", async () => {
  const [alice, bob] = await shim.session();
  const [alice2, bob2] = await shim.session();
  const foreignPre = await shim.send(alice2, 'x');
  // Another responder's pre-keys: libsignal finds no signed pre-key of that id here.
  const e = await shim.expectErr(bob, foreignPre, 'unknown-session');
  assert.match(e.detail, /signed pre-key|prekey/i);
  await shim.expectErr(alice, foreignPre, 'unknown-session');
  await shim.expectPlain(bob, await shim.send(alice, 'a1'), 'a1');
  // After the first message, another identity at the same address is untrusted.
  await shim.expectErr(bob, foreignPre, 'unknown-session');
  await shim.expectPlain(bob2, foreignPre, 'x');
  const foreignWhisper = await shim.send(bob2, 'y');
  await shim.expectErr(alice, foreignWhisper, 'auth');
  await shim.expectPlain(alice2, foreignWhisper, 'y');
  await shim.expectPlain(alice, await shim.send(bob, 'b1'), 'b1');
});

test('skipped keys: 2000 kept per chain, the oldest dropped (replay)', async () => {
  const [alice, bob] = await shim.session();
  await shim.expectPlain(bob, await shim.send(alice, 'start'), 'start');
  const b0 = await shim.send(bob, 'b0');
  await shim.expectPlain(alice, b0, 'b0');
  const sent = [];
  for (let i = 0; i < 2002; i++) sent.push(await shim.send(bob, `m${i}`));
  // Deliver the last: 2001 keys skipped, one more than MAX_MESSAGE_KEYS, so the oldest goes.
  await shim.expectPlain(alice, sent[2001], 'm2001');
  const e = await shim.expectErr(alice, sent[0], 'replay');
  assert.match(e.detail, /old counter/);
  await shim.expectPlain(alice, sent[1], 'm1');
  await shim.expectPlain(alice, sent[2000], 'm2000');
});

test('receiving chains: a chain older than the newest 5 is gone', async () => {
  const [alice, bob] = await shim.session();
  await shim.expectPlain(bob, await shim.send(alice, 'start'), 'start');
  const kept = [];
  // Each round: Bob sends (a new chain for Alice) with one message held back, Alice answers.
  for (let round = 0; round < 7; round++) {
    const held = await shim.send(bob, `held${round}`);
    await shim.expectPlain(alice, await shim.send(bob, `r${round}`), `r${round}`);
    kept.push(held);
    await shim.expectPlain(bob, await shim.send(alice, `x${round}`), `x${round}`);
  }
  // Alice's receiving chains: rounds 0..6; libsignal keeps the newest 5 (rounds 2..6).
  const old = await shim.recv(alice, kept[0]);
  assert.ok(old.err, `a message of a dropped chain is refused, got ${JSON.stringify(old)}`);
  await shim.expectPlain(alice, kept[6], 'held6');
  await shim.expectPlain(alice, kept[2], 'held2');
});

test('export and restore: the restored party decrypts and sends as the original', async () => {
  const [alice, bob] = await shim.session();
  await shim.expectPlain(bob, await shim.send(alice, 'a1'), 'a1');
  const b1 = await shim.send(bob, 'b1');
  const { state } = await shim.ok('export', { party: alice });
  const j = JSON.parse(Buffer.from(state, 'hex').toString('utf8'));
  assert.ok(j.identity_key_pair && j.sessions.length === 1, 'the state holds the identity and the session');
  const copy = 5000;
  const zero = '00'.repeat(32);
  await shim.ok('restore', { peer: 0, party: copy, state, seed: zero });
  await shim.expectPlain(copy, b1, 'b1');
  await shim.expectPlain(alice, b1, 'b1');
  await shim.expectPlain(bob, await shim.send(copy, 'from the copy'), 'from the copy');
  const bad = await shim.call('restore', { peer: 0, party: copy + 1, state: hex('{"format":1}'), seed: zero });
  assert.equal(bad.err?.class, 'malformed');
  await shim.ok('drop', { party: copy });
  assert.ok((await shim.call('encrypt', { party: copy, ad: '', plaintext: '' })).err, 'a dropped party is gone');
});

test('forward jumps: 25,001 refused by the ratchet, 25,000 by SPQR, 24,999 accepted', { skip: QUICK }, async () => {
  const [alice, bob] = await shim.session();
  await shim.expectPlain(bob, await shim.send(alice, 'start'), 'start');
  const b0 = await shim.send(bob, 'b0');
  await shim.expectPlain(alice, b0, 'b0');
  // Alice next expects counter 1 in Bob's chain; message m[i] has counter i + 1, so taking
  // it skips i keys. MAX_FORWARD_JUMPS (25,000) allows m[25000]; SPQR's chain, one index
  // ahead (its first message is 1) and refusing a jump above its MAX_JUMP (25,000) from
  // the last index received, allows m[24999] only.
  const m = [];
  for (let i = 0; i <= 25001; i++) m.push(await shim.send(bob, `m${i}`));
  const dr = await shim.expectErr(alice, m[25001], 'too-far-ahead');
  assert.match(dr.detail, /too far into the future/, 'the Double Ratchet check (consts.rs)');
  const pq = await shim.expectErr(alice, m[25000], 'too-far-ahead');
  assert.match(pq.detail, /Key jump: 1 - 25002/, "SPQR's check (chain.rs MAX_JUMP)");
  await shim.expectPlain(alice, m[24999], 'm24999');
  await shim.expectPlain(alice, m[25001], 'm25001');
  await shim.expectPlain(alice, m[25000], 'm25000');
  // Skipped keys kept within 2000 of the newest: m[24000] decrypts, m[0] is gone.
  await shim.expectPlain(alice, m[24000], 'm24000');
  await shim.expectErr(alice, m[0], 'replay');
});

test('cost: one encrypt + decrypt round trip (median, through the pipe and in-process)', async () => {
  const [alice, bob] = await shim.session();
  await shim.expectPlain(bob, await shim.send(alice, 'warm'), 'warm');
  await shim.expectPlain(alice, await shim.send(bob, 'warm'), 'warm');
  const times = [];
  const pt = 'x'.repeat(1024);
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    const w = await shim.send(alice, pt);
    const a = await shim.recv(bob, w);
    times.push(performance.now() - t0);
    assert.ok(a.ok);
  }
  times.sort((x, y) => x - y);
  const median = times[Math.floor(times.length / 2)];
  console.log(`# shim round trip (encrypt + decrypt of 1 KiB through the pipe): median ${(median * 1000).toFixed(0)} us`);
});
