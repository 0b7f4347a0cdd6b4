//! libolm 3.2.7 (Matrix's C/C++ implementation, through olm-sys 1.3.2) as an Olm peer and
//! as a Megolm peer.
//!
//! Both follow the conventions of [`olm_wire`](ratchet_bench_references::olm_wire): the Olm bundle is the
//! responder's Curve25519 identity key and one one-time key, the wire one type byte and the
//! raw message; a Megolm side hands the other its session key in the shared signed format;
//! associated data travels bound inside the payload. libolm's C API speaks unpadded standard
//! base64 for keys and messages; the adapter converts at the boundary ([`b64`]).
//!
//! Randomness: libolm takes every random byte from its caller. The adapter draws exactly the
//! bytes each call's `*_random_length()` asks for from the party's injected [`BoxRng`], at
//! the moments every injectable Olm/Megolm peer shares: in `respond` the account (64 bytes:
//! the Ed25519 seed, then the Curve25519 identity key) then one one-time key (32), or the
//! outbound group session (160: the 128-byte Megolm ratchet, then the Ed25519 seed); in
//! `initiate` the account then the outbound session (64: base key, then first ratchet key),
//! or the outbound group session; in each Olm encrypt `olm_encrypt_random_length` bytes (32
//! when a new ratchet key is due, else none). One seed thus gives the same wire bytes every
//! run, and the same as the bench's reference.
//!
//! Limits, from libolm's source:
//! - Olm: `include/olm/ratchet.hh` sets `MAX_RECEIVER_CHAINS = 5` (a sixth receiving chain
//!   pushes the oldest out) and `MAX_SKIPPED_MESSAGE_KEYS = 40`, one list for all chains,
//!   newest first, whose insertion drops the oldest when full (`include/olm/list.hh`).
//!   `src/ratchet.cpp` sets `MAX_MESSAGE_GAP = 2000` and refuses when
//!   `counter - chain.index > MAX_MESSAGE_GAP`, `chain.index` being the next index the chain
//!   expects (for a new chain, `counter > MAX_MESSAGE_GAP`, the chain starting at 0): a
//!   message may skip exactly 2000 keys and is refused at 2001, the oracle's
//!   "refused when `n - nr > max_skip`".
//! - Megolm: an inbound session keeps its initial ratchet and a latest one
//!   (`src/inbound_group_session.c`, `_get_megolm`): an index less than 2^31 past the latest
//!   is reached from the latest, one before the latest from the initial ratchet, and one
//!   2^31 or more past both (modulo 2^32) is refused `UNKNOWN_MESSAGE_INDEX` (classed
//!   TooFarAhead when the index is not below the first known one). So a message
//!   may be at most 2^31 - 1 past the newest index received (2^31 - 2 past the next one,
//!   [`MEGOLM_MAX_SKIP`]); only at the very start, with nothing received, one index more
//!   is taken. No store of skipped keys, no deletion: a replay decrypts again.
//!
//! State after a refusal: libolm's Olm ratchet checks the MAC before it changes anything
//! (`Ratchet::decrypt` updates chains and skipped keys only after `verify_mac_and_decrypt`
//! succeeded), so a refused message leaves the session as it was. A message that decrypts
//! but carries other associated data has already advanced the ratchet, so the adapter
//! pickles the session before each decrypt and, after such a refusal, replaces it with a
//! fresh session unpickled from that copy. Megolm's
//! decrypt moves only the latest ratchet, and only for a message whose signature verified;
//! what it can decrypt afterwards is the same, so nothing is restored there.
//!
//! State export (for the security oracles): a party's state is libolm's own pickles of its
//! objects (base64 text encrypted under the adapter's fixed key) in a versioned envelope of
//! the adapter's, integers big-endian:
//!
//! ```text
//! version (1 byte, 1)
//! Olm:    account pickle (length (4) || text) || session: flag (1) [|| length || text]
//!         || the chain book: chains (count (4), at most 5, x ratchet key (32) || next
//!         index (8)), skipped keys (count, at most 40, x ratchet key || index (8)),
//!         dropped chains (count, at most 64, x ratchet key)
//! Megolm: outbound pickle (length || text) || inbound: flag [|| length || text]
//!         || a session key not yet handed over: flag [|| length || bytes]
//! ```
//!
//! A pickle holds everything libolm keeps: for Olm the root key, the sender chain, the five
//! newest receiver chains and the forty skipped message keys, so a copy holds exactly what
//! libolm still could decrypt (the oracle's forward-secrecy view is libolm's own, not a
//! model of it); the book travels along so a copy classes refusals as the original does.
//! A restored party takes its randomness from the RNG `restore` is given. A truncated or
//! garbled state is refused as malformed naming the field; a garbled pickle fails libolm's
//! MAC over the pickle before any field is read. The objects sit in `RefCell`s because the
//! pickle functions need a mutable pointer and the export has `&self` (see [`OlmParty`]).
//! libolm counts no work: [`Party::work`] stays `None`.
//!
//! Errors: libolm has one error code per object (`olm_*_last_error`, the names of
//! `src/error.c`), mapped onto the bench's classes by [`class_of`], the detail keeping
//! libolm's text. libolm's Olm ratchet reports every refusal (forgery, replay, gap too
//! large) as `BAD_MESSAGE_MAC`; the adapter keeps a copy of the ratchet's bookkeeping
//! ([`ChainBook`], checked against `olm_session_describe` in the tests) to say which.
//!
//! `unsafe`: the FFI calls only, each in a small safe wrapper below with its reasoning; the
//! rest of the adapter is safe code over those wrappers.

// FFI into libolm: every call into C needs `unsafe`. Each block says why it is sound.
#![allow(unsafe_code)]

use olm_sys as sys;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout,
};
use ratchet_bench_references::olm::state::StateReader;
use ratchet_bench_references::olm_wire::{self, OlmBundle, KEY_LEN};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::{c_char, c_void, CStr};
use std::marker::PhantomData;

/// `MAX_RECEIVER_CHAINS` in libolm's `include/olm/ratchet.hh`.
const OLM_MAX_RECEIVER_CHAINS: u32 = 5;
/// `MAX_SKIPPED_MESSAGE_KEYS` in libolm's `include/olm/ratchet.hh` (in all, not per chain).
const OLM_MAX_SKIPPED_MESSAGE_KEYS: u32 = 40;
/// `MAX_MESSAGE_GAP` in libolm's `src/ratchet.cpp`.
const OLM_MAX_MESSAGE_GAP: u32 = 2000;
/// How far past the next expected index a Megolm message may be (see the module doc).
const MEGOLM_MAX_SKIP: u32 = (1 << 31) - 2;
/// The key libolm's pickles are encrypted with: the adapter's copy of a session to return to
/// after a refusal, and the parts of an exported state. A fixed key on purpose: an exported
/// state stands for everything a compromised device holds, its pickle key included.
const PICKLE_KEY: &[u8] = b"ratchet-bench libolm state copy";

/// The version under test, as reports show it.
fn version() -> String {
    let (mut major, mut minor, mut patch) = (0u8, 0u8, 0u8);
    // SAFETY: the three pointers are to live, writable u8s; the function only stores to them.
    unsafe { sys::olm_get_library_version(&mut major, &mut minor, &mut patch) };
    format!("libolm {major}.{minor}.{patch} (olm-sys 1.3.2)")
}

/// libolm's unpadded standard base64, the encoding of every key and message its API takes.
mod b64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// `bytes` in unpadded standard base64.
    pub fn encode(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let mut v = 0u32;
            for (i, b) in chunk.iter().enumerate() {
                v |= u32::from(*b) << (16 - 8 * i);
            }
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(v >> (18 - 6 * i)) as usize & 63]);
            }
        }
        out
    }

    fn value(c: u8) -> Option<u32> {
        ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
    }

    /// The bytes of unpadded standard base64, or `None` where it is not that.
    pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
        if text.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
        for chunk in text.chunks(4) {
            let mut v = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                v |= value(*c)? << (18 - 6 * i);
            }
            for i in 0..chunk.len() - 1 {
                out.push((v >> (16 - 8 * i)) as u8);
            }
        }
        Some(out)
    }
}

/// Memory for one libolm object, aligned for any C type it holds.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Chunk([u8; 16]);

