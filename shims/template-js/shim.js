#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// A ratchet-bench shim skeleton in JavaScript (shim protocol version 1, see ../PROTOCOL.md),
// the counterpart of ../template/shim.py. Node.js 20 or later, no dependencies.
//
// Copy this file (with package.json beside it, or rename it shim.mjs) into your project,
// then fill in `Implementation` with calls into your ratchet library. Everything else -- the
// JSON-lines framing, the hello, the dispatch of requests, the table of parties, the mapping
// of errors, the asks for random bytes -- is done here and needs no change.
//
//     node shim.js            the skeleton: a valid hello, every request `unimplemented`
//     node shim.js --echo     a stand-in with no cryptography at all, used only by the
//                             bench's own tests and its benchmark of the shim host (below)
//     node shim.js --echo --host-rng
//                             the same, drawing its session ids and nonces from the bench
//                             (the protocol's optional host_rng feature, below)
//     node shim.js --echo --own-family
//                             the same, declaring a family of its own ("template-echo")
//                             instead of claiming signal-dr (the hello's `declares`)
//
// Randomness: if your library lets you pass it random bytes (or lets you replace the
// function it draws from), declare `host_rng` (`hostRng = true`) and take every random byte
// from `random(n)` while handling a request: the bench answers from the party's own
// generator, so your bytes can be compared with the other peers' byte for byte and the
// bench's vectors replay on your shim. Otherwise take them from the `seed` (or the OS) and
// leave `hostRng = false`.
//
// Check your shim with:
//
//     ratchet-bench list --peer shim:mine="node path/to/shim.js"
//     ratchet-bench run  --peer shim:mine="node path/to/shim.js" --peer reference
//
// Input and output are synchronous (fs.readSync / fs.writeSync on file descriptors 0 and 1),
// so that `random(n)` can ask the bench and wait for its answer in the middle of a library
// call that draws synchronously, as most do. Requests may still be async: the shim awaits
// each answer before it reads the next request.

