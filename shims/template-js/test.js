// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// Drives shim.js over stdin / stdout exactly as the bench does (JSON lines, protocol v1):
// the skeleton's hello and `unimplemented` answers, every request of the echo mode, the
// asks of `--echo --host-rng` answered from a generator per party, and that the JavaScript
// and the Python template (../template/shim.py) answer the same requests with the same
// lines, byte for byte. Run: `node test.js` (or `npm test`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const JS = fileURLToPath(new URL('./shim.js', import.meta.url));
const PY = fileURLToPath(new URL('../template/shim.py', import.meta.url));
const HAVE_PYTHON = spawnSync('python3', ['--version']).status === 0;

/** A party's random stream as the test's stand-in for the bench's generator: SHA-256 of
 * (label, block number) blocks, so that the expected bytes are computed independently. */
class Stream {
  constructor(label) {
    this.label = label;
    this.buf = Buffer.alloc(0);
    this.block = 0;
    this.drawn = 0;
  }

  take(n) {
    while (this.buf.length < n) {
      const h = createHash('sha256').update(`${this.label}/${this.block++}`).digest();
      this.buf = Buffer.concat([this.buf, h]);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.drawn += n;
    return out;
  }

  /** The bytes [skip, skip + n) of a fresh stream with this label. */
  static bytes(label, skip, n) {
    return new Stream(label).take(skip + n).subarray(skip);
  }
}

/** The bench's side of the protocol: one request, its asks answered, then its answer. */
class Driver {
  constructor(argv) {
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.child.stderr.on('data', (d) => {
      this.stderr += d;
    });
    this.waiting = [];
    this.lines = [];
    this.seen = []; // every line the shim wrote, for comparing two shims
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.seen.push(line);
      const w = this.waiting.shift();
      if (w) w(line);
      else this.lines.push(line);
    });
    this.id = 0;
    this.streams = new Map(); // party -> Stream
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

  /** Sends a request; answers its asks from `party`'s stream; returns the answer. */
  async call(op, fields = {}, party = fields.party) {
    const id = ++this.id;
    this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    for (;;) {
      const msg = JSON.parse(await this.next());
      assert.equal(msg.id, id, `the shim's line carries the request's id: ${JSON.stringify(msg)}`);
      if (!('random' in msg)) return msg;
      assert.ok(Number.isInteger(msg.random) && msg.random >= 1 && msg.random <= 4096, `an ask of 1..4096: ${msg.random}`);
      assert.ok(party !== undefined, `${op} asked for random bytes but is about no party`);
      if (!this.streams.has(party)) this.streams.set(party, new Stream(`party ${party}`));
      this.child.stdin.write(`${JSON.stringify({ id, random: this.streams.get(party).take(msg.random).toString('hex') })}\n`);
    }
  }

  async ok(op, fields, party) {
    const a = await this.call(op, fields, party);
    assert.ok(a.ok, `${op} should succeed, got ${JSON.stringify(a)}`);
    return a.ok;
  }

  async close() {
    this.child.stdin.end();
    return new Promise((r) => this.child.on('exit', r));
  }
}

const jsShim = (...args) => new Driver([process.execPath, JS, ...args]);
const pyShim = (...args) => new Driver(['python3', PY, ...args]);
const hex = (s) => Buffer.from(s, 'utf8').toString('hex');
const zero = '00'.repeat(32);
const seed = (n) => n.toString(16).padStart(2, '0').repeat(32);