/// One libolm object (account, session, group session) in memory the adapter owns: a boxed
/// buffer of the object's `olm_*_size()` bytes, initialised by libolm's constructor, which
/// never moves while the object lives (the box does, its contents do not), and is wiped with
/// libolm's `olm_clear_*` when dropped. The object's pointer is derived from the buffer on
/// each use, so nothing borrowed outlives a call and the value is `Send`.
struct Object<T> {
    memory: Box<[Chunk]>,
    clear: unsafe extern "C" fn(*mut T) -> usize,
    _type: PhantomData<T>,
}

impl<T> Object<T> {
    /// Allocates `size` bytes and runs libolm's constructor `init` on them.
    ///
    /// # Safety
    /// `size` must be the size libolm gives for `T` (`olm_*_size()`), `init` the constructor
    /// and `clear` the destructor libolm pairs with it for `T`.
    unsafe fn new(
        size: usize,
        init: unsafe extern "C" fn(*mut c_void) -> *mut T,
        clear: unsafe extern "C" fn(*mut T) -> usize,
    ) -> Self {
        let chunks = size.div_ceil(std::mem::size_of::<Chunk>()).max(1);
        let mut memory = vec![Chunk([0; 16]); chunks].into_boxed_slice();
        // SAFETY: the buffer holds at least `size` bytes, aligned to 16, as the caller
        // promised the constructor needs; libolm constructs the object in place and returns
        // the same address.
        unsafe { init(memory.as_mut_ptr().cast()) };
        Object {
            memory,
            clear,
            _type: PhantomData,
        }
    }

    fn ptr(&mut self) -> *mut T {
        self.memory.as_mut_ptr().cast()
    }

    fn cptr(&self) -> *const T {
        self.memory.as_ptr().cast()
    }
}

impl<T> Drop for Object<T> {
    fn drop(&mut self) {
        let clear = self.clear;
        // SAFETY: the object was constructed in this buffer by `new` and is still there;
        // `clear` is its destructor, which only wipes the bytes.
        unsafe { clear(self.ptr()) };
    }
}

/// The functions libolm pairs with one object type to pickle and unpickle it, and to read
/// its last error. Only built in the constants below, each from one type's own functions.
struct PickleFns<T> {
    length: unsafe extern "C" fn(*const T) -> usize,
    pickle: unsafe extern "C" fn(*mut T, *const c_void, usize, *mut c_void, usize) -> usize,
    unpickle: unsafe extern "C" fn(*mut T, *const c_void, usize, *mut c_void, usize) -> usize,
    last_error: unsafe extern "C" fn(*const T) -> *const c_char,
    size: unsafe extern "C" fn() -> usize,
    init: unsafe extern "C" fn(*mut c_void) -> *mut T,
    clear: unsafe extern "C" fn(*mut T) -> usize,
    pickle_name: &'static str,
    unpickle_name: &'static str,
}

const ACCOUNT_PICKLE: PickleFns<sys::OlmAccount> = PickleFns {
    length: sys::olm_pickle_account_length,
    pickle: sys::olm_pickle_account,
    unpickle: sys::olm_unpickle_account,
    last_error: sys::olm_account_last_error,
    size: sys::olm_account_size,
    init: sys::olm_account,
    clear: sys::olm_clear_account,
    pickle_name: "olm_pickle_account",
    unpickle_name: "olm_unpickle_account",
};

const SESSION_PICKLE: PickleFns<sys::OlmSession> = PickleFns {
    length: sys::olm_pickle_session_length,
    pickle: sys::olm_pickle_session,
    unpickle: sys::olm_unpickle_session,
    last_error: sys::olm_session_last_error,
    size: sys::olm_session_size,
    init: sys::olm_session,
    clear: sys::olm_clear_session,
    pickle_name: "olm_pickle_session",
    unpickle_name: "olm_unpickle_session",
};

const OUTBOUND_PICKLE: PickleFns<sys::OlmOutboundGroupSession> = PickleFns {
    length: sys::olm_pickle_outbound_group_session_length,
    pickle: sys::olm_pickle_outbound_group_session,
    unpickle: sys::olm_unpickle_outbound_group_session,
    last_error: sys::olm_outbound_group_session_last_error,
    size: sys::olm_outbound_group_session_size,
    init: sys::olm_outbound_group_session,
    clear: sys::olm_clear_outbound_group_session,
    pickle_name: "olm_pickle_outbound_group_session",
    unpickle_name: "olm_unpickle_outbound_group_session",
};

const INBOUND_PICKLE: PickleFns<sys::OlmInboundGroupSession> = PickleFns {
    length: sys::olm_pickle_inbound_group_session_length,
    pickle: sys::olm_pickle_inbound_group_session,
    unpickle: sys::olm_unpickle_inbound_group_session,
    last_error: sys::olm_inbound_group_session_last_error,
    size: sys::olm_inbound_group_session_size,
    init: sys::olm_inbound_group_session,
    clear: sys::olm_clear_inbound_group_session,
    pickle_name: "olm_pickle_inbound_group_session",
    unpickle_name: "olm_unpickle_inbound_group_session",
};

impl<T> Object<T> {
    /// The object's state, encrypted under [`PICKLE_KEY`], as libolm's base64 text.
    /// `fns` must be `T`'s (the constants above are the only ones).
    fn pickle(&mut self, fns: &PickleFns<T>) -> Result<Vec<u8>, Reject> {
        // SAFETY: the object is constructed; `length` is its own type's and only reads it.
        let len = unsafe { (fns.length)(self.cptr()) };
        let mut out = vec![0u8; len];
        // SAFETY: the key is readable and `out` writable, each of its given length, `out`
        // the length libolm asked for; `pickle` is the object's own type's. It writes the
        // object only to record an error, through this exclusive borrow.
        let r = unsafe {
            (fns.pickle)(
                self.ptr(),
                PICKLE_KEY.as_ptr().cast(),
                PICKLE_KEY.len(),
                out.as_mut_ptr().cast(),
                out.len(),
            )
        };
        // SAFETY: the object is constructed; `last_error` returns a static string.
        let n = check(r, fns.pickle_name, || unsafe {
            (fns.last_error)(self.cptr())
        })?;
        out.truncate(n);
        Ok(out)
    }

    /// A fresh object in the state `pickle` (from [`Object::pickle`]) holds. Always a new
    /// object: libolm's unpickling appends pickled lists to the ones already there
    /// (`unpickle` of a `List` in `include/olm/pickle.hh`), so unpickling over a used
    /// object would mix two states.
    fn unpickled(pickle: &[u8], fns: &PickleFns<T>) -> Result<Self, Reject> {
        // SAFETY: size, constructor and destructor are `T`'s own, from `fns`.
        let mut object = unsafe { Object::new((fns.size)(), fns.init, fns.clear) };
        let mut copy = pickle.to_vec();
        // SAFETY: the key is readable and `copy` writable (decoded in place), each of its
        // given length; `unpickle` is the object's own type's. libolm checks the pickle's
        // MAC before it reads any field, and every field read against the end.
        let r = unsafe {
            (fns.unpickle)(
                object.ptr(),
                PICKLE_KEY.as_ptr().cast(),
                PICKLE_KEY.len(),
                copy.as_mut_ptr().cast(),
                copy.len(),
            )
        };
        // SAFETY: the object is constructed; `last_error` returns a static string.
        check(r, fns.unpickle_name, || unsafe {
            (fns.last_error)(object.cptr())
        })?;
        Ok(object)
    }
}