import { createHash } from 'node:crypto';
import { readSync, writeSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const PROTOCOL = 1;

/**
 * The implementation refused an input: becomes an `err` answer.
 *
 * `klass` is one of the protocol's canonical classes; `detail` should be your library's own
 * error text, so that a person reading a finding sees what it said.
 */
export class Refused extends Error {
  static CLASSES = ['auth', 'replay', 'too-far-ahead', 'malformed', 'storage-full', 'unknown-session', 'other'];

  constructor(klass, detail) {
    super(String(detail));
    this.klass = Refused.CLASSES.includes(klass) ? klass : 'other';
    this.detail = String(detail);
  }
}

/**
 * The shim does not support this request: becomes an `unimplemented` answer (not a finding;
 * the bench treats the capability as absent).
 */
export class Unimplemented extends Error {}

/**
 * Maps your library's errors onto the canonical classes, as precisely as its error types
 * allow. Replace the examples with your library's error types or codes.
 */
export function classify(error) {
  const type = error && error.name ? error.name : typeof error;
  const text = error && error.message !== undefined ? error.message : String(error);
  const name = type.toLowerCase();
  if (name.includes('mac') || name.includes('auth') || name.includes('signature')) {
    return new Refused('auth', `${type}: ${text}`);
  }
  if (name.includes('duplicate') || name.includes('replay')) return new Refused('replay', `${type}: ${text}`);
  if (name.includes('decode') || name.includes('parse') || name.includes('syntax')) {
    return new Refused('malformed', `${type}: ${text}`);
  }
  return new Refused('other', `${type}: ${text}`);
}

// ---------------------------------------------------------------------------------------
// Your implementation goes here.
// ---------------------------------------------------------------------------------------

/**
 * One peer: replace each method's body with calls into your library.
 *
 * A *party* is whatever object your library uses for one side of a session; return it from
 * `respond` / `initiate` / `restore` and it is handed back to the other methods. Byte
 * arguments and results are `Uint8Array`s (Buffers are fine). Methods may be `async`.
 * Throw `Refused` (or let your library's own error through: `classify` maps it) to refuse,
 * `Unimplemented` for what you do not support.
 */
export class Implementation {
  // What the hello says. Take the limits from your library's source and say where in your
  // README: the oracle holds the implementation to them.
  implementation = 'my-ratchet';
  version = '0.0.0';
  family = 'signal-dr'; // signal-dr, signal-v3, dr2, mls, olm, megolm or libsignal
  // A wire format the bench does not know: name it in `family` and describe it here, with
  // what the oracles need (see PROTOCOL.md, "A family of your own"); null for a built-in
  // family. For example:
  // declares = { description: "my messenger's ratchet, v2 wire format",
  //              ratchets_per_turn: true, uses_previous_length: true, deletes_used_keys: true };
  declares = null;
  limits = {
    max_skip: 1000, // most keys one message may make it derive per chain
    max_stored: 2000, // skipped keys kept in all (null: unbounded)
    max_stored_per_chain: null, // skipped keys kept per chain (null: unbounded)
    when_full: 'refuse', // refuse, evict-oldest or unbounded
    window: null, // drops keys this far behind the newest (null: no)
    max_chains: null, // receiving chains kept (null: unbounded)
  };
  capabilities = { injectable_rng: false, export_state: false };
  // True if every random byte of a party comes from `random(n)` (below), in the order and
  // amounts your library consumes them. Declared only when the bench offers the feature.
  hostRng = false;
  weakened = [];

  /** Builds the responder (Bob); returns [party, bundle]. `seed` is null when the bench
   * gives the random bytes through `random(n)` instead. */
  respond(sharedSecret, seed) {
    throw new Unimplemented('respond: connect your library here');
  }

  /** Builds the initiator (Alice) from the responder's bundle; returns the party. */
  initiate(sharedSecret, bundle, seed) {
    throw new Unimplemented('initiate: connect your library here');
  }

  /** Bytes the responder must take before any message, or null. */
  handshake(party) {
    return null;
  }

  /** The responder takes the initiator's handshake bytes. */
  join(party, handshake) {
    throw new Unimplemented('join: this family needs no handshake');
  }

  /** Returns the wire bytes, exactly as your library puts them on the network. */
  encrypt(party, ad, plaintext) {
    throw new Unimplemented('encrypt: connect your library here');
  }

  /** Returns the plaintext; refuses forgeries, replays, foreign messages. */
  decrypt(party, ad, wire) {
    throw new Unimplemented('decrypt: connect your library here');
  }

  /** The party's whole state as bytes (a pickle, a serialisation). */
  export(party) {
    throw new Unimplemented('export: no state serialisation');
  }

  /** A new party from bytes `export` returned. */
  restore(state, seed) {
    throw new Unimplemented('restore: no state serialisation');
  }

  /** Where header, body, MAC (and the ratchet key) lie, as [start, end] pairs. */
  layout(wire) {
    throw new Unimplemented('layout: the bench then treats the whole message as body');
  }
}

const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const u32be = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};

/**
 * `--echo`: NOT a ratchet. A stand-in for the bench's own tests and its benchmark of the shim
 * host: it exercises every request with trivial work, so that what is measured or tested is
 * the protocol, not a library. It answers exactly as the Python template's echo mode does.
 *
 * Wire: "ECHO" || counter (4 bytes, big-endian) || plaintext || 8-byte SHA-256 checksum over
 * the session id, the associated data and the rest. No secrecy and no authentication (anyone
 * can compute the checksum): the hello says so in `weakened`. It refuses a counter it has
 * seen (replay), a bad checksum (auth) and short input (malformed).
 */
export class Echo extends Implementation {
  implementation = 'template-echo';
  version = '1 (no cryptography)';
  limits = {
    max_skip: 2 ** 31 - 1,
    max_stored: null,
    max_stored_per_chain: null,
    when_full: 'unbounded',
    window: null,
    max_chains: null,
  };
  capabilities = { injectable_rng: false, export_state: true };
  weakened = [
    'echo mode: no encryption and no authentication (a public checksum); only for the bench\'s own tests and benchmark',
  ];

