// SPDX-License-Identifier: AGPL-3.0-only
//
// libsignal's errors (code and text) onto the protocol's classes, for every release.
//
// libsignal's own log lines are kept per request: when a decryption fails libsignal returns
// one generic "decryption failed" for every session state it tried, and says in its log why
// each state failed ("MAC verification failed", "message from too far into the future").
// The shim reads those reasons to pick the reject class, and keeps them in the detail.

import { ShimError } from './wire.js';

export const VERBOSE = process.env.LIBSIGNAL_SHIM_LOG === '1';

export function log(msg) {
  process.stderr.write(`libsignal-shim: ${msg}\n`);
}

/** Installs libsignal's logger (once per process) and returns the error mapping over it. */
export function errorMapping(S) {
  let captured = [];
  S.initLogger(S.LogLevel.Info, (level, target, file, line, message) => {
    captured.push({ level, message });
    if (captured.length > 64) captured.shift();
    if (VERBOSE) log(`[libsignal ${level}] ${message}`);
  });

  function reasonsFromLog() {
    // "Candidate session N failed with '<error>'" lines of libsignal's decryption-failure log.
    // Before 0.94.5 (0.90, 0.92 here) SPQR's own reason is not in the error ("post-quantum
    // ratchet error" alone) but in an earlier log line ("post-quantum ratchet error in
    // decrypt: Key jump: ...", or "... in decrypt_message_with_state: ..."): it is put back
    // beside the error it explains.
    const reasons = [];
    const pq = [];
    for (const { message } of captured) {
      const d = /post-quantum ratchet error in (?:decrypt_message_with_state|decrypt): (.*)$/.exec(message);
      if (d) pq.push(d[1]);
      for (const m of message.matchAll(/Candidate session (\d+) failed with '([^']*)'/g)) {
        const bare = m[2].endsWith('post-quantum ratchet error') && pq.length > 0;
        reasons.push(`state ${m[1]}: ${m[2]}${bare ? `: ${pq.shift()}` : ''}`);
      }
    }
    return reasons;
  }

  // An error code this release does not have never matches (0.72 has no InvalidProtocolAddress).
  const code = (name) => (name in S.ErrorCode ? S.ErrorCode[name] : Symbol(name));
  const REPLAY = [code('DuplicatedMessage')];
  const UNKNOWN = [code('UntrustedIdentity'), code('InvalidSession')];
  const OTHER = [code('InvalidRegistrationId'), code('InvalidProtocolAddress')];
  const AUTH = [code('VerificationFailed')];

  function classify(e) {
    if (e instanceof ShimError) return { class: e.cls, detail: e.message };
    const text = e && typeof e.message === 'string' ? e.message : String(e);
    if (!(e instanceof S.LibSignalErrorBase)) {
      // Thrown by this shim's stores through libsignal (a missing key) or by JavaScript.
      if (/no (pre-key|signed pre-key|Kyber pre-key|session) (with id|for) /.test(text)) {
        return { class: 'unknown-session', detail: text };
      }
      if (/already used with this base key/.test(text)) return { class: 'replay', detail: text };
      return { class: 'other', detail: `${e && e.name ? e.name : 'error'}: ${text}` };
    }
    const detail = e.operation ? `${e.operation}: ${text}` : text;
    if (REPLAY.includes(e.code)) return { class: 'replay', detail };
    if (UNKNOWN.includes(e.code)) return { class: 'unknown-session', detail };
    if (OTHER.includes(e.code)) return { class: 'other', detail };
    if (AUTH.includes(e.code)) return { class: 'auth', detail };
    // A store of this shim refusing through libsignal ("error in method call 'loadPreKey'").
    if (/no (pre-key|signed pre-key|Kyber pre-key|session) (with id|for) /.test(text)) {
      return { class: 'unknown-session', detail };
    }
    if (/already used with this base key/.test(text)) return { class: 'replay', detail };
    if (/decryption failed/.test(text)) {
      const reasons = reasonsFromLog();
      const all = reasons.length ? `${detail} (${reasons.join('; ')})` : detail;
      // The Double Ratchet's forward limit, or SPQR's (the post-quantum ratchet's MAX_JUMP).
      if (reasons.some((r) => /too far into the future|Key jump/.test(r))) return { class: 'too-far-ahead', detail: all };
      // SPQR no longer holds the key: used, trimmed (more than 2000 behind), or of a dropped epoch.
      if (reasons.some((r) => /Key trimmed|Key already requested|epoch not in valid range/.test(r))) {
        return { class: 'replay', detail: all };
      }
      if (reasons.some((r) => /MAC verification failed|failed to decrypt/.test(r))) return { class: 'auth', detail: all };
      if (reasons.some((r) => /No session available/.test(r))) return { class: 'unknown-session', detail: all };
      if (reasons.some((r) => /version/.test(r))) return { class: 'malformed', detail: all };
      return { class: 'auth', detail: all };
    }
    if (/too far into the future|Key jump/.test(text)) return { class: 'too-far-ahead', detail };
    if (/Key trimmed|Key already requested|epoch not in valid range/.test(text)) return { class: 'replay', detail };
    if (/MAC verification failed|invalid signature|signature/.test(text)) return { class: 'auth', detail };
    if (/old counter/.test(text)) return { class: 'replay', detail };
    if (/not found|invalid (prekey|signed prekey|Kyber prekey) identifier|No session available/i.test(text)) {
      return { class: 'unknown-session', detail };
    }
    if (
      /protobuf|too short|version|bad key|key type|KEM|no key type|invalid argument|invalid (PreKey|Whisper) message/i.test(
        text,
      )
    ) {
      return { class: 'malformed', detail };
    }
    return { class: 'other', detail };
  }

  return {
    /** Forget the log lines of the previous request. */
    reset() {
      captured = [];
    },
    classify,
  };
}