/// libolm's text for an error code it has just set.
fn error_text(text: *const c_char) -> String {
    if text.is_null() {
        return "libolm gave no error text".into();
    }
    // SAFETY: libolm's `olm_*_last_error` returns a pointer into its static, NUL-terminated
    // table of names (`src/error.c`), valid for the program's life.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// The bench's class of a libolm error name (the names of libolm's `src/error.c`).
fn class_of(name: &str) -> RejectClass {
    match name {
        // The MAC (Olm, Megolm) or the Ed25519 signature (Megolm message, session key) does
        // not verify. For Olm also every other ratchet refusal, which [`ChainBook`] sorts.
        "BAD_MESSAGE_MAC" | "BAD_SIGNATURE" => RejectClass::Auth,
        "BAD_MESSAGE_FORMAT" | "BAD_MESSAGE_VERSION" | "INVALID_BASE64" | "BAD_SESSION_KEY" => {
            RejectClass::Malformed
        }
        // Raised only when an inbound Olm session is made (`src/session.cpp`) or its
        // one-time key removed (`src/olm.cpp`): the pre-key message names a one-time key
        // this account does not hold (never had, or already used), so no session can be
        // made for it.
        "BAD_MESSAGE_KEY_ID" => RejectClass::UnknownSession,
        // A Megolm index before the session's first known one: its key was ratcheted away
        // before this session was shared, the "deleted" half of Replay. (The bench shares
        // every session at index 0, so a run reaches it only by an index 2^31 or more
        // ahead, which libolm's modular comparison takes for one before; `Inbound::decrypt`
        // classes that TooFarAhead.)
        "UNKNOWN_MESSAGE_INDEX" => RejectClass::Replay,
        _ => RejectClass::Other,
    }
}

/// A refusal: `what` failed with libolm's error `name`.
fn reject(what: &str, name: &str) -> Reject {
    Reject::new(class_of(name), format!("{what}: {name}"))
}

/// A refusal that is the adapter's, not libolm's (a bug here, or libolm broke its contract).
fn other(what: impl Into<String>) -> Reject {
    Reject::new(RejectClass::Other, what)
}

/// The result of a libolm call: its value, or the object's error as a refusal.
fn check(
    result: usize,
    what: &str,
    last_error: impl FnOnce() -> *const c_char,
) -> Result<usize, Reject> {
    // SAFETY: `olm_error` takes nothing and returns a constant.
    if result == unsafe { sys::olm_error() } {
        Err(reject(what, &error_text(last_error())))
    } else {
        Ok(result)
    }
}

/// `len` bytes from the party's RNG, as libolm asks for them.
fn random(rng: &mut BoxRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    if len > 0 {
        rng.fill_bytes(&mut bytes);
    }
    bytes
}

/// Base64 text libolm produced, as bytes.
fn unbase64(text: &[u8], what: &str) -> Result<Vec<u8>, Reject> {
    b64::decode(text).ok_or_else(|| other(format!("{what}: libolm gave invalid base64")))
}

/// An Olm account (identity keys, one-time keys).
struct Account(Object<sys::OlmAccount>);

impl Account {
    /// A new account from the account-creation bytes drawn from `rng`.
    fn new(rng: &mut BoxRng) -> Result<Self, Reject> {
        // SAFETY: size, constructor and destructor are libolm's for OlmAccount.
        let mut account = Account(unsafe {
            Object::new(
                sys::olm_account_size(),
                sys::olm_account,
                sys::olm_clear_account,
            )
        });
        // SAFETY: the account is constructed; the call only reads it.
        let len = unsafe { sys::olm_create_account_random_length(account.0.cptr()) };
        let mut bytes = random(rng, len);
        // SAFETY: `bytes` is `len` writable bytes (libolm wipes them after use).
        let r = unsafe {
            sys::olm_create_account(account.0.ptr(), bytes.as_mut_ptr().cast(), bytes.len())
        };
        account.check(r, "olm_create_account")?;
        Ok(account)
    }

    fn check(&self, result: usize, what: &str) -> Result<usize, Reject> {
        // SAFETY: the account is constructed; `last_error` returns a static string.
        check(result, what, || unsafe {
            sys::olm_account_last_error(self.0.cptr())
        })
    }

    /// The account's Curve25519 identity key.
    fn curve25519_key(&mut self) -> Result<[u8; KEY_LEN], Reject> {
        // SAFETY: the account is constructed; the call only reads it.
        let len = unsafe { sys::olm_account_identity_keys_length(self.0.cptr()) };
        let mut json = vec![0u8; len];
        // SAFETY: `json` is `len` writable bytes, the length libolm asked for.
        let r = unsafe {
            sys::olm_account_identity_keys(self.0.ptr(), json.as_mut_ptr().cast(), json.len())
        };
        let n = self.check(r, "olm_account_identity_keys")?;
        let keys: serde_json::Value = serde_json::from_slice(json.get(..n).unwrap_or(&json))
            .map_err(|e| other(format!("identity keys JSON: {e}")))?;
        let text = keys
            .get("curve25519")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| other("identity keys JSON has no curve25519 key"))?;
        key32(text, "identity key")
    }

    /// Generates one one-time key from `rng` and returns it.
    fn one_time_key(&mut self, rng: &mut BoxRng) -> Result<[u8; KEY_LEN], Reject> {
        // SAFETY: the account is constructed; the call only reads it.
        let len =
            unsafe { sys::olm_account_generate_one_time_keys_random_length(self.0.cptr(), 1) };
        let mut bytes = random(rng, len);
        // SAFETY: `bytes` is `len` writable bytes, as asked for one key.
        let r = unsafe {
            sys::olm_account_generate_one_time_keys(
                self.0.ptr(),
                1,
                bytes.as_mut_ptr().cast(),
                bytes.len(),
            )
        };
        self.check(r, "olm_account_generate_one_time_keys")?;
        // SAFETY: as above.
        let len = unsafe { sys::olm_account_one_time_keys_length(self.0.cptr()) };
        let mut json = vec![0u8; len];
        // SAFETY: `json` is `len` writable bytes, the length libolm asked for.
        let r = unsafe {
            sys::olm_account_one_time_keys(self.0.ptr(), json.as_mut_ptr().cast(), json.len())
        };
        let n = self.check(r, "olm_account_one_time_keys")?;
        let keys: serde_json::Value = serde_json::from_slice(json.get(..n).unwrap_or(&json))
            .map_err(|e| other(format!("one-time keys JSON: {e}")))?;
        let text = keys
            .get("curve25519")
            .and_then(serde_json::Value::as_object)
            .and_then(|m| m.values().next())
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| other("one-time keys JSON has no curve25519 key"))?;
        key32(text, "one-time key")
    }
}

/// A 32-byte key from libolm's base64 text.
fn key32(text: &str, what: &str) -> Result<[u8; KEY_LEN], Reject> {
    unbase64(text.as_bytes(), what)?
        .try_into()
        .map_err(|_| other(format!("{what}: not {KEY_LEN} bytes")))
}

/// An Olm session (one side's ratchet).
struct Session(Object<sys::OlmSession>);

impl Session {
    fn blank() -> Self {
        // SAFETY: size, constructor and destructor are libolm's for OlmSession.
        Session(unsafe {
            Object::new(
                sys::olm_session_size(),
                sys::olm_session,
                sys::olm_clear_session,
            )
        })
    }

    fn check(&self, result: usize, what: &str) -> Result<usize, Reject> {
        // SAFETY: the session is constructed; `last_error` returns a static string.
        check(result, what, || unsafe {
            sys::olm_session_last_error(self.0.cptr())
        })
    }

    /// The initiator's session to `bundle`, from the outbound-session bytes of `rng`.
    fn outbound(account: &Account, bundle: &OlmBundle, rng: &mut BoxRng) -> Result<Self, Reject> {
        let mut session = Session::blank();
        let identity = b64::encode(&bundle.identity_key);
        let one_time = b64::encode(&bundle.one_time_key);
        // SAFETY: the session is constructed; the call only reads it.
        let len = unsafe { sys::olm_create_outbound_session_random_length(session.0.cptr()) };
        let mut bytes = random(rng, len);
        // SAFETY: the keys are readable buffers of their given lengths, `bytes` is `len`
        // writable bytes; the account is only read.
        let r = unsafe {
            sys::olm_create_outbound_session(
                session.0.ptr(),
                account.0.cptr(),
                identity.as_ptr().cast(),
                identity.len(),
                one_time.as_ptr().cast(),
                one_time.len(),
                bytes.as_mut_ptr().cast(),
                bytes.len(),
            )
        };
        session.check(r, "olm_create_outbound_session")?;
        Ok(session)
    }

    /// The responder's session from a pre-key message (base64) for one of its one-time keys.
    fn inbound(account: &mut Account, message: &[u8]) -> Result<Self, Reject> {
        let mut session = Session::blank();
        let mut copy = message.to_vec();
        // SAFETY: `copy` is a writable buffer of its length (libolm decodes it in place).
        let r = unsafe {
            sys::olm_create_inbound_session(
                session.0.ptr(),
                account.0.ptr(),
                copy.as_mut_ptr().cast(),
                copy.len(),
            )
        };
        session.check(r, "olm_create_inbound_session")?;
        Ok(session)
    }