  constructor(hostRng = false, ownFamily = false) {
    super();
    // --host-rng: session ids and a 4-byte nonce per message come from the bench.
    this.hostRng = hostRng;
    if (hostRng) this.version = '1 (no cryptography, host randomness)';
    if (ownFamily) {
      // --own-family: the echo format is no signal-dr; say what it is. Each side numbers its
      // messages in one sequence for the whole session (no new chain per turn, no
      // previous-chain length in the header), and refuses a number it has seen (a used
      // "key" is gone).
      this.family = 'template-echo';
      this.declares = {
        description: "the template's echo stand-in: a counter and a public checksum, no cryptography",
        ratchets_per_turn: false,
        uses_previous_length: false,
        deletes_used_keys: true,
      };
    }
  }

  static tag(session, ad, body) {
    return sha256(session, u32be(ad.length), ad, body).subarray(0, 8);
  }

  respond(sharedSecret, seed) {
    const session = seed === null ? random(16) : sha256(Buffer.from('echo session'), seed).subarray(0, 16);
    return [{ session: Buffer.from(session), sent: 0, seen: new Set() }, session];
  }

  initiate(sharedSecret, bundle, seed) {
    if (bundle.length !== 16) throw new Refused('malformed', `bundle of ${bundle.length} bytes, expected 16`);
    return { session: Buffer.from(bundle), sent: 0, seen: new Set() };
  }

  encrypt(party, ad, plaintext) {
    // With host randomness a 4-byte nonce follows the plaintext.
    const nonce = this.hostRng ? random(4) : Buffer.alloc(0);
    const body = Buffer.concat([Buffer.from('ECHO'), u32be(party.sent), plaintext, nonce]);
    party.sent += 1;
    return Buffer.concat([body, Echo.tag(party.session, ad, body)]);
  }

  decrypt(party, ad, wire) {
    const w = Buffer.from(wire);
    if (w.length < 16 || w.subarray(0, 4).toString('latin1') !== 'ECHO') {
      throw new Refused('malformed', `not an echo message (${w.length} bytes)`);
    }
    const body = w.subarray(0, w.length - 8);
    const tag = w.subarray(w.length - 8);
    if (!tag.equals(Echo.tag(party.session, ad, body))) throw new Refused('auth', 'checksum mismatch');
    const n = body.readUInt32BE(4);
    if (party.seen.has(n)) throw new Refused('replay', `counter ${n} already received`);
    party.seen.add(n);
    return this.hostRng ? body.subarray(8, Math.max(8, body.length - 4)) : body.subarray(8);
  }

  export(party) {
    // The same bytes as the Python template's json.dumps of the same state.
    const seen = [...party.seen].sort((a, b) => a - b).join(', ');
    return Buffer.from(`{"session": "${party.session.toString('hex')}", "sent": ${party.sent}, "seen": [${seen}]}`);
  }

  restore(state, seed) {
    let s;
    try {
      s = JSON.parse(Buffer.from(state).toString('utf8'));
      if (s === null || typeof s !== 'object') throw new TypeError('not an object');
      if (typeof s.session !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(s.session)) {
        throw new TypeError('"session" is not hex');
      }
      if (!Number.isSafeInteger(s.sent) || !Array.isArray(s.seen) || !s.seen.every(Number.isSafeInteger)) {
        throw new TypeError('"sent" or "seen" is not an integer or a list of integers');
      }
    } catch (e) {
      throw new Refused('malformed', `not an echo state: ${e.message}`);
    }
    return { session: Buffer.from(s.session, 'hex'), sent: s.sent, seen: new Set(s.seen) };
  }

  layout(wire) {
    const n = wire.length;
    return {
      header: [0, Math.min(8, n)],
      body: [Math.min(8, n), Math.max(8, n - 8)],
      mac: [Math.max(8, n - 8), n],
      ratchet_key: null,
    };
  }
}

