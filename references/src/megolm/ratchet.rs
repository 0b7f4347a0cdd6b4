//! The Megolm ratchet (megolm.md, "The Megolm ratchet algorithm"): four 32-byte parts
//! R_{i,0..3} and the counter i. Part j is rehashed every 2^(8(3-j)) steps and reseeds the
//! parts after it; H_j(A) = HMAC-SHA-256(A, j as one byte).

use crate::olm::hmac_sha256;
use std::fmt;

/// Bytes of one part.
pub const PART_LEN: usize = 32;
/// Number of parts.
pub const PARTS: usize = 4;
/// Bytes of the whole ratchet R_i.
pub const RATCHET_LEN: usize = PART_LEN * PARTS;

/// R_i and i.
#[derive(Clone, PartialEq, Eq)]
pub struct MegolmRatchet {
    parts: [[u8; PART_LEN]; PARTS],
    counter: u32,
}

impl MegolmRatchet {
    /// The ratchet with value `bytes` (R_{i,0} || ... || R_{i,3}) at index `counter`.
    pub fn from_bytes(bytes: &[u8; RATCHET_LEN], counter: u32) -> Self {
        let mut parts = [[0u8; PART_LEN]; PARTS];
        for (part, chunk) in parts.iter_mut().zip(bytes.chunks_exact(PART_LEN)) {
            part.copy_from_slice(chunk);
        }
        MegolmRatchet { parts, counter }
    }

    /// R_i as one 128-byte string.
    pub fn to_bytes(&self) -> [u8; RATCHET_LEN] {
        let mut out = [0u8; RATCHET_LEN];
        for (chunk, part) in out.chunks_exact_mut(PART_LEN).zip(&self.parts) {
            chunk.copy_from_slice(part);
        }
        out
    }

    /// i.
    pub fn index(&self) -> u32 {
        self.counter
    }

    /// R_{to} = H_to(R_{from}), for `from <= to`.
    fn rehash(&mut self, from: usize, to: usize) {
        #[cfg(test)]
        tests::REHASHES.with(|n| n.set(n.get() + 1));
        self.parts[to] = hmac_sha256(&self.parts[from], &[to as u8]);
    }

    /// Reseeds parts `from + 1 ..= 3` from part `from`, then steps part `from` itself (the
    /// order matters: the later parts take the old value of part `from`).
    fn step_part(&mut self, from: usize) {
        for to in (from..PARTS).rev() {
            self.rehash(from, to);
        }
    }

    /// R_{i+1}: one step. The counter wraps at 2^32 as libolm's `uint32_t` does, and the
    /// wrap reseeds from R_0 like any multiple of 2^24.
    pub fn advance(&mut self) {
        self.counter = self.counter.wrapping_add(1);
        // The highest part whose period divides the new counter: 2^24 for R_0, 2^16 for R_1,
        // 2^8 for R_2, 1 for R_3.
        let part = (0..PARTS)
            .find(|&j| self.counter & period_mask(j) == 0)
            .unwrap_or(PARTS - 1);
        self.step_part(part);
    }

    /// R_{to}, taking at most 255 steps of each part rather than `to - i` single steps: for
    /// each part from R_0 down, step it as many times as its digit (base 256) of the index
    /// moves, reseeding the parts after it only on the last of those steps. `to` is taken
    /// modulo 2^32 forwards from `i` (a `to` below `i` wraps round, as in libolm).
    pub fn advance_to(&mut self, to: u32) {
        for part in 0..PARTS {
            let shift = 8 * (PARTS - 1 - part);
            let mut steps = ((to >> shift).wrapping_sub(self.counter >> shift)) & 0xff;
            if steps == 0 {
                if to < self.counter {
                    // Only for part 0, when `to` wrapped: a whole turn of R_0.
                    steps = 0x100;
                } else {
                    continue;
                }
            }
            for _ in 1..steps {
                self.rehash(part, part);
            }
            self.step_part(part);
            // The parts after this one are freshly seeded, as at a multiple of the period.
            self.counter = to & (u32::MAX << shift);
        }
    }
}

/// The bits of the counter that are zero exactly where part `j` steps: the low 24 bits for
/// R_0, 16 for R_1, 8 for R_2, none for R_3.
fn period_mask(j: usize) -> u32 {
    match j {
        0 => 0x00ff_ffff,
        1 => 0x0000_ffff,
        2 => 0x0000_00ff,
        _ => 0,
    }
}

