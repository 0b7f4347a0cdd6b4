//! Helpers shared by the session tests: RNGs that log what a party draws, and one that
//! replays given bytes.

use crate::signal_v3::{BoxRng, Party};
use rand_chacha::rand_core::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The sizes of the draws a party made, shared with the test that built it.
pub type DrawLog = Arc<Mutex<Vec<usize>>>;

/// A seeded ChaCha20 stream that logs each draw's size.
pub struct Logged {
    inner: ChaCha20Rng,
    log: DrawLog,
}

impl RngCore for Logged {
    fn next_u32(&mut self) -> u32 {
        unimplemented!("the reference draws bytes only")
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!("the reference draws bytes only")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.log.lock().unwrap().push(dest.len());
        self.inner.fill_bytes(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Logged {}

/// A seeded RNG and the log of its draws.
pub fn logged(seed: u64) -> (BoxRng, DrawLog) {
    let log = DrawLog::default();
    let rng = Logged {
        inner: ChaCha20Rng::seed_from_u64(seed),
        log: log.clone(),
    };
    (Box::new(rng), log)
}

/// A seeded RNG.
pub fn seeded(seed: u64) -> BoxRng {
    logged(seed).0
}

/// Replays `bytes` and nothing more (a draw past them panics, failing the test).
pub struct Replay {
    bytes: Arc<Mutex<VecDeque<u8>>>,
}

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        unimplemented!("the reference draws bytes only")
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!("the reference draws bytes only")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let mut bytes = self.bytes.lock().unwrap();
        assert!(
            bytes.len() >= dest.len(),
            "the party drew {} bytes with {} left to replay",
            dest.len(),
            bytes.len()
        );
        for d in dest.iter_mut() {
            *d = bytes.pop_front().unwrap();
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Replay {}

/// An RNG replaying `bytes`, and a handle to see how many are left.
pub fn replay(bytes: Vec<u8>) -> (BoxRng, Arc<Mutex<VecDeque<u8>>>) {
    let shared = Arc::new(Mutex::new(VecDeque::from(bytes)));
    (
        Box::new(Replay {
            bytes: shared.clone(),
        }),
        shared,
    )
}

/// A responder and an initiator of one session, from two seeds.
pub fn pair(seed: u64) -> (Party, Party) {
    let (bob, bundle) = Party::respond(seeded(seed));
    let alice = Party::initiate(&bundle, seeded(seed + 1_000_000)).unwrap();
    (alice, bob)
}

/// `prefix`, then the seeded ChaCha20 stream.
struct Prefixed {
    prefix: VecDeque<u8>,
    rest: ChaCha20Rng,
}

impl RngCore for Prefixed {
    fn next_u32(&mut self) -> u32 {
        unimplemented!("the reference draws bytes only")
    }
    fn next_u64(&mut self) -> u64 {
        unimplemented!("the reference draws bytes only")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest.iter_mut() {
            *d = match self.prefix.pop_front() {
                Some(b) => b,
                None => {
                    let mut b = [0u8];
                    self.rest.fill_bytes(&mut b);
                    b[0]
                }
            };
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Prefixed {}

/// An RNG giving `prefix` first, then a seeded stream.
pub fn prefixed(prefix: Vec<u8>, seed: u64) -> BoxRng {
    Box::new(Prefixed {
        prefix: prefix.into(),
        rest: ChaCha20Rng::seed_from_u64(seed),
    })
}