// ---------------------------------------------------------------------------------------
// The protocol: nothing below needs changing.
// ---------------------------------------------------------------------------------------

const MAX_LINE = 16 * 1024 * 1024;
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/** Waits 2 ms: a descriptor another process left non-blocking answers EAGAIN when empty. */
function pause() {
  Atomics.wait(pauseCell, 0, 0, 2);
}

/** Logs go to stderr: stdout carries answers only. The bench shows the last lines of stderr
 * when the shim misbehaves. */
export function log(...args) {
  const text = args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ');
  writeAll(2, `${text}\n`);
}

function writeAll(fd, text) {
  const b = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < b.length) {
    try {
      at += writeSync(fd, b, at, b.length - at);
    } catch (e) {
      if (e.code === 'EAGAIN') pause();
      else throw e;
    }
  }
}

/** Blocking line reader on a file descriptor (stdin): one JSON object per line. */
class LineReader {
  constructor(fd) {
    this.fd = fd;
    this.chunk = Buffer.alloc(1 << 16);
    this.lines = []; // complete lines read ahead
    this.partial = []; // the start of the next line
    this.partialSize = 0;
    this.eof = false;
  }

  /** The next line without its "\n", or null at the end of input. */
  readLine() {
    for (;;) {
      if (this.lines.length) return this.lines.shift();
      if (this.eof) {
        if (!this.partialSize) return null;
        const line = Buffer.concat(this.partial).toString('utf8');
        this.partial = [];
        this.partialSize = 0;
        return line;
      }
      let n;
      try {
        n = readSync(this.fd, this.chunk, 0, this.chunk.length, null);
      } catch (e) {
        if (e.code === 'EAGAIN') {
          pause();
          continue;
        }
        if (e.code !== 'EOF') throw e;
        n = 0;
      }
      if (n === 0) {
        this.eof = true;
        continue;
      }
      let data = this.chunk.subarray(0, n);
      let nl;
      while ((nl = data.indexOf(10)) >= 0) {
        this.partial.push(data.subarray(0, nl));
        this.lines.push(Buffer.concat(this.partial).toString('utf8'));
        this.partial = [];
        this.partialSize = 0;
        data = data.subarray(nl + 1);
      }
      if (data.length) {
        this.partial.push(Buffer.from(data)); // the chunk is reused by the next read
        this.partialSize += data.length;
        if (this.partialSize > MAX_LINE) throw new Error(`a line longer than ${MAX_LINE} bytes on stdin`);
      }
    }
  }
}

/** Reads stdin and writes stdout for the shim and for `random(n)`. */
class Pipe {
  constructor() {
    this.reader = new LineReader(0);
  }

  readLine() {
    return this.reader.readLine();
  }

  write(obj) {
    writeAll(1, `${JSON.stringify(obj)}\n`);
  }
}

let pipe = null;
let currentRequest = null;

/**
 * `random(n)` while a request is under way: asks the bench for n random bytes of the party
 * the request is about (`{"id": <request id>, "random": n}`, n from 1 to 4096, at most 65536
 * in one request) and reads its answer (`{"id": <request id>, "random": hex}`) from stdin
 * before going on. Only for a peer that declared host_rng. Synchronous, so that it can stand
 * in for a library's own synchronous random source.
 */
