//! Randomness the bench injects into peers: seeded, recorded, or replayed from a vector.
//!
//! One seed drives a whole run. Each consumer gets its own ChaCha20 stream, keyed by the
//! seed and a label, so adding a consumer never shifts the bytes another one sees.

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// A ChaCha20 stream for `label` under `seed`.
pub fn stream(seed: u64, label: &str) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"ratchet-bench stream\0");
    h.update(seed.to_be_bytes());
    h.update(label.as_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// Wraps an RNG and keeps a copy of every byte it hands out, for vector files.
pub struct Recording<R> {
    inner: R,
    log: Arc<Mutex<Vec<u8>>>,
}

impl<R> Recording<R> {
    /// Records what `inner` produces into the returned log.
    pub fn new(inner: R) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        (
            Recording {
                inner,
                log: Arc::clone(&log),
            },
            log,
        )
    }
}

impl<R: RngCore> RngCore for Recording<R> {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.inner.fill_bytes(dest);
        if let Ok(mut log) = self.log.lock() {
            log.extend_from_slice(dest);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl<R: CryptoRng> CryptoRng for Recording<R> {}

/// Hands out the bytes a vector file recorded, in order. Once they run out it yields zeros
/// and raises the shared `exhausted` flag, which the replay reports as a mismatch: the peer
/// drew more randomness than the reference did.
pub struct Scripted {
    bytes: Vec<u8>,
    at: usize,
    exhausted: Arc<Mutex<bool>>,
}

impl Scripted {
    /// A scripted RNG over `bytes`, and the flag it raises when they run out.
    pub fn new(bytes: Vec<u8>) -> (Self, Arc<Mutex<bool>>) {
        let exhausted = Arc::new(Mutex::new(false));
        (
            Scripted {
                bytes,
                at: 0,
                exhausted: Arc::clone(&exhausted),
            },
            exhausted,
        )
    }
}

impl RngCore for Scripted {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let available = self.bytes.len() - self.at;
        let n = dest.len().min(available);
        dest[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        dest[n..].fill(0);
        self.at += n;
        if n < dest.len() {
            if let Ok(mut flag) = self.exhausted.lock() {
                *flag = true;
            }
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// The scripted bytes stand in for a CSPRNG's output, recorded from one.
impl CryptoRng for Scripted {}
