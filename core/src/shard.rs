//! Shards: one run split over several machines (`run --shard K/N`), its reports combined by
//! `ratchet-bench merge` into the report the whole run gives.
//!
//! Every unit of work of a run has an ordinal that does not depend on the sharding: a
//! campaign scenario its index in its family's campaign (pinned ones first), an interop
//! cell its position over every matrix, a vector suite its position among the suites run,
//! an expectation its position over the layered files. Shard `K` of `N` runs the units
//! whose ordinal is `K - 1` modulo `N`, so the shards together run each unit exactly once,
//! and every unit's result is what the whole run computes for it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (1-based, as written on the command line: `K/N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Shard {
    index: u64,
    count: u64,
}

impl Shard {
    /// The whole run: shard 1 of 1.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Shard `index` (1-based) of `count`, if `1 <= index <= count`.
    pub fn new(index: u64, count: u64) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { index, count })
    }

    /// `K`, from 1.
    pub fn index(self) -> u64 {
        self.index
    }

    /// `N`.
    pub fn count(self) -> u64 {
        self.count
    }

    /// Whether this shard runs the unit numbered `ordinal`.
    pub fn takes(self, ordinal: u64) -> bool {
        ordinal % self.count == self.index - 1
    }

    /// The shard of `count` that runs the unit numbered `ordinal`.
    pub fn owner(count: u64, ordinal: u64) -> Shard {
        let count = count.max(1);
        Shard {
            index: ordinal % count + 1,
            count,
        }
    }

    /// Whether this is the whole run.
    pub fn is_whole(self) -> bool {
        self.count == 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("expected K/N with 1 <= K <= N (e.g. 2/3), got {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        Shard::new(k, n).ok_or_else(bad)
    }
}

impl TryFrom<String> for Shard {
    type Error = String;

    fn try_from(text: String) -> Result<Shard, String> {
        text.parse()
    }
}

impl From<Shard> for String {
    fn from(s: Shard) -> String {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_what_is_not_k_of_n() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard::new(2, 3).unwrap()));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard::WHOLE));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains("K/N") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn the_shards_of_a_run_take_each_unit_once() {
        for n in 1..=4 {
            for ordinal in 0..50 {
                let takers: Vec<u64> = (1..=n)
                    .filter(|&k| Shard::new(k, n).unwrap().takes(ordinal))
                    .collect();
                assert_eq!(takers.len(), 1, "unit {ordinal} of {n} shards");
                assert_eq!(Shard::owner(n, ordinal).index(), takers[0]);
            }
        }
    }
}