    /// Whether a pre-key message (base64) belongs to this session.
    fn matches(&mut self, message: &[u8]) -> Result<bool, Reject> {
        let mut copy = message.to_vec();
        // SAFETY: `copy` is a writable buffer of its length (libolm decodes it in place).
        let r = unsafe {
            sys::olm_matches_inbound_session(self.0.ptr(), copy.as_mut_ptr().cast(), copy.len())
        };
        Ok(self.check(r, "olm_matches_inbound_session")? == 1)
    }

    /// Encrypts `payload`: the message type and the message's raw bytes.
    fn encrypt(&mut self, payload: &[u8], rng: &mut BoxRng) -> Result<(u8, Vec<u8>), Reject> {
        // SAFETY: the session is constructed; these calls only read it.
        let (message_type, random_len, out_len) = unsafe {
            (
                sys::olm_encrypt_message_type(self.0.cptr()),
                sys::olm_encrypt_random_length(self.0.cptr()),
                sys::olm_encrypt_message_length(self.0.cptr(), payload.len()),
            )
        };
        let message_type = match self.check(message_type, "olm_encrypt_message_type")? {
            0 => olm_wire::PRE_KEY,
            1 => olm_wire::NORMAL,
            t => return Err(other(format!("olm_encrypt_message_type gave {t}"))),
        };
        let mut bytes = random(rng, random_len);
        let mut out = vec![0u8; out_len];
        // SAFETY: `payload` is readable, `bytes` and `out` writable, each of its given length;
        // `out` is the length libolm asked for.
        let r = unsafe {
            sys::olm_encrypt(
                self.0.ptr(),
                payload.as_ptr().cast(),
                payload.len(),
                bytes.as_mut_ptr().cast(),
                bytes.len(),
                out.as_mut_ptr().cast(),
                out.len(),
            )
        };
        let n = self.check(r, "olm_encrypt")?;
        let raw = unbase64(out.get(..n).unwrap_or(&out), "olm_encrypt")?;
        Ok((message_type, raw))
    }

    /// The most plaintext a message (base64) can hold; refuses bytes whose format libolm
    /// cannot read.
    fn max_plaintext_length(&mut self, message_type: u8, message: &[u8]) -> Result<usize, Reject> {
        let mut copy = message.to_vec();
        // SAFETY: `copy` is a writable buffer of its length (libolm decodes it in place).
        let max = unsafe {
            sys::olm_decrypt_max_plaintext_length(
                self.0.ptr(),
                usize::from(message_type),
                copy.as_mut_ptr().cast(),
                copy.len(),
            )
        };
        self.check(max, "olm_decrypt_max_plaintext_length")
    }

    /// Decrypts a message (base64) of type `message_type` into its payload.
    fn decrypt(&mut self, message_type: u8, message: &[u8]) -> Result<Vec<u8>, Reject> {
        let max = self.max_plaintext_length(message_type, message)?;
        let message_type = usize::from(message_type);
        let mut copy = message.to_vec();
        let mut plaintext = vec![0u8; max];
        // SAFETY: `copy` and `plaintext` are writable buffers of their lengths; `plaintext`
        // is the length libolm asked for.
        let r = unsafe {
            sys::olm_decrypt(
                self.0.ptr(),
                message_type,
                copy.as_mut_ptr().cast(),
                copy.len(),
                plaintext.as_mut_ptr().cast(),
                plaintext.len(),
            )
        };
        let n = self.check(r, "olm_decrypt")?;
        plaintext.truncate(n);
        Ok(plaintext)
    }

    /// The session's state, encrypted under [`PICKLE_KEY`].
    fn pickle(&mut self) -> Result<Vec<u8>, Reject> {
        self.0.pickle(&SESSION_PICKLE)
    }

    /// A fresh session in the state [`Session::pickle`] gave.
    fn unpickled(pickle: &[u8]) -> Result<Self, Reject> {
        Object::unpickled(pickle, &SESSION_PICKLE).map(Session)
    }

    /// libolm's own description of the ratchet (chain and skipped-key indices).
    #[cfg(test)]
    fn describe(&mut self) -> String {
        let mut buf = vec![0u8; 4096];
        // SAFETY: `buf` is writable for its length; libolm writes a NUL-terminated string
        // within it.
        unsafe { sys::olm_session_describe(self.0.ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }
}

/// Removes the one-time key `session` was made from, so no second session can use it.
fn remove_one_time_key(account: &mut Account, session: &mut Session) -> Result<(), Reject> {
    // SAFETY: both objects are constructed; libolm looks the session's key up in the account.
    let r = unsafe { sys::olm_remove_one_time_keys(account.0.ptr(), session.0.ptr()) };
    account.check(r, "olm_remove_one_time_keys").map(|_| ())
}

/// Tags of a normal Olm message (`src/message.cpp`): ratchet key, chain index, ciphertext,
/// in the order libolm's `decode_message` tries them.
const MESSAGE_TAGS: [u8; 3] = [0x0a, 0x10, 0x22];
/// Tags of a pre-key message: one-time key, base key, identity key, inner message, in the
/// order `decode_one_time_key_message` tries them.
const PRE_KEY_TAGS: [u8; 4] = [0x0a, 0x12, 0x1a, 0x22];

/// Past the varint at `pos` (or at `end`), as libolm's `varint_skip`.
fn varint_skip(bytes: &[u8], mut pos: usize, end: usize) -> usize {
    while pos < end {
        let b = bytes[pos];
        pos += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    pos
}

/// A varint's value in 64 bits, high bits dropped as libolm's `varint_decode` drops them.
fn varint_value(bytes: &[u8]) -> u64 {
    bytes.iter().enumerate().fold(0, |v, (i, b)| {
        v | u64::from(b & 0x7f).checked_shl(7 * i as u32).unwrap_or(0)
    })
}

/// One field's value as libolm reads it.
#[derive(Clone, Copy)]
enum Value<'a> {
    Bytes(&'a [u8]),
    Int(u32),
}

/// The fields with `tags` of `bytes[..end]` after its version byte, read as libolm's
/// decoders in `src/message.cpp` read them: a later field of a tag replaces an earlier one,
/// other fields are skipped, and a length past the end or an unknown wire type ends the
/// reading. Mirroring libolm here, not a strict parser, is the point: the bench must see the
/// fields libolm acted on (libolm ignores bytes appended to a pre-key message, for one).
fn libolm_fields<'a>(bytes: &'a [u8], end: usize, tags: &[u8]) -> Vec<(u8, Value<'a>)> {
    let mut out: Vec<(u8, Value<'a>)> = Vec::new();
    let end = end.min(bytes.len());
    if end == 0 {
        return out;
    }
    let mut pos = 1;
    while pos < end {
        let unknown = pos;
        for &tag in tags {
            if pos >= end || bytes[pos] != tag {
                continue;
            }
            pos += 1;
            let start = pos;
            pos = varint_skip(bytes, pos, end);
            let value = if tag & 7 == 0 {
                Value::Int(varint_value(&bytes[start..pos]) as u32)
            } else {
                let len = varint_value(&bytes[start..pos]);
                match usize::try_from(len).ok().filter(|&l| l <= end - pos) {
                    Some(len) => {
                        pos += len;
                        Value::Bytes(&bytes[pos - len..pos])
                    }
                    None => {
                        pos = end;
                        continue;
                    }
                }
            };
            out.retain(|f| f.0 != tag);
            out.push((tag, value));
        }
        if pos == unknown {
            // libolm's `skip_unknown`.
            let tag = bytes[pos];
            pos = match tag & 7 {
                0 => varint_skip(bytes, varint_skip(bytes, pos, end), end),
                2 => {
                    let start = varint_skip(bytes, pos, end);
                    let after = varint_skip(bytes, start, end);
                    let len = varint_value(&bytes[start..after]);
                    match usize::try_from(len).ok().filter(|&l| l <= end - after) {
                        Some(len) => after + len,
                        None => end,
                    }
                }
                _ => end,
            };
        }
    }
    out
}

/// The bytes of field `tag`, if present.
fn field<'a>(fields: &[(u8, Value<'a>)], tag: u8) -> Option<&'a [u8]> {
    fields.iter().find_map(|f| match f {
        (t, Value::Bytes(b)) if *t == tag => Some(*b),
        _ => None,
    })
}