impl fmt::Debug for MegolmRatchet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MegolmRatchet")
            .field("index", &self.counter)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// HMACs of the ratchet taken on this thread (the test build counts them).
        pub(super) static REHASHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn reaching_any_index_costs_at_most_1027_hmacs() {
        // megolm.md: part j steps every 2^(8(3-j)) indices and reseeds the parts after it.
        // Reaching an index steps each part at most once per value of its byte of the
        // index (255, or 256 for R_0 when the index wraps past 2^32), each step of R_j is
        // one HMAC and its last also reseeds the 3 - j parts after it: at most
        // 256 + 3 + 255 + 2 + 255 + 1 + 255 = 1027 HMACs, whatever the distance. This is the
        // work bound the Megolm peers rely on instead of counting.
        let mut worst = 0;
        for (from, to) in [
            (0u32, u32::MAX),
            (0x00ff_ffff, 0x00ff_fffe),
            (1, 0),
            (0x8000_0000, 0x7fff_ffff),
            (12_345, 12_346),
            (0, 0x0101_0101),
        ] {
            let mut r = libolm_test_ratchet(from);
            let before = REHASHES.with(std::cell::Cell::get);
            r.advance_to(to);
            let spent = REHASHES.with(std::cell::Cell::get) - before;
            assert!(spent <= 1027, "{from} to {to}: {spent} HMACs");
            worst = worst.max(spent);
        }
        assert_eq!(
            worst, 1026,
            "0 to 2^32 - 1 takes 255 steps of each part and the reseeds"
        );
    }

    /// libolm olm/tests/test_megolm.cpp: the ratchet is initialised with the 128 ASCII bytes
    /// "0123456789ABCDEF" repeated eight times.
    fn libolm_test_ratchet(counter: u32) -> MegolmRatchet {
        let mut bytes = [0u8; RATCHET_LEN];
        for chunk in bytes.chunks_exact_mut(16) {
            chunk.copy_from_slice(b"0123456789ABCDEF");
        }
        MegolmRatchet::from_bytes(&bytes, counter)
    }

    fn unhex(s: &str) -> [u8; RATCHET_LEN] {
        hex::decode(s.replace([' ', '\n'], ""))
            .unwrap()
            .try_into()
            .unwrap()
    }

    /// test_megolm.cpp, "Megolm::advance", `expected1`: the ratchet after one step.
    fn expected1() -> [u8; RATCHET_LEN] {
        unhex(
            "30313233343536373839414243444546 30313233343536373839414243444546
             30313233343536373839414243444546 30313233343536373839414243444546
             30313233343536373839414243444546 30313233343536373839414243444546
             ba9cd955741d1c162323ec825e7c5ce8 89bbb423a18f23828fb2090d6e2af86a",
        )
    }

    #[test]
    fn one_step_matches_libolm_test_megolm_advance_expected1() {
        // olm/tests/test_megolm.cpp, test "Megolm::advance": megolm_advance once from 0.
        let mut r = libolm_test_ratchet(0);
        r.advance();
        assert_eq!(r.index(), 1);
        assert_eq!(r.to_bytes(), expected1());
        // The same test repeats it with megolm_advance_to(1).
        let mut r = libolm_test_ratchet(0);
        r.advance_to(1);
        assert_eq!(r.index(), 1);
        assert_eq!(r.to_bytes(), expected1());
    }

    #[test]
    fn advance_to_matches_libolm_test_megolm_advance_expected2_and_expected3() {
        // olm/tests/test_megolm.cpp, test "Megolm::advance": from index 1, advance_to
        // 0x1000000 gives `expected2`, then advance_to 0x1041506 gives `expected3`.
        let expected2 = unhex(
            "54022d7dc0298e1637e21c97153092f9 33c056ff74fe1b922d971f2482c2859c
             7004c01ee49bd6efe0073525af9b1632 c5be726d12349cc5bd472bdc2df6540f
             3112591194fda617e568c683101eaecd 7eddd6de1fbc0767ae34da1a09a54eab
             ba9cd955741d1c162323ec825e7c5ce8 89bbb423a18f23828fb2090d6e2af86a",
        );
        let expected3 = unhex(
            "54022d7dc0298e1637e21c97153092f9 33c056ff74fe1b922d971f2482c2859c
             55588df5b7a48878428927868164589f 3663447b51edc3595b036ca604c46dcd
             5c54850bfa98a1fd79a9df1cbe8fc568 1937d30c85c8c31f7bb828816cf9ff3b
             956cbf807e65126a49558d45c84a2e4c d56f03e24416b98e1cfd97c206aa907a",
        );
        let mut r = libolm_test_ratchet(0);
        r.advance_to(1);
        r.advance_to(0x100_0000);
        assert_eq!(r.index(), 0x100_0000);
        assert_eq!(r.to_bytes(), expected2);
        r.advance_to(0x104_1506);
        assert_eq!(r.index(), 0x104_1506);
        assert_eq!(r.to_bytes(), expected3);
    }

    #[test]
    fn wraparound_matches_libolm_test_megolm_advance_wraparound() {
        // olm/tests/test_megolm.cpp, test "Megolm::advance wraparound": from 0xffffffff,
        // advance_to 0x1000000 equals from 0 advance_to 0x2000000.
        let mut a = libolm_test_ratchet(0xffff_ffff);
        a.advance_to(0x100_0000);
        let mut b = libolm_test_ratchet(0);
        b.advance_to(0x200_0000);
        assert_eq!(a.index(), 0x100_0000);
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn overflow_by_one_matches_libolm_test_megolm_advance_overflow_by_one() {
        // olm/tests/test_megolm.cpp, test "Megolm::advance overflow by one": from
        // 0xffffffff, advance_to 0 equals one advance.
        let mut a = libolm_test_ratchet(0xffff_ffff);
        a.advance_to(0);
        let mut b = libolm_test_ratchet(0xffff_ffff);
        b.advance();
        assert_eq!((a.index(), b.index()), (0, 0));
        assert_eq!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn advance_to_equals_single_steps_across_part_boundaries() {
        // The spec defines R_i by single steps; the fast path must land on the same value.
        for (from, to) in [(0u32, 300u32), (250, 600), (65_530, 65_800), (1, 513)] {
            let mut fast = libolm_test_ratchet(from);
            fast.advance_to(to);
            let mut slow = libolm_test_ratchet(from);
            for _ in from..to {
                slow.advance();
            }
            assert_eq!(fast, slow, "advance_to({to}) from {from}");
        }
    }
}