export function random(n) {
  if (n === 0) return Buffer.alloc(0);
  if (currentRequest === null || pipe === null) throw new Error(`random(${n}) outside a request`);
  const parts = [];
  let got = 0;
  while (got < n) {
    // asks of at most 4096 bytes
    const k = Math.min(n - got, 4096);
    pipe.write({ id: currentRequest, random: k });
    const line = pipe.readLine();
    if (line === null) throw new Error(`stdin closed while waiting for ${k} random bytes`);
    let answer;
    try {
      answer = JSON.parse(line);
    } catch (e) {
      throw new Error(`the bench answered an ask with a line that is not JSON: ${e.message}`);
    }
    if (answer === null || answer.id !== currentRequest || typeof answer.random !== 'string') {
      throw new Error(`the bench answered an ask with ${line.slice(0, 200)}`);
    }
    const chunk = Buffer.from(answer.random, 'hex');
    if (chunk.length !== k || answer.random.length !== 2 * k) {
      throw new Error(`asked for ${k} random bytes, got ${answer.random.length / 2}`);
    }
    parts.push(chunk);
    got += k;
  }
  return Buffer.concat(parts);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** A byte-string field of a request (lowercase hex on the wire). */
export function bytesField(req, key) {
  const v = req[key];
  if (typeof v !== 'string' || !HEX.test(v)) throw new Refused('malformed', `request field '${key}' is missing or not hex`);
  return Buffer.from(v, 'hex');
}

/** The `seed` of a request building a party: null when the bench sends none (it gives the
 * bytes through `random(n)` to a peer that declared host_rng). */
export function seedOf(req) {
  return 'seed' in req ? bytesField(req, 'seed') : null;
}

const hex = (b) => Buffer.from(b).toString('hex');
const show = (v) => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? 'None');

export class Shim {
  /** `peers`: index in the hello's "peers" -> Implementation. */
  constructor(peers) {
    this.peers = peers;
    this.parties = new Map(); // party number (chosen by the bench) -> [peer, party object]
    // The optional features that save round trips, taken up when the bench offers them:
    // `encrypt_many` (a jump's lost messages in one request) and `wire_layout` (each
    // encryption's answer carries the wire's layout; only when `layout` is implemented).
    this.encryptMany = false;
    this.wireLayout = false;
  }

  hello(req) {
    if (req.protocol !== PROTOCOL) log(`the bench speaks protocol ${req.protocol}, this shim ${PROTOCOL}`);
    const features = Array.isArray(req.features) ? req.features : [];
    const offered = features.includes('host_rng');
    for (const p of this.peers) {
      if (p.hostRng && !offered) {
        // An older bench: no asks; take randomness from the seed instead.
        log('the bench does not offer host_rng: drawing from the seed');
        p.hostRng = false;
      }
    }
    this.encryptMany = features.includes('encrypt_many');
    this.wireLayout =
      features.includes('wire_layout') && this.peers.every((p) => p.layout !== Implementation.prototype.layout);
    const first = this.peers[0];
    return {
      protocol: PROTOCOL,
      implementation: first.implementation,
      version: first.version,
      peers: this.peers.map((p) => ({
        family: p.family,
        limits: p.limits,
        capabilities: { ...p.capabilities, host_rng: p.hostRng },
        weakened: p.weakened,
        ...(p.declares === null ? {} : { declares: p.declares }),
      })),
      features: [
        ...(this.encryptMany ? ['encrypt_many'] : []),
        ...(this.wireLayout ? ['wire_layout'] : []),
      ],
    };
  }

  /** The `ok` fields of one encryption: the wire, and its layout with wire_layout. */
  async encrypted(impl, wire) {
    return this.wireLayout ? { wire: hex(wire), layout: await impl.layout(wire) } : { wire: hex(wire) };
  }

  /** `encrypt_many`: `count` encryptions in a row, stopped by the first refusal (the wires
   * made before it stand, `refused` says why the rest were not made). */
  async batch(impl, party, req) {
    const ad = bytesField(req, 'ad');
    const plaintext = bytesField(req, 'plaintext');
    if (!Number.isInteger(req.count) || req.count < 1) {
      throw new Refused('other', `encrypt_many: count ${show(req.count)} is not a positive integer`);
    }
    const wires = [];
    const layouts = [];
    let refused = null;
    for (let i = 0; i < req.count; i++) {
      let wire;
      try {
        wire = await impl.encrypt(party, ad, plaintext);
      } catch (e) {
        if (e instanceof Unimplemented) throw e;
        refused = e instanceof Refused ? e : classify(e);
        break;
      }
      wires.push(hex(wire));
      if (this.wireLayout) layouts.push(await impl.layout(wire));
    }
    if (wires.length === 0 && refused !== null) throw refused;
    const out = { wires };
    if (this.wireLayout) out.layouts = layouts;
    if (refused !== null) out.refused = { class: refused.klass, detail: refused.detail };
    return out;
  }