test('the skeleton: a valid hello, every request unimplemented', async () => {
  const s = jsShim();
  const h = await s.ok('hello', { protocol: 1, features: ['host_rng'] });
  assert.equal(h.protocol, 1);
  assert.equal(h.implementation, 'my-ratchet');
  assert.equal(h.peers.length, 1);
  assert.equal(h.peers[0].family, 'signal-dr');
  assert.deepEqual(h.peers[0].capabilities, { injectable_rng: false, export_state: false, host_rng: false });
  const r = await s.call('respond', { peer: 0, party: 1, shared_secret: zero, seed: zero });
  assert.equal(r.unimplemented, 'respond: connect your library here');
  const l = await s.call('layout', { peer: 0, wire: 'abcd' });
  assert.equal(l.unimplemented, 'layout: the bench then treats the whole message as body');
  const e = await s.call('encrypt', { party: 1, ad: '', plaintext: '' });
  assert.deepEqual(e.err, { class: 'unknown-session', detail: 'no party 1' });
  assert.equal(await s.close(), 0, 'exits with status 0 when stdin closes');
});

test('echo: every request, the wire format, refusals, export and restore', async () => {
  const s = jsShim('--echo');
  const h = await s.ok('hello', { protocol: 1 });
  assert.equal(h.implementation, 'template-echo');
  assert.equal(h.version, '1 (no cryptography)');
  const p = h.peers[0];
  assert.equal(p.family, 'signal-dr');
  assert.deepEqual(p.capabilities, { injectable_rng: false, export_state: true, host_rng: false });
  assert.equal(p.limits.max_skip, 2 ** 31 - 1);
  assert.ok(p.weakened.length === 1 && /no encryption/.test(p.weakened[0]), 'the hello says it is no ratchet');

  const { bundle } = await s.ok('respond', { peer: 0, party: 1, shared_secret: zero, seed: seed(7) });
  // The session id: the first 16 bytes of SHA-256("echo session" || seed).
  const want = createHash('sha256').update('echo session').update(Buffer.from(seed(7), 'hex')).digest();
  assert.equal(bundle, want.subarray(0, 16).toString('hex'));
  await s.ok('initiate', { peer: 0, party: 2, shared_secret: zero, bundle, seed: seed(8) });
  assert.deepEqual(await s.ok('handshake', { party: 2 }), { handshake: null });
  const m0 = (await s.ok('encrypt', { party: 2, ad: hex('ad'), plaintext: hex('first') })).wire;
  const m1 = (await s.ok('encrypt', { party: 2, ad: hex('ad'), plaintext: hex('second') })).wire;
  // "ECHO" || counter 1 || "second" || SHA-256(session || len(ad) || ad || rest)[..8]
  const body = Buffer.concat([Buffer.from('ECHO'), Buffer.from([0, 0, 0, 1]), Buffer.from('second')]);
  const tag = createHash('sha256')
    .update(Buffer.from(bundle, 'hex'))
    .update(Buffer.from([0, 0, 0, 2]))
    .update('ad')
    .update(body)
    .digest()
    .subarray(0, 8);
  assert.equal(m1, Buffer.concat([body, tag]).toString('hex'));
  assert.deepEqual(await s.ok('decrypt', { party: 1, ad: hex('ad'), wire: m1 }), { plaintext: hex('second') });
  const replay = await s.call('decrypt', { party: 1, ad: hex('ad'), wire: m1 });
  assert.deepEqual(replay.err, { class: 'replay', detail: 'counter 1 already received' });
  const otherAd = await s.call('decrypt', { party: 1, ad: hex('other ad'), wire: m0 });
  assert.deepEqual(otherAd.err, { class: 'auth', detail: 'checksum mismatch' });
  const short = await s.call('decrypt', { party: 1, ad: hex('ad'), wire: hex('xy') });
  assert.deepEqual(short.err, { class: 'malformed', detail: 'not an echo message (2 bytes)' });
  assert.deepEqual(await s.ok('layout', { peer: 0, wire: m1 }), {
    header: [0, 8],
    body: [8, 14],
    mac: [14, 22],
    ratchet_key: null,
  });
  const { state } = await s.ok('export', { party: 1 });
  assert.equal(
    Buffer.from(state, 'hex').toString(),
    `{"session": "${bundle}", "sent": 0, "seen": [1]}`,
    "the Python template's json.dumps",
  );
  await s.ok('restore', { peer: 0, party: 3, state, seed: seed(9) });
  assert.deepEqual(await s.ok('decrypt', { party: 3, ad: hex('ad'), wire: m0 }), { plaintext: hex('first') });
  assert.equal((await s.call('decrypt', { party: 3, ad: hex('ad'), wire: m1 })).err.class, 'replay');
  assert.deepEqual(await s.ok('decrypt', { party: 1, ad: hex('ad'), wire: m0 }), { plaintext: hex('first') });
  const bad = await s.call('restore', { peer: 0, party: 4, state: hex('{"x": 1}'), seed: zero });
  assert.equal(bad.err.class, 'malformed');
  await s.ok('drop', { party: 3 });
  assert.equal((await s.call('encrypt', { party: 3, ad: '', plaintext: '' })).err.class, 'unknown-session');
  const reply = (await s.ok('encrypt', { party: 1, ad: '', plaintext: '' })).wire;
  assert.deepEqual(await s.ok('decrypt', { party: 2, ad: '', wire: reply }), { plaintext: '' });
  assert.equal((await s.call('join', { party: 1, handshake: '' })).unimplemented, 'join: this family needs no handshake');
  const notJson = JSON.parse(await s.raw('{not json'));
  assert.equal(notJson.id, -1);
  assert.equal(notJson.err.class, 'other');
  assert.equal(await s.close(), 0);
});

