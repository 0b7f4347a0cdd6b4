//! The layouts of a shim peer's wire messages: read from an answer, and remembered so that
//! the bench asks the shim at most once per message.
//!
//! A layout is a function of the peer and the wire bytes alone (the `layout` request names
//! no party), so the host may keep it. The security oracles ask the layout of every message
//! sent (no reuse of a header or a ciphertext), and again of each one delivered; a jump's
//! lost messages are sent by the thousand and never delivered. So layouts come in two kinds:
//! those of a batch (`encrypt_many` with `wire_layout`), asked for once and then forgotten,
//! and all others, kept for later asks. Both stores are bounded, oldest first out: a layout
//! not found is asked of the shim again, so the bounds cost round trips, never results.

use ratchet_bench_core::peer::WireLayout;
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};
use std::ops::Range;

/// Layouts kept for later asks, per peer: more than the messages of a few scenarios in
/// flight at once.
const KEPT: usize = 4096;

/// Layouts of batches waiting for their one ask, per peer: a few jumps of libsignal's
/// 25,000 lost messages in flight at once.
const ONCE: usize = 1 << 17;

/// A bounded map, oldest first out.
#[derive(Debug)]
struct Store {
    map: HashMap<Vec<u8>, WireLayout>,
    order: VecDeque<Vec<u8>>,
    cap: usize,
}

impl Store {
    fn new(cap: usize) -> Store {
        Store {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    fn insert(&mut self, wire: Vec<u8>, layout: WireLayout) {
        if self.map.insert(wire.clone(), layout).is_some() {
            return;
        }
        self.order.push_back(wire);
        // Keys already taken stay in `order` until they come out here; a key sent twice (a
        // finding of its own) may lose its newer layout early, which only costs an ask.
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

/// One peer's remembered layouts.
#[derive(Debug)]
pub(crate) struct LayoutCache {
    kept: Store,
    once: Store,
}

impl Default for LayoutCache {
    fn default() -> Self {
        LayoutCache {
            kept: Store::new(KEPT),
            once: Store::new(ONCE),
        }
    }
}

impl LayoutCache {
    /// Remembers the layout of a message that may be asked about again.
    pub(crate) fn keep(&mut self, wire: &[u8], layout: WireLayout) {
        self.kept.insert(wire.to_vec(), layout);
    }

    /// Remembers the layout of a batch's message, until it is asked for once.
    pub(crate) fn once(&mut self, wire: Vec<u8>, layout: WireLayout) {
        self.once.insert(wire, layout);
    }

    /// The layout of `wire`, if remembered (a batch's is then forgotten).
    pub(crate) fn get(&mut self, wire: &[u8]) -> Option<WireLayout> {
        self.once
            .map
            .remove(wire)
            .or_else(|| self.kept.map.get(wire).cloned())
    }
}

/// The range `key` of a layout object found at `path` in an answer: `[start, end]` with
/// `start <= end` (`ratchet_key` may also be `null` or absent); or what is wrong with it.
fn range(
    layout: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<Range<usize>>, String> {
    let bad = || format!("its \"{path}{key}\" is not [start, end] with start <= end");
    match layout.get(key) {
        None | Some(Value::Null) if key == "ratchet_key" => Ok(None),
        Some(Value::Array(pair)) => match pair.as_slice() {
            [s, e] => {
                let (s, e) = (s.as_u64().ok_or_else(bad)?, e.as_u64().ok_or_else(bad)?);
                let (s, e) = (
                    usize::try_from(s).map_err(|_| bad())?,
                    usize::try_from(e).map_err(|_| bad())?,
                );
                if s <= e {
                    Ok(Some(s..e))
                } else {
                    Err(bad())
                }
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// A layout object (`{"header": [s, e], "body": ..., "mac": ..., "ratchet_key": ... or
/// null}`) found at `path` in an answer (`ok.` for a `layout` answer, `ok.layout.` for an
/// `encrypt` answer's); or what is wrong with it, naming the field.
pub(crate) fn parse(layout: &Map<String, Value>, path: &str) -> Result<WireLayout, String> {
    Ok(WireLayout {
        header: range(layout, path, "header")?.unwrap_or_default(),
        body: range(layout, path, "body")?.unwrap_or_default(),
        mac: range(layout, path, "mac")?.unwrap_or_default(),
        ratchet_key: range(layout, path, "ratchet_key")?,
    })
}

/// [`parse`] of a value at `path` (no trailing dot) that should be a layout object.
pub(crate) fn parse_value(value: &Value, path: &str) -> Result<WireLayout, String> {
    match value {
        Value::Object(layout) => parse(layout, &format!("{path}.")),
        other => Err(format!("its \"{path}\" is not a layout object: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout(n: usize) -> WireLayout {
        WireLayout {
            header: 0..n,
            body: n..n + 1,
            mac: n + 1..n + 2,
            ratchet_key: None,
        }
    }

    #[test]
    fn a_batchs_layout_is_given_once_and_a_kept_one_again() {
        let mut cache = LayoutCache::default();
        cache.once(b"lost".to_vec(), layout(1));
        cache.keep(b"sent", layout(2));
        assert_eq!(cache.get(b"lost"), Some(layout(1)));
        assert_eq!(cache.get(b"lost"), None);
        assert_eq!(cache.get(b"sent"), Some(layout(2)));
        assert_eq!(cache.get(b"sent"), Some(layout(2)));
        assert_eq!(cache.get(b"never"), None);
    }

    #[test]
    fn the_stores_are_bounded_oldest_first_out() {
        let mut store = Store::new(3);
        for i in 0..5u8 {
            store.insert(vec![i], layout(usize::from(i)));
        }
        assert_eq!(store.map.len(), 3);
        assert!(!store.map.contains_key(&vec![0]) && !store.map.contains_key(&vec![1]));
        assert_eq!(store.map.get(&vec![4]), Some(&layout(4)));
        assert!(store.order.len() <= 3);
    }

    #[test]
    fn layout_objects_are_checked_field_by_field() {
        let ok = json!({"header": [0, 3], "body": [3, 9], "mac": [9, 17], "ratchet_key": null});
        assert_eq!(
            parse_value(&ok, "ok.layout"),
            Ok(WireLayout {
                header: 0..3,
                body: 3..9,
                mac: 9..17,
                ratchet_key: None
            })
        );
        let with_key =
            json!({"header": [0, 3], "body": [3, 9], "mac": [9, 17], "ratchet_key": [1, 3]});
        assert_eq!(
            parse_value(&with_key, "ok.layout").unwrap().ratchet_key,
            Some(1..3)
        );
        let backwards = json!({"header": [3, 0], "body": [3, 9], "mac": [9, 17]});
        assert_eq!(
            parse_value(&backwards, "ok.layouts[2]"),
            Err("its \"ok.layouts[2].header\" is not [start, end] with start <= end".into())
        );
        let missing = json!({"header": [0, 3], "mac": [9, 17]});
        assert_eq!(
            parse(missing.as_object().unwrap(), "ok."),
            Err("its \"ok.body\" is not [start, end] with start <= end".into())
        );
        assert_eq!(
            parse_value(&json!([0, 3]), "ok.layout"),
            Err("its \"ok.layout\" is not a layout object: [0,3]".into())
        );
    }
}