/// Whether a pre-key message carries the one-time key, base key and identity key, 32 bytes
/// each, and an inner message, as libolm's `check_message_fields` requires to match it to a
/// session.
fn pre_key_fields_present(raw: &[u8]) -> bool {
    let fields = libolm_fields(raw, raw.len(), &PRE_KEY_TAGS);
    [0x0a, 0x12, 0x1a]
        .iter()
        .all(|&tag| field(&fields, tag).is_some_and(|k| k.len() == KEY_LEN))
        && field(&fields, 0x22).is_some()
}

/// The ratchet key and chain index of a normal Olm message, or of the inner message of a
/// pre-key message, as libolm reads them.
fn header(message_type: u8, raw: &[u8]) -> Option<([u8; KEY_LEN], u64)> {
    let normal = if message_type == olm_wire::PRE_KEY {
        field(&libolm_fields(raw, raw.len(), &PRE_KEY_TAGS), 0x22)?
    } else {
        raw
    };
    let end = normal.len().checked_sub(olm_wire::MAC_LEN)?;
    let fields = libolm_fields(normal, end, &MESSAGE_TAGS);
    let key = field(&fields, 0x0a)?.try_into().ok()?;
    let counter = fields.iter().find_map(|f| match f {
        (0x10, Value::Int(n)) => Some(u64::from(*n)),
        _ => None,
    })?;
    Some((key, counter))
}

/// The adapter's copy of what libolm's ratchet keeps about received chains: each chain's
/// ratchet key and next index (newest first, at most 5) and the skipped keys (newest first,
/// at most 40 in all), updated after each decrypt the way `Ratchet::decrypt` does. libolm
/// says `BAD_MESSAGE_MAC` for every refusal of its ratchet; this book tells a replay and a
/// gap too large and a message of a dropped chain from a failed MAC.
#[derive(Default)]
struct ChainBook {
    chains: VecDeque<([u8; KEY_LEN], u64)>,
    skipped: VecDeque<([u8; KEY_LEN], u64)>,
    /// The ratchet keys of the chains libolm dropped, the newest [`DROPPED_KEPT`].
    dropped: VecDeque<[u8; KEY_LEN]>,
}

/// How many dropped chains the book remembers, to name a message of one as such.
const DROPPED_KEPT: usize = 64;

impl ChainBook {
    /// Appends the book to an exported state: chains, skipped keys, dropped chains, each a
    /// count (4 bytes) and its entries (a ratchet key, and an index of 8 bytes).
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.chains.len() as u32).to_be_bytes());
        for (key, index) in &self.chains {
            out.extend_from_slice(key);
            out.extend_from_slice(&index.to_be_bytes());
        }
        out.extend_from_slice(&(self.skipped.len() as u32).to_be_bytes());
        for (key, index) in &self.skipped {
            out.extend_from_slice(key);
            out.extend_from_slice(&index.to_be_bytes());
        }
        out.extend_from_slice(&(self.dropped.len() as u32).to_be_bytes());
        for key in &self.dropped {
            out.extend_from_slice(key);
        }
    }

    /// The book [`ChainBook::write`] wrote; counts above libolm's bounds are refused.
    fn read(r: &mut StateReader<'_>) -> Result<Self, String> {
        let mut book = ChainBook::default();
        let n = r.count("book chain count", OLM_MAX_RECEIVER_CHAINS as usize)?;
        for _ in 0..n {
            let key = r.key("book chain ratchet key")?;
            let index = u64::from_be_bytes(r.array::<8>("book chain next index")?);
            book.chains.push_back((key, index));
        }
        let n = r.count(
            "book skipped key count",
            OLM_MAX_SKIPPED_MESSAGE_KEYS as usize,
        )?;
        for _ in 0..n {
            let key = r.key("book skipped key ratchet key")?;
            let index = u64::from_be_bytes(r.array::<8>("book skipped key index")?);
            book.skipped.push_back((key, index));
        }
        let n = r.count("book dropped chain count", DROPPED_KEPT)?;
        for _ in 0..n {
            book.dropped
                .push_back(r.key("book dropped chain ratchet key")?);
        }
        Ok(book)
    }

    /// Records a message libolm decrypted.
    fn accepted(&mut self, key: [u8; KEY_LEN], counter: u64) {
        let next = match self.chains.iter_mut().find(|c| c.0 == key) {
            Some(chain) if counter < chain.1 => {
                if let Some(at) = self.skipped.iter().position(|s| *s == (key, counter)) {
                    self.skipped.remove(at);
                }
                return;
            }
            Some(chain) => chain,
            None => {
                self.chains.push_front((key, 0));
                while self.chains.len() > OLM_MAX_RECEIVER_CHAINS as usize {
                    if let Some((old, _)) = self.chains.pop_back() {
                        self.dropped.push_front(old);
                    }
                }
                self.dropped.truncate(DROPPED_KEPT);
                match self.chains.front_mut() {
                    Some(chain) => chain,
                    None => return,
                }
            }
        };
        // More than 40 skipped keys would each push the oldest out: only the last 40 stay.
        let first = next
            .1
            .max(counter.saturating_sub(u64::from(OLM_MAX_SKIPPED_MESSAGE_KEYS)));
        for index in first..counter {
            self.skipped.push_front((key, index));
        }
        self.skipped.truncate(OLM_MAX_SKIPPED_MESSAGE_KEYS as usize);
        next.1 = counter + 1;
    }

    /// The class of libolm's `BAD_MESSAGE_MAC` for a message at `counter` of chain `key`.
    fn refused(&self, key: [u8; KEY_LEN], counter: u64) -> (RejectClass, &'static str) {
        let gap = u64::from(OLM_MAX_MESSAGE_GAP);
        match self.chains.iter().find(|c| c.0 == key) {
            Some(&(_, next)) if counter < next => {
                if self.skipped.contains(&(key, counter)) {
                    (RejectClass::Auth, "its skipped key is kept, the MAC failed")
                } else {
                    (
                        RejectClass::Replay,
                        "an earlier index of a kept chain whose key is used or dropped",
                    )
                }
            }
            Some(&(_, next)) if counter - next > gap => (
                RejectClass::TooFarAhead,
                "more than MAX_MESSAGE_GAP past the chain's next index",
            ),
            // libolm takes it for a new chain, whose keys then do not verify.
            None if self.dropped.contains(&key) => (
                RejectClass::Replay,
                "a chain dropped (MAX_RECEIVER_CHAINS kept), its keys gone",
            ),
            None if counter > gap => (
                RejectClass::TooFarAhead,
                "a new chain's index above MAX_MESSAGE_GAP",
            ),
            _ => (RejectClass::Auth, "the MAC failed"),
        }
    }
}

/// The version byte of the adapter's exported states (see the module doc).
const STATE_VERSION: u8 = 1;
/// How long a pickle or session key in a state may be, far above any real one (an Olm
/// session with five chains and forty skipped keys pickles to about 5 KB of base64).
const STATE_FIELD_MAX: u32 = 1 << 20;

/// An exclusive borrow of a party's libolm object for its export (see [`OlmParty`]).
fn borrow<T>(cell: &RefCell<T>) -> Result<std::cell::RefMut<'_, T>, Reject> {
    cell.try_borrow_mut()
        .map_err(|_| other("export: the libolm object is in use by another call"))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_optional_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            out.push(1);
            put_bytes(out, bytes);
        }
        None => out.push(0),
    }
}

/// A malformed state: the reader's sentence, which names the state and the field.
fn bad_state(reason: String) -> Reject {
    Reject::new(RejectClass::Malformed, reason)
}

/// A length-prefixed field.
fn read_bytes<'a>(r: &mut StateReader<'a>, field: &str) -> Result<&'a [u8], Reject> {
    let len = r
        .count(&format!("{field} length"), STATE_FIELD_MAX as usize)
        .map_err(bad_state)?;
    r.take(len, field).map_err(bad_state)
}

/// A flag, then a length-prefixed field if it is set.
fn read_optional_bytes<'a>(
    r: &mut StateReader<'a>,
    field: &str,
) -> Result<Option<&'a [u8]>, Reject> {
    if r.flag(&format!("{field} flag")).map_err(bad_state)? {
        read_bytes(r, field).map(Some)
    } else {
        Ok(None)
    }
}