test('echo --host-rng: session ids and nonces come from the asking party', async () => {
  const s = jsShim('--echo', '--host-rng');
  const h = await s.ok('hello', { protocol: 1, features: ['host_rng'] });
  assert.equal(h.version, '1 (no cryptography, host randomness)');
  assert.equal(h.peers[0].capabilities.host_rng, true);
  // No seed in the requests: the parties ask.
  const { bundle } = await s.ok('respond', { peer: 0, party: 1, shared_secret: zero });
  assert.equal(bundle, Stream.bytes('party 1', 0, 16).toString('hex'), "the session id: the responder's first 16 bytes");
  await s.ok('initiate', { peer: 0, party: 2, shared_secret: zero, bundle });
  const m0 = Buffer.from((await s.ok('encrypt', { party: 2, ad: hex('ad'), plaintext: hex('x') })).wire, 'hex');
  const m1 = Buffer.from((await s.ok('encrypt', { party: 2, ad: hex('ad'), plaintext: hex('y') })).wire, 'hex');
  assert.deepEqual(m0.subarray(9, 13), Stream.bytes('party 2', 0, 4), 'a 4-byte nonce after the plaintext');
  assert.deepEqual(m1.subarray(9, 13), Stream.bytes('party 2', 4, 4));
  assert.deepEqual(await s.ok('decrypt', { party: 1, ad: hex('ad'), wire: m1.toString('hex') }), { plaintext: hex('y') });
  const r0 = Buffer.from((await s.ok('encrypt', { party: 1, ad: hex('ad'), plaintext: hex('z') })).wire, 'hex');
  assert.deepEqual(r0.subarray(9, 13), Stream.bytes('party 1', 16, 4), 'after the 16 bytes of its session id');
  const { state } = await s.ok('export', { party: 1 });
  await s.ok('restore', { peer: 0, party: 3, state });
  const c0 = Buffer.from((await s.ok('encrypt', { party: 3, ad: hex('ad'), plaintext: hex('w') })).wire, 'hex');
  assert.deepEqual(c0.subarray(9, 13), Stream.bytes('party 3', 0, 4), 'the restored party draws from its own stream');
  assert.deepEqual(await s.ok('decrypt', { party: 2, ad: hex('ad'), wire: r0.toString('hex') }), { plaintext: hex('z') });
  assert.deepEqual((await s.ok('layout', { peer: 0, wire: m0.toString('hex') })).header, [0, 8], 'layout asks for nothing');
  assert.equal(s.streams.get(1).drawn, 20);
  assert.equal(s.streams.get(2).drawn, 8);
  assert.equal(await s.close(), 0);

  // A bench that does not offer host_rng: no asks, the seed instead.
  const old = jsShim('--echo', '--host-rng');
  const oh = await old.ok('hello', { protocol: 1 });
  assert.equal(oh.peers[0].capabilities.host_rng, false);
  await old.ok('respond', { peer: 0, party: 1, shared_secret: zero, seed: seed(1) });
  assert.equal(old.streams.size, 0, 'no asks without the feature');
  assert.equal(await old.close(), 0);
});

