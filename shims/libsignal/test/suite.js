// SPDX-License-Identifier: AGPL-3.0-only
//
// One release, one family, through the pipe as the bench drives it: the hello, set-up, both
// directions, out of order, replays, tampering, other associated data, garbage, another
// session's messages, the declared limits at their edges (the 2,001st skipped key, the sixth
// chain, the forward jump), export / restore, and that a refusal changes nothing. The
// family's own tests (its bundle) are in libsignal-family.js and signal-v3.js.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { QUICK, Shim, ZERO, flipBit, hex } from './pipe.js';

/** The limits every release declares (rust/protocol/src/consts.rs, the same at each tag). */
export const DECLARED_LIMITS = {
  max_skip: 25000,
  max_stored: null,
  max_stored_per_chain: 2000,
  when_full: 'evict-oldest',
  window: null,
  max_chains: 5,
};

/**
 * `r`: `{name, args, version, family, versionByte, spqr, extra}`: the release's name and
 * shim arguments, the exact version its hello must report, its family, the version byte of
 * its messages (hex), whether its sessions run SPQR, and a function registering the
 * family's own tests (given a getter for the suite's shim).
 */
export function releaseSuite(r) {
  describe(`libsignal ${r.version} (${r.family})`, () => {
    let shim;
    const s = () => shim;
    before(async () => {
      shim = new Shim(r.args);
      await shim.ok('hello', { protocol: 1 });
    });
    after(async () => {
      assert.equal(await shim.close(), 0, 'the shim exits with status 0 when stdin closes');
    });

    test('hello: protocol 1, the exact installed version, the family, limits from consts.rs', async () => {
      const t0 = performance.now();
      const x = new Shim(r.args);
      const h = await x.ok('hello', { protocol: 1 });
      const ms = performance.now() - t0;
      console.log(`# ${r.version}: shim start and hello (library load) ${ms.toFixed(0)} ms`);
      assert.equal(h.protocol, 1);
      assert.equal(h.implementation, 'libsignal-client');
      assert.equal(h.version, r.version, 'the version pinned in package.json');
      assert.equal(h.peers.length, 1);
      const p = h.peers[0];
      assert.equal(p.family, r.family);
      assert.deepEqual(p.limits, DECLARED_LIMITS);
      // libsignal draws from the operating system: no seed, no host_rng, in every release.
      assert.deepEqual(p.capabilities, { injectable_rng: false, export_state: true });
      assert.deepEqual(p.weakened, []);
      const bad = await x.call('hello', { protocol: 2 });
      assert.ok(bad.err, 'another protocol version is refused');
      assert.equal(await x.close(), 0);
    });

    test('a request before hello, unknown ops and non-JSON lines get answers, not a dead shim', async () => {
      const x = new Shim(r.args);
      const early = await x.call('encrypt', { party: 1, ad: '', plaintext: '' });
      assert.ok(early.err);
      await x.ok('hello', { protocol: 1 });
      const unknown = await x.call('fly', {});
      assert.ok(typeof unknown.unimplemented === 'string');
      const garbage = JSON.parse(await x.raw('{not json'));
      assert.equal(garbage.err.class, 'malformed');
      const noParty = await x.call('encrypt', { party: 99, ad: '', plaintext: '' });
      assert.ok(noParty.err);
      const badHex = await x.call('encrypt', { party: 99, ad: 'ZZ', plaintext: '' });
      assert.ok(badHex.err);
      const badBundle = await x.call('initiate', { peer: 0, party: 5, bundle: hex('{"x":1}'), shared_secret: '', seed: '' });
      assert.equal(badBundle.err.class, 'malformed');
      assert.match(badBundle.err.detail, r.family === 'libsignal' ? /bundle: field/ : /bundle: 7 bytes/);
      const notJsonBundle = await x.call('initiate', { peer: 0, party: 6, bundle: 'abcd', shared_secret: '', seed: '' });
      assert.equal(notJsonBundle.err.class, 'malformed');
      const [alice] = await x.session();
      assert.ok((await x.call('encrypt', { party: alice, ad: '', plaintext: '' })).ok, 'the shim still works');
      assert.equal(await x.close(), 0);
    });

    r.extra(s);

    test('both directions, in and out of order; pre-key messages until the first answer', async () => {
      const [alice, bob] = await shim.session();
      const a1 = await shim.send(alice, 'a1');
      const a2 = await shim.send(alice, 'a2');
      const a3 = await shim.send(alice, 'a3');
      for (const w of [a1, a2, a3]) {
        assert.equal(w.slice(0, 2), '03', 'a pre-key message before any answer');
        assert.equal(w.slice(2, 4), r.versionByte, "the pre-key message's version byte");
      }
      await shim.expectPlain(bob, a3, 'a3');
      await shim.expectPlain(bob, a1, 'a1');
      const b1 = await shim.send(bob, 'b1');
      assert.equal(b1.slice(0, 2), '02', 'the responder sends whisper messages');
      assert.equal(b1.slice(2, 4), r.versionByte, "the whisper message's version byte");
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
      const l = await shim.ok('layout', { peer: 0, wire: pre });
      const n = pre.length / 2;
      assert.ok(l.header[0] === 0 && l.header[1] === l.body[0], 'header runs up to the body');
      assert.ok(l.body[1] <= l.mac[0] && l.mac[1] <= n && l.mac[1] - l.mac[0] === 8, '8-byte MAC after the body');
      assert.equal(l.ratchet_key[1] - l.ratchet_key[0], 33, 'the ratchet key field: 0x05 || 32 bytes');
      assert.equal(pre.slice(2 * l.ratchet_key[0], 2 * l.ratchet_key[0] + 2), '05');
      await shim.expectErr(bob, flipBit(pre, l.mac[0] + 2), 'auth');
      await shim.expectErr(bob, flipBit(pre, l.body[0] + 1), 'auth');
      await shim.expectPlain(bob, pre, 'pre');
      const w = await shim.send(bob, 'whisper');
      const lw = await shim.ok('layout', { peer: 0, wire: w });
      assert.deepEqual(lw.mac, [w.length / 2 - 8, w.length / 2], 'a whisper message ends with its MAC');
      assert.equal(w.slice(2 * lw.ratchet_key[0], 2 * lw.ratchet_key[0] + 2), '05');
      await shim.expectErr(alice, flipBit(w, lw.mac[0] + 5), 'auth');
      await shim.expectErr(alice, flipBit(w, lw.body[0] + 3), 'auth');
      // The ratchet key itself: a key no one sent gives a chain whose MAC does not verify.
      await shim.expectErr(alice, flipBit(w, lw.ratchet_key[0] + 9), 'auth');
      // The whisper message's version byte is covered by the MAC.
      await shim.expectErr(alice, flipBit(w, 1), 'auth');
      await shim.expectPlain(alice, w, 'whisper');
      assert.equal((await shim.call('layout', { peer: 0, wire: '07' })).err.class, 'malformed');
    });

    test('libsignal behaviour pinned: unauthenticated parts of a pre-key message', async () => {
      const [alice, bob] = await shim.session();
      const m0 = await shim.send(alice, 'm0');
      const m1 = await shim.send(alice, 'm1');
      // Byte 1 is the PreKeySignalMessage's version byte: libsignal reads its high nibble
      // only, and no MAC covers it (only the inner SignalMessage is MACed).
      assert.equal(m0.slice(2, 4), r.versionByte);
      const nibble = flipBit(m0, 1);
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

    test('skipped keys: 2000 kept per chain, the 2,001st skipped drops the oldest (replay)', async () => {
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
      const sixth = await shim.recv(alice, kept[1]);
      assert.ok(sixth.err, `the sixth newest chain is gone too, got ${JSON.stringify(sixth)}`);
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
      await shim.ok('restore', { peer: 0, party: copy, state, seed: ZERO });
      await shim.expectPlain(copy, b1, 'b1');
      await shim.expectPlain(alice, b1, 'b1');
      await shim.expectPlain(bob, await shim.send(copy, 'from the copy'), 'from the copy');
      const bad = await shim.call('restore', { peer: 0, party: copy + 1, state: hex('{"format":1}'), seed: ZERO });
      assert.equal(bad.err?.class, 'malformed');
      await shim.ok('drop', { party: copy });
      assert.ok((await shim.call('encrypt', { party: copy, ad: '', plaintext: '' })).err, 'a dropped party is gone');
    });

    const jump = r.spqr
      ? 'forward jumps: 25,001 refused by the ratchet, 25,000 by SPQR, 24,999 accepted'
      : 'forward jumps: 25,001 refused by the ratchet, 25,000 accepted (no SPQR)';
    test(jump, { skip: QUICK && 'LIBSIGNAL_SHIM_QUICK=1' }, async () => {
      const [alice, bob] = await shim.session();
      await shim.expectPlain(bob, await shim.send(alice, 'start'), 'start');
      const b0 = await shim.send(bob, 'b0');
      await shim.expectPlain(alice, b0, 'b0');
      // Alice next expects counter 1 in Bob's chain; message m[i] has counter i + 1, so taking
      // it skips i keys. MAX_FORWARD_JUMPS (25,000) allows m[25000]. Where SPQR runs, its
      // chain is one index ahead (its first message is 1) and refuses a jump above its
      // max_jump (libsignal passes MAX_FORWARD_JUMPS) from the last index received: it
      // allows m[24999] only.
      const m = [];
      for (let i = 0; i <= 25001; i++) m.push(await shim.send(bob, `m${i}`));
      const dr = await shim.expectErr(alice, m[25001], 'too-far-ahead');
      assert.match(dr.detail, /too far into the future/, 'the Double Ratchet check (consts.rs)');
      if (r.spqr) {
        const pq = await shim.expectErr(alice, m[25000], 'too-far-ahead');
        assert.match(pq.detail, /Key jump: 1 - 25002/, "SPQR's check (chain.rs MAX_JUMP)");
        await shim.expectPlain(alice, m[24999], 'm24999');
        await shim.expectPlain(alice, m[25001], 'm25001');
        await shim.expectPlain(alice, m[25000], 'm25000');
        // Skipped keys kept within 2000 of the newest: m[24000] decrypts, m[0] is gone.
        await shim.expectPlain(alice, m[24000], 'm24000');
        await shim.expectErr(alice, m[0], 'replay');
      } else {
        await shim.expectPlain(alice, m[25000], 'm25000');
        await shim.expectPlain(alice, m[25001], 'm25001');
        // The Double Ratchet keeps the newest 2000 skipped keys of the chain (m[23000..24999]).
        await shim.expectPlain(alice, m[23000], 'm23000');
        await shim.expectErr(alice, m[22999], 'replay');
      }
    });

    test('cost: one encrypt + decrypt round trip (median, through the pipe)', async () => {
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
      console.log(`# ${r.version}: shim round trip (encrypt + decrypt of 1 KiB through the pipe): median ${(median * 1000).toFixed(0)} us`);
    });
  });
}