  peer(req) {
    const p = Number.isInteger(req.peer) ? this.peers[req.peer] : undefined;
    if (!p) throw new Refused('other', `no peer ${show(req.peer)}`);
    return p;
  }

  party(req) {
    const entry = this.parties.get(req.party);
    if (!entry) throw new Refused('unknown-session', `no party ${show(req.party)}`);
    return entry;
  }

  /** The `ok` fields of the answer to `req`. */
  async dispatch(req) {
    const op = req.op;
    if (op === 'hello') return this.hello(req);
    if (op === 'respond') {
      const impl = this.peer(req);
      const [party, bundle] = await impl.respond(bytesField(req, 'shared_secret'), seedOf(req));
      this.parties.set(req.party, [impl, party]);
      return { bundle: hex(bundle) };
    }
    if (op === 'initiate') {
      const impl = this.peer(req);
      const party = await impl.initiate(bytesField(req, 'shared_secret'), bytesField(req, 'bundle'), seedOf(req));
      this.parties.set(req.party, [impl, party]);
      return {};
    }
    if (op === 'restore') {
      const impl = this.peer(req);
      this.parties.set(req.party, [impl, await impl.restore(bytesField(req, 'state'), seedOf(req))]);
      return {};
    }
    if (op === 'layout') return this.peer(req).layout(bytesField(req, 'wire'));
    if (op === 'drop') {
      this.parties.delete(req.party);
      return {};
    }
    const [impl, party] = this.party(req);
    if (op === 'encrypt') {
      return this.encrypted(impl, await impl.encrypt(party, bytesField(req, 'ad'), bytesField(req, 'plaintext')));
    }
    if (op === 'encrypt_many' && this.encryptMany) return this.batch(impl, party, req);
    if (op === 'decrypt') {
      return { plaintext: hex(await impl.decrypt(party, bytesField(req, 'ad'), bytesField(req, 'wire'))) };
    }
    if (op === 'handshake') {
      const h = await impl.handshake(party);
      return { handshake: h === null || h === undefined ? null : hex(h) };
    }
    if (op === 'join') {
      await impl.join(party, bytesField(req, 'handshake'));
      return {};
    }
    if (op === 'export') return { state: hex(await impl.export(party)) };
    throw new Unimplemented(`unknown op ${show(op)}`);
  }

  async answer(line) {
    let req;
    try {
      req = JSON.parse(line);
      if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new SyntaxError('not a JSON object');
    } catch (e) {
      // The bench never sends this; answer something it can show rather than die.
      return { id: -1, err: { class: 'other', detail: `request not JSON: ${e.message}` } };
    }
    const rid = req.id ?? null;
    currentRequest = rid;
    try {
      return { id: rid, ok: await this.dispatch(req) };
    } catch (e) {
      if (e instanceof Refused) return { id: rid, err: { class: e.klass, detail: e.detail } };
      if (e instanceof Unimplemented) return { id: rid, unimplemented: e.message };
      // the library's own errors
      const r = classify(e);
      return { id: rid, err: { class: r.klass, detail: r.detail } };
    } finally {
      currentRequest = null;
    }
  }

  /** Serves requests until stdin closes, one at a time, answers in order. */
  async serve() {
    pipe = new Pipe();
    for (;;) {
      const line = pipe.readLine();
      if (line === null) return; // stdin closed: the bench is done
      if (!line.trim()) continue;
      pipe.write(await this.answer(line));
    }
  }
}

async function main(argv) {
  const impl = argv.includes('--echo')
    ? new Echo(argv.includes('--host-rng'), argv.includes('--own-family'))
    : new Implementation();
  await new Shim([impl]).serve();
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      log(`shim failure: ${e && e.stack ? e.stack : e}`);
      process.exit(1);
    },
  );
}