test('a 1 MiB plaintext passes through the line reader and back whole', async () => {
  const s = jsShim('--echo');
  await s.ok('hello', { protocol: 1 });
  const { bundle } = await s.ok('respond', { peer: 0, party: 1, shared_secret: zero, seed: zero });
  await s.ok('initiate', { peer: 0, party: 2, shared_secret: zero, bundle, seed: zero });
  const big = Buffer.alloc(1 << 20, 0x61).toString('hex');
  const { wire } = await s.ok('encrypt', { party: 2, ad: '', plaintext: big });
  assert.equal((await s.ok('decrypt', { party: 1, ad: '', wire })).plaintext, big);
  assert.equal(await s.close(), 0);
});

test('random(n) over 4096 bytes is split into asks of at most 4096', async () => {
  // A shim made from the template (its exports, as a user's shim would import them) whose
  // respond draws 10,000 bytes and returns them as the bundle.
  const code = `
    import { Implementation, Shim, random } from ${JSON.stringify(JS)};
    class Big extends Implementation {
      hostRng = true;
      respond() { const b = random(10000); return [{}, b]; }
    }
    await new Shim([new Big()]).serve();
  `;
  const s = new Driver([process.execPath, '--input-type=module', '-e', code]);
  const h = await s.ok('hello', { protocol: 1, features: ['host_rng'] });
  assert.equal(h.peers[0].capabilities.host_rng, true);
  const seenBefore = s.seen.length;
  const { bundle } = await s.ok('respond', { peer: 0, party: 1, shared_secret: zero });
  const asks = s.seen.slice(seenBefore).map((l) => JSON.parse(l)).filter((m) => 'random' in m).map((m) => m.random);
  assert.deepEqual(asks, [4096, 4096, 1808]);
  assert.equal(bundle, Stream.bytes('party 1', 0, 10000).toString('hex'));
  assert.equal(await s.close(), 0);
});

test('the JavaScript and the Python template answer the same requests byte for byte', { skip: !HAVE_PYTHON && 'python3 is not installed' }, async () => {
  for (const args of [['--echo'], ['--echo', '--host-rng'], ['--echo', '--own-family'], []]) {
    const both = [jsShim(...args), pyShim(...args)];
    const script = async (s) => {
      await s.call('hello', { protocol: 1, features: ['host_rng'] });
      const b = await s.call('respond', { peer: 0, party: 1, shared_secret: zero, seed: seed(3) });
      const bundle = b.ok ? b.ok.bundle : '00'.repeat(16);
      await s.call('initiate', { peer: 0, party: 2, shared_secret: zero, bundle, seed: seed(4) });
      await s.call('initiate', { peer: 0, party: 9, shared_secret: zero, bundle: 'abcd', seed: seed(4) });
      await s.call('handshake', { party: 2 });
      const wires = [];
      for (const [i, pt] of ['', 'a', 'hello there'].entries()) {
        const a = await s.call('encrypt', { party: 2, ad: hex(`ad${i}`), plaintext: hex(pt) });
        wires.push(a.ok ? a.ok.wire : '');
      }
      for (const w of [wires[2], wires[0], wires[2], wires[1]]) await s.call('decrypt', { party: 1, ad: hex('ad2'), wire: w });
      await s.call('decrypt', { party: 1, ad: '', wire: '45434830' });
      for (const w of wires) await s.call('layout', { peer: 0, wire: w });
      await s.call('layout', { peer: 0, wire: '0102' });
      await s.call('layout', { peer: 5, wire: '0102' });
      const st = await s.call('export', { party: 1 });
      await s.call('restore', { peer: 0, party: 3, state: st.ok ? st.ok.state : '', seed: seed(5) });
      await s.call('encrypt', { party: 3, ad: '', plaintext: hex('from the copy') });
      await s.call('drop', { party: 3 });
      await s.call('encrypt', { party: 3, ad: '', plaintext: '' });
      await s.call('join', { party: 1, handshake: '00' });
      await s.call('fly', {});
    };
    for (const s of both) {
      await script(s);
      assert.equal(await s.close(), 0);
    }
    assert.ok(both[0].seen.length > 20);
    assert.deepEqual(both[0].seen, both[1].seen, `the same lines for ${args.join(' ') || 'the skeleton'}`);
  }
});