/// A libolm object from the pickle in field `field` of state `what`; libolm's refusal (its
/// MAC check, its format checks) becomes a malformed state naming the field.
fn unpickle_field<T>(
    pickle: &[u8],
    fns: &PickleFns<T>,
    what: &str,
    field: &str,
) -> Result<Object<T>, Reject> {
    Object::unpickled(pickle, fns).map_err(|e| bad_state(format!("{what}: {field}: {}", e.detail)))
}

/// The account, session and chain book of an Olm state (see the module doc).
fn read_olm_state(state: &[u8]) -> Result<(Account, Option<Session>, ChainBook), Reject> {
    const WHAT: &str = "libolm-olm state";
    let mut r = StateReader::new(state, WHAT);
    r.version(STATE_VERSION).map_err(bad_state)?;
    let account = read_bytes(&mut r, "account pickle")?;
    let session = read_optional_bytes(&mut r, "session pickle")?;
    let book = ChainBook::read(&mut r).map_err(bad_state)?;
    r.finish().map_err(bad_state)?;
    let account = Account(unpickle_field(
        account,
        &ACCOUNT_PICKLE,
        WHAT,
        "account pickle",
    )?);
    let session = match session {
        Some(pickle) => Some(Session(unpickle_field(
            pickle,
            &SESSION_PICKLE,
            WHAT,
            "session pickle",
        )?)),
        None => None,
    };
    Ok((account, session, book))
}

/// The Megolm party of a state (see the module doc).
fn read_megolm_state(state: &[u8]) -> Result<MegolmParty, Reject> {
    const WHAT: &str = "libolm-megolm state";
    let mut r = StateReader::new(state, WHAT);
    r.version(STATE_VERSION).map_err(bad_state)?;
    let own = read_bytes(&mut r, "outbound session pickle")?;
    let theirs = read_optional_bytes(&mut r, "inbound session pickle")?;
    let handshake = read_optional_bytes(&mut r, "handshake session key")?.map(<[u8]>::to_vec);
    r.finish().map_err(bad_state)?;
    let own = Outbound(unpickle_field(
        own,
        &OUTBOUND_PICKLE,
        WHAT,
        "outbound session pickle",
    )?);
    let theirs = match theirs {
        Some(pickle) => Some(Inbound(unpickle_field(
            pickle,
            &INBOUND_PICKLE,
            WHAT,
            "inbound session pickle",
        )?)),
        None => None,
    };
    Ok(MegolmParty {
        own: RefCell::new(own),
        theirs: theirs.map(RefCell::new),
        handshake,
    })
}

/// libolm as an Olm peer (family `olm`).
pub struct LibolmOlm;

/// libolm as a Megolm peer (family `megolm`).
pub struct LibolmMegolm;

/// One side of an Olm session. The responder holds its account until the initiator's first
/// pre-key message makes the session; the initiator has its session from the start.
///
/// The libolm objects sit in `RefCell`s for [`Party::export_state`] alone: libolm's pickle
/// functions take a mutable pointer (they record an error in the object when they fail),
/// while the export has `&self`, and writing through a pointer made from a shared borrow
/// would be undefined behaviour. The cell gives the pickle call a checked exclusive borrow;
/// encrypt and decrypt reach the objects through `get_mut`, free and statically exclusive.
/// A party is not `Sync` and the export calls nothing back, so its borrow never finds
/// another one outstanding (were it to, the export is refused, not a panic). Chosen over a
/// pickle refreshed after every successful call, which would cost a whole pickle (AES and
/// HMAC of the state) per encrypt and decrypt for exports made a few times per scenario,
/// and could fall behind the objects if a call forgot to refresh it.
struct OlmParty {
    account: RefCell<Account>,
    session: Option<RefCell<Session>>,
    book: ChainBook,
    rng: BoxRng,
}

impl Peer for LibolmOlm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "libolm-olm".into(),
            version: version(),
            family: Family::OLM,
            limits: Limits {
                max_skip: OLM_MAX_MESSAGE_GAP,
                max_stored: Some(OLM_MAX_SKIPPED_MESSAGE_KEYS),
                max_stored_per_chain: None,
                when_full: WhenFull::EvictOldest,
                window: None,
                max_chains: Some(OLM_MAX_RECEIVER_CHAINS),
            },
            capabilities: Capabilities {
                injectable_rng: true,
                export_state: true,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        _init: &SessionInit,
        mut rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let mut account = Account::new(&mut rng)?;
        let one_time_key = account.one_time_key(&mut rng)?;
        let bundle = OlmBundle {
            identity_key: account.curve25519_key()?,
            one_time_key,
        };
        let party = OlmParty {
            account: RefCell::new(account),
            session: None,
            book: ChainBook::default(),
            rng,
        };
        Ok((Box::new(party), bundle.to_bytes()))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        mut rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let bundle = OlmBundle::parse(bundle)?;
        let account = Account::new(&mut rng)?;
        let session = Session::outbound(&account, &bundle, &mut rng)?;
        Ok(Box::new(OlmParty {
            account: RefCell::new(account),
            session: Some(RefCell::new(session)),
            book: ChainBook::default(),
            rng,
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::olm_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&ratchet_bench_references::codec::OlmCodec)
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let (account, session, book) = read_olm_state(state)?;
        Ok(Box::new(OlmParty {
            account: RefCell::new(account),
            session: session.map(RefCell::new),
            book,
            rng,
        }))
    }
}

impl OlmParty {
    /// Decrypts in the party's session, leaving it as it was if the message is refused.
    fn decrypt_in_session(
        &mut self,
        ad: &[u8],
        message_type: u8,
        raw: &[u8],
        text: &[u8],
    ) -> Result<Vec<u8>, Reject> {
        let session = self
            .session
            .as_mut()
            .map(RefCell::get_mut)
            .ok_or_else(|| other("no session"))?;
        let before = session.pickle()?;
        let payload = session.decrypt(message_type, text).map_err(|mut e| {
            if e.detail.ends_with("BAD_MESSAGE_MAC") {
                if let Some((key, counter)) = header(message_type, raw) {
                    let (class, why) = self.book.refused(key, counter);
                    e.class = class;
                    e.detail = format!("{} (index {counter}: {why})", e.detail);
                }
            }
            e
        })?;
        match olm_wire::unbind_ad(ad, &payload) {
            Ok(plaintext) => {
                if let Some((key, counter)) = header(message_type, raw) {
                    self.book.accepted(key, counter);
                }
                Ok(plaintext)
            }
            Err(e) => {
                *session = Session::unpickled(&before)?;
                Err(e)
            }
        }
    }
}

impl Party for OlmParty {
    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let account = borrow(&self.account)?.0.pickle(&ACCOUNT_PICKLE)?;
        let session = match &self.session {
            Some(session) => Some(borrow(session)?.0.pickle(&SESSION_PICKLE)?),
            None => None,
        };
        let mut out = vec![STATE_VERSION];
        put_bytes(&mut out, &account);
        put_optional_bytes(&mut out, session.as_deref());
        self.book.write(&mut out);
        Ok(out)
    }

    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let payload = olm_wire::bind_ad(ad, plaintext)?;
        let session = self.session.as_mut().map(RefCell::get_mut).ok_or_else(|| {
            Reject::new(
                RejectClass::UnknownSession,
                "no Olm session yet: the responder has not received a pre-key message",
            )
        })?;
        let (message_type, raw) = session.encrypt(&payload, &mut self.rng)?;
        Ok(olm_wire::olm_wire(message_type, &raw))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let (message_type, raw) = olm_wire::split_olm_wire(wire)?;
        let text = b64::encode(raw);
        match (message_type, self.session.as_mut().map(RefCell::get_mut)) {
            (olm_wire::PRE_KEY, None) => {
                // A session made from a message that is then refused is dropped, with the
                // one-time key still in the account: nothing changed.
                let mut session = Session::inbound(self.account.get_mut(), &text)?;
                let payload = session.decrypt(message_type, &text)?;
                let plaintext = olm_wire::unbind_ad(ad, &payload)?;
                remove_one_time_key(self.account.get_mut(), &mut session)?;
                self.session = Some(RefCell::new(session));
                if let Some((key, counter)) = header(message_type, raw) {
                    self.book.accepted(key, counter);
                }
                Ok(plaintext)
            }
            (olm_wire::PRE_KEY, Some(session)) => {
                // `olm_matches_inbound_session` says "no" to bytes that are no pre-key
                // message at all; libolm's own format check tells those apart first.
                session.max_plaintext_length(message_type, &text)?;
                if !pre_key_fields_present(raw) {
                    return Err(Reject::new(
                        RejectClass::Malformed,
                        "a pre-key message without its 32-byte one-time, base and identity \
                         keys (the fields libolm's check_message_fields requires)",
                    ));
                }
                if !session.matches(&text)? {
                    return Err(Reject::new(
                        RejectClass::UnknownSession,
                        "olm_matches_inbound_session: the pre-key message is of another session",
                    ));
                }
                self.decrypt_in_session(ad, message_type, raw, &text)
            }
            (_, Some(_)) => self.decrypt_in_session(ad, message_type, raw, &text),
            (_, None) => Err(Reject::new(
                RejectClass::UnknownSession,
                "a normal Olm message before any session: the responder needs a pre-key \
                 message first",
            )),
        }
    }
}