test('encrypt_many and wire_layout: the wires of one encrypt each, layouts with them, in both templates', { skip: !HAVE_PYTHON && 'python3 is not installed' }, async () => {
  for (const args of [['--echo'], ['--echo', '--host-rng']]) {
    const both = [jsShim(...args), pyShim(...args)];
    for (const s of both) {
      const h = await s.ok('hello', { protocol: 1, features: ['host_rng', 'encrypt_many', 'wire_layout'] });
      assert.deepEqual(h.features, ['encrypt_many', 'wire_layout']);
      const { bundle } = await s.ok('respond', { peer: 0, party: 1, shared_secret: zero, seed: seed(3) });
      await s.ok('initiate', { peer: 0, party: 2, shared_secret: zero, bundle, seed: seed(4) });
      const one = await s.ok('encrypt', { party: 2, ad: hex('ad'), plaintext: hex('lost') });
      const many = await s.ok('encrypt_many', { party: 2, ad: hex('ad'), plaintext: hex('lost'), count: 3 });
      assert.equal(many.wires.length, 3);
      assert.equal(many.refused, undefined);
      const wires = [one.wire, ...many.wires];
      const layouts = [one.layout, ...many.layouts];
      // Counters 0 to 3 in a row, as four encrypts would make them.
      wires.forEach((w, i) => assert.equal(w.slice(8, 16), i.toString(16).padStart(8, '0')));
      for (const [i, w] of wires.entries()) assert.deepEqual(layouts[i], await s.ok('layout', { peer: 0, wire: w }));
      assert.equal((await s.ok('decrypt', { party: 1, ad: hex('ad'), wire: wires[3] })).plaintext, hex('lost'));
      assert.equal((await s.call('encrypt_many', { party: 2, ad: '', plaintext: '', count: 0 })).err.class, 'other');
      assert.ok((await s.call('encrypt_many', { party: 7, ad: '', plaintext: '', count: 2 })).err);
      assert.equal(await s.close(), 0);
    }
    assert.deepEqual(both[0].seen, both[1].seen, `the same lines for ${args.join(' ')}`);
  }
});

test('cost: one echo encrypt + decrypt round trip through the pipe (median)', async () => {
  const s = jsShim('--echo');
  await s.ok('hello', { protocol: 1 });
  const { bundle } = await s.ok('respond', { peer: 0, party: 1, shared_secret: zero, seed: zero });
  await s.ok('initiate', { peer: 0, party: 2, shared_secret: zero, bundle, seed: zero });
  const pt = 'x'.repeat(1024);
  const times = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    const { wire } = await s.ok('encrypt', { party: 2, ad: '', plaintext: hex(pt) });
    await s.ok('decrypt', { party: 1, ad: '', wire });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`# echo round trip (encrypt + decrypt of 1 KiB through the pipe): median ${(times[150] * 1000).toFixed(0)} us`);
  assert.equal(await s.close(), 0);
});