/// A Megolm outbound session (this side's sending ratchet and signing key).
struct Outbound(Object<sys::OlmOutboundGroupSession>);

impl Outbound {
    /// A new outbound session from the bytes libolm asks of `rng`.
    fn new(rng: &mut BoxRng) -> Result<Self, Reject> {
        // SAFETY: size, constructor and destructor are libolm's for OlmOutboundGroupSession.
        let mut session = Outbound(unsafe {
            Object::new(
                sys::olm_outbound_group_session_size(),
                sys::olm_outbound_group_session,
                sys::olm_clear_outbound_group_session,
            )
        });
        // SAFETY: the session is constructed; the call only reads it.
        let len = unsafe { sys::olm_init_outbound_group_session_random_length(session.0.cptr()) };
        let mut bytes = random(rng, len);
        // SAFETY: `bytes` is `len` writable bytes (libolm wipes them after use).
        let r = unsafe {
            sys::olm_init_outbound_group_session(session.0.ptr(), bytes.as_mut_ptr(), bytes.len())
        };
        session.check(r, "olm_init_outbound_group_session")?;
        Ok(session)
    }

    fn check(&self, result: usize, what: &str) -> Result<usize, Reject> {
        // SAFETY: the session is constructed; `last_error` returns a static string.
        check(result, what, || unsafe {
            sys::olm_outbound_group_session_last_error(self.0.cptr())
        })
    }

    /// The session key at the current index, raw (the shared signed format).
    fn session_key(&mut self) -> Result<Vec<u8>, Reject> {
        // SAFETY: the session is constructed; the call only reads it.
        let len = unsafe { sys::olm_outbound_group_session_key_length(self.0.cptr()) };
        let mut out = vec![0u8; len];
        // SAFETY: `out` is `len` writable bytes, the length libolm asked for.
        let r = unsafe { sys::olm_outbound_group_session_key(self.0.ptr(), out.as_mut_ptr(), len) };
        let n = self.check(r, "olm_outbound_group_session_key")?;
        unbase64(
            out.get(..n).unwrap_or(&out),
            "olm_outbound_group_session_key",
        )
    }

    /// Encrypts `payload` into a Megolm message, raw.
    fn encrypt(&mut self, payload: &[u8]) -> Result<Vec<u8>, Reject> {
        // SAFETY: the session is constructed; the call only reads it.
        let len = unsafe { sys::olm_group_encrypt_message_length(self.0.ptr(), payload.len()) };
        let mut out = vec![0u8; len];
        // SAFETY: `payload` is readable and `out` writable, each of its given length; `out`
        // is the length libolm asked for.
        let r = unsafe {
            sys::olm_group_encrypt(
                self.0.ptr(),
                payload.as_ptr(),
                payload.len(),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        let n = self.check(r, "olm_group_encrypt")?;
        unbase64(out.get(..n).unwrap_or(&out), "olm_group_encrypt")
    }
}

/// A Megolm inbound session (the other side's ratchet, from its session key).
struct Inbound(Object<sys::OlmInboundGroupSession>);

impl Inbound {
    /// Imports a session key (raw, the shared signed format).
    fn new(session_key: &[u8]) -> Result<Self, Reject> {
        // SAFETY: size, constructor and destructor are libolm's for OlmInboundGroupSession.
        let mut session = Inbound(unsafe {
            Object::new(
                sys::olm_inbound_group_session_size(),
                sys::olm_inbound_group_session,
                sys::olm_clear_inbound_group_session,
            )
        });
        let text = b64::encode(session_key);
        // SAFETY: `text` is readable for its length; libolm decodes it into its own buffer.
        let r = unsafe {
            sys::olm_init_inbound_group_session(session.0.ptr(), text.as_ptr(), text.len())
        };
        session.check(r, "olm_init_inbound_group_session")?;
        Ok(session)
    }

    fn check(&self, result: usize, what: &str) -> Result<usize, Reject> {
        // SAFETY: the session is constructed; `last_error` returns a static string.
        check(result, what, || unsafe {
            sys::olm_inbound_group_session_last_error(self.0.cptr())
        })
    }

    /// Decrypts a Megolm message (raw) into its payload.
    fn decrypt(&mut self, message: &[u8]) -> Result<Vec<u8>, Reject> {
        let text = b64::encode(message);
        let mut copy = text.clone();
        // SAFETY: `copy` is a writable buffer of its length (libolm decodes it in place).
        let max = unsafe {
            sys::olm_group_decrypt_max_plaintext_length(self.0.ptr(), copy.as_mut_ptr(), copy.len())
        };
        let max = self.check(max, "olm_group_decrypt_max_plaintext_length")?;
        let mut copy = text;
        let mut plaintext = vec![0u8; max];
        let mut index = 0u32;
        // SAFETY: `copy` and `plaintext` are writable buffers of their lengths, `plaintext`
        // the length libolm asked for; `index` is a live u32.
        let r = unsafe {
            sys::olm_group_decrypt(
                self.0.ptr(),
                copy.as_mut_ptr(),
                copy.len(),
                plaintext.as_mut_ptr(),
                plaintext.len(),
                &mut index,
            )
        };
        let n = self.check(r, "olm_group_decrypt").map_err(|mut e| {
            if e.detail.ends_with("UNKNOWN_MESSAGE_INDEX") {
                // SAFETY: the session is constructed; the call only reads it.
                let first =
                    unsafe { sys::olm_inbound_group_session_first_known_index(self.0.cptr()) };
                // libolm compares indices modulo 2^32 (`_get_megolm`): one at least 2^31
                // past the first known index looks to it like one before. An index not below
                // the first known one is the former.
                if index >= first {
                    e.class = RejectClass::TooFarAhead;
                    e.detail = format!(
                        "{} (index {index}: 2^31 or more past the first known index {first} \
                         and the latest)",
                        e.detail
                    );
                } else {
                    e.detail = format!(
                        "{} (index {index}: before the first known index {first})",
                        e.detail
                    );
                }
            }
            e
        })?;
        plaintext.truncate(n);
        Ok(plaintext)
    }
}

/// One side of a Megolm session: its own outbound session, and the other side's imported
/// inbound session once it has the key. In `RefCell`s for the export, as in [`OlmParty`].
struct MegolmParty {
    own: RefCell<Outbound>,
    theirs: Option<RefCell<Inbound>>,
    handshake: Option<Vec<u8>>,
}

impl Peer for LibolmMegolm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "libolm-megolm".into(),
            version: version(),
            family: Family::MEGOLM,
            limits: olm_wire::megolm_limits(MEGOLM_MAX_SKIP),
            capabilities: Capabilities {
                injectable_rng: true,
                export_state: true,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        _init: &SessionInit,
        mut rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let mut own = Outbound::new(&mut rng)?;
        let bundle = own.session_key()?;
        let party = MegolmParty {
            own: RefCell::new(own),
            theirs: None,
            handshake: None,
        };
        Ok((Box::new(party), bundle))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        mut rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let theirs = Inbound::new(bundle)?;
        let mut own = Outbound::new(&mut rng)?;
        // Taken now, at index 0, whenever the bench asks for it.
        let handshake = Some(own.session_key()?);
        Ok(Box::new(MegolmParty {
            own: RefCell::new(own),
            theirs: Some(RefCell::new(theirs)),
            handshake,
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::megolm_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&ratchet_bench_references::codec::MegolmCodec)
    }

    fn restore(&self, state: &[u8], _rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        // Megolm draws randomness only when a session is made: a restored party needs none.
        Ok(Box::new(read_megolm_state(state)?))
    }
}

impl Party for MegolmParty {
    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let own = borrow(&self.own)?.0.pickle(&OUTBOUND_PICKLE)?;
        let theirs = match &self.theirs {
            Some(theirs) => Some(borrow(theirs)?.0.pickle(&INBOUND_PICKLE)?),
            None => None,
        };
        let mut out = vec![STATE_VERSION];
        put_bytes(&mut out, &own);
        put_optional_bytes(&mut out, theirs.as_deref());
        put_optional_bytes(&mut out, self.handshake.as_deref());
        Ok(out)
    }

    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let payload = olm_wire::bind_ad(ad, plaintext)?;
        self.own.get_mut().encrypt(&payload)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let theirs = self.theirs.as_mut().map(RefCell::get_mut).ok_or_else(|| {
            Reject::new(
                RejectClass::UnknownSession,
                "no inbound Megolm session yet: the initiator's session key has not arrived",
            )
        })?;
        // A Megolm message names no session, so one of another session fails its signature
        // check here: BAD_SIGNATURE, Auth.
        let payload = theirs.decrypt(wire)?;
        olm_wire::unbind_ad(ad, &payload)
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        Ok(self.handshake.take())
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.theirs = Some(RefCell::new(Inbound::new(handshake)?));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(label: &str) -> BoxRng {
        Box::new(ratchet_bench_core::rng::stream(3, label))
    }

    #[test]
    fn base64_matches_rfc4648_examples_unpadded() {
        // RFC 4648 section 10, with the padding libolm leaves out removed.
        let cases: [(&str, &str); 7] = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, text) in cases {
            assert_eq!(b64::encode(plain.as_bytes()), text.as_bytes());
            assert_eq!(b64::decode(text.as_bytes()).unwrap(), plain.as_bytes());
        }
        assert_eq!(b64::encode(&[0xfb, 0xff]), b"+/8");
        assert!(b64::decode(b"Zm9vY").is_none());
        assert!(b64::decode(b"Zm9=").is_none());
    }

    #[test]
    fn error_names_map_onto_classes() {
        assert_eq!(class_of("BAD_MESSAGE_MAC"), RejectClass::Auth);
        assert_eq!(class_of("BAD_SIGNATURE"), RejectClass::Auth);
        assert_eq!(class_of("BAD_MESSAGE_FORMAT"), RejectClass::Malformed);
        assert_eq!(class_of("BAD_MESSAGE_KEY_ID"), RejectClass::UnknownSession);
        assert_eq!(class_of("UNKNOWN_MESSAGE_INDEX"), RejectClass::Replay);
        assert_eq!(class_of("NOT_ENOUGH_RANDOM"), RejectClass::Other);
    }

    #[test]
    fn fields_are_read_as_libolm_reads_them() {
        // Version, ratchet key, counter 300, ciphertext, then an 8-byte MAC.
        let mut normal = vec![3, 0x0a, 32];
        normal.extend_from_slice(&[9; 32]);
        normal.extend_from_slice(&[0x10, 0xac, 0x02, 0x22, 2, 7, 7]);
        normal.extend_from_slice(&[8; 8]);
        assert_eq!(header(olm_wire::NORMAL, &normal), Some(([9; 32], 300)));
        // A pre-key message around it, with an unknown field and then trailing garbage.
        let mut pre_key = vec![3];
        for tag in [0x0a, 0x12, 0x1a] {
            pre_key.extend_from_slice(&[tag, 32]);
            pre_key.extend_from_slice(&[tag; 32]);
        }
        pre_key.extend_from_slice(&[0x22, normal.len() as u8]);
        pre_key.extend_from_slice(&normal);
        assert!(pre_key_fields_present(&pre_key));
        pre_key.extend_from_slice(&[0x42, 2, 0, 0, 0xff, 0xff]);
        assert_eq!(header(olm_wire::PRE_KEY, &pre_key), Some(([9; 32], 300)));
        assert!(pre_key_fields_present(&pre_key));
        // A later field of a tag replaces the earlier one; a length past the end ends it.
        let mut twice = normal[..normal.len() - 8].to_vec();
        twice.extend_from_slice(&[0x10, 5, 0x0a, 200]);
        twice.extend_from_slice(&[8; 8]);
        assert_eq!(header(olm_wire::NORMAL, &twice), Some(([9; 32], 5)));
        assert!(!pre_key_fields_present(&[3, 0x0a, 32, 1]));
        assert_eq!(header(olm_wire::NORMAL, &[3; 5]), None);
    }

    #[test]
    fn the_version_is_libolm_3_2_7() {
        // olm-sys 1.3.2 bundles libolm 3.2.7 (its CMakeLists.txt's project version).
        assert!(version().starts_with("libolm 3.2.7"), "{}", version());
    }

    /// The indices `olm_session_describe` lists after `label:`, up to the next label.
    fn described(description: &str, label: &str) -> Vec<u64> {
        let rest = description.split(label).nth(1).unwrap_or("");
        rest.split_whitespace()
            .map_while(|w| w.parse().ok())
            .collect()
    }

    #[test]
    fn the_chain_book_follows_libolms_own_description() {
        let (mut bob, bundle) = respond_concrete();
        let mut alice = initiate_concrete(&bundle);
        // Chains of different lengths, out of order, some skipping more than 40 keys and
        // more than 5 chains: after each turn the book's chains and skipped keys must be
        // what libolm itself describes.
        for (turn, count) in [3u8, 50, 7, 2, 45, 1, 12, 4, 41, 2, 3, 5]
            .into_iter()
            .enumerate()
        {
            let (sender, receiver) = if turn % 2 == 0 {
                (&mut alice, &mut bob)
            } else {
                (&mut bob, &mut alice)
            };
            let wires: Vec<Vec<u8>> = (0..count)
                .map(|i| sender.encrypt(b"", &[i]).unwrap())
                .collect();
            receiver.decrypt(b"", wires.last().unwrap()).unwrap();
            for w in wires.iter().rev().skip(1).step_by(3).take(5) {
                receiver.decrypt(b"", w).unwrap();
            }
            for party in [&mut alice, &mut bob] {
                let description = party.session.as_mut().unwrap().get_mut().describe();
                let chains: Vec<u64> = party.book.chains.iter().map(|c| c.1).collect();
                let skipped: Vec<u64> = party.book.skipped.iter().map(|s| s.1).collect();
                assert_eq!(
                    described(&description, "receiver chain indices:"),
                    chains,
                    "chains after turn {turn}: {description}"
                );
                assert_eq!(
                    described(&description, "skipped message keys:"),
                    skipped,
                    "skipped keys after turn {turn}: {description}"
                );
            }
        }
        // Six chains received each: libolm keeps five; the book saw it do so.
        for party in [&alice, &bob] {
            assert_eq!(party.book.chains.len(), 5);
            assert!(!party.book.skipped.is_empty());
        }
    }

    fn respond_concrete() -> (OlmParty, Vec<u8>) {
        let mut rng = rng("B2");
        let mut account = Account::new(&mut rng).unwrap();
        let one_time_key = account.one_time_key(&mut rng).unwrap();
        let bundle = OlmBundle {
            identity_key: account.curve25519_key().unwrap(),
            one_time_key,
        };
        let party = OlmParty {
            account: RefCell::new(account),
            session: None,
            book: ChainBook::default(),
            rng,
        };
        (party, bundle.to_bytes())
    }

    fn initiate_concrete(bundle: &[u8]) -> OlmParty {
        let mut rng = rng("A2");
        let bundle = OlmBundle::parse(bundle).unwrap();
        let account = Account::new(&mut rng).unwrap();
        let session = Session::outbound(&account, &bundle, &mut rng).unwrap();
        OlmParty {
            account: RefCell::new(account),
            session: Some(RefCell::new(session)),
            book: ChainBook::default(),
            rng,
        }
    }
}
