//! The optional features of protocol 1 that save round trips: what the bench offers in the
//! hello request's `features`, and which of them a shim takes up (its hello answer's
//! `features`). A shim that lists none (every shim written before them) gets neither: the
//! bench sends it one `encrypt` per message and asks `layout` for each message it sends.
//! (`host_rng`, the third optional feature, is declared per peer instead, in its
//! capabilities: a shim may take the bench's randomness for one family and not another.)

use super::hello::HOST_RNG;
use serde_json::{Map, Value};

/// The bench may send `encrypt_many`: several encryptions of one party in one request (a
/// jump's lost messages).
pub const ENCRYPT_MANY: &str = "encrypt_many";

/// The answers to `encrypt` and `encrypt_many` carry each wire message's layout, so that the
/// bench asks no `layout` for a message it only sends.
pub const WIRE_LAYOUT: &str = "wire_layout";

/// The most encryptions one `encrypt_many` request asks for: a few dozen already make the
/// pipe's cost per message small, and a batch's budget is that of as many requests, so a
/// hung batch is found within 32 budgets.
pub const MAX_BATCH: u32 = 32;

/// The shim-wide features a shim took up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// It answers `encrypt_many`.
    pub encrypt_many: bool,
    /// Its `encrypt` and `encrypt_many` answers carry layouts.
    pub wire_layout: bool,
}

impl Features {
    /// Both.
    pub const ALL: Features = Features {
        encrypt_many: true,
        wire_layout: true,
    };

    /// The hello request's `features`: `host_rng` and the features of `self`.
    pub fn offer(self) -> Vec<&'static str> {
        let mut offered = vec![HOST_RNG];
        if self.encrypt_many {
            offered.push(ENCRYPT_MANY);
        }
        if self.wire_layout {
            offered.push(WIRE_LAYOUT);
        }
        offered
    }
}

/// The features a hello answer (`ok`) takes up from those `offered`: its optional
/// `features` list, each a feature the bench offered; or what is wrong, naming the field.
pub fn taken_up(ok: &Map<String, Value>, offered: Features) -> Result<Features, String> {
    let list = match ok.get("features") {
        None | Some(Value::Null) => return Ok(Features::default()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(format!(
                "field \"features\": expected a list of feature names, got {other}"
            ))
        }
    };
    let offer = offered.offer();
    let mut taken = Features::default();
    for (i, item) in list.iter().enumerate() {
        let name = item
            .as_str()
            .ok_or_else(|| format!("field \"features[{i}]\": expected a string, got {item}"))?;
        if !offer.contains(&name) {
            return Err(format!(
                "field \"features[{i}]\": {name:?} was not offered (the bench offered {})",
                offer.join(", ")
            ));
        }
        match name {
            ENCRYPT_MANY => taken.encrypt_many = true,
            WIRE_LAYOUT => taken.wire_layout = true,
            // host_rng is declared per peer; naming it here as well changes nothing.
            _ => {}
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn taken(v: Value, offered: Features) -> Result<Features, String> {
        taken_up(v.as_object().unwrap(), offered)
    }

    #[test]
    fn a_hello_without_features_takes_none() {
        assert_eq!(taken(json!({}), Features::ALL), Ok(Features::default()));
        assert_eq!(
            taken(json!({"features": null}), Features::ALL),
            Ok(Features::default())
        );
    }

    #[test]
    fn offered_features_are_taken_up_one_by_one() {
        assert_eq!(
            taken(json!({"features": ["encrypt_many"]}), Features::ALL),
            Ok(Features {
                encrypt_many: true,
                wire_layout: false
            })
        );
        assert_eq!(
            taken(
                json!({"features": ["wire_layout", "host_rng", "encrypt_many"]}),
                Features::ALL
            ),
            Ok(Features::ALL)
        );
    }

    #[test]
    fn a_feature_not_offered_or_not_a_name_is_refused_naming_the_field() {
        assert_eq!(
            taken(json!({"features": ["encrypt_many"]}), Features::default()),
            Err("field \"features[0]\": \"encrypt_many\" was not offered (the bench offered host_rng)".into())
        );
        assert_eq!(
            taken(json!({"features": ["wire_layout", "turbo"]}), Features::ALL),
            Err("field \"features[1]\": \"turbo\" was not offered (the bench offered host_rng, encrypt_many, wire_layout)".into())
        );
        assert_eq!(
            taken(json!({"features": [3]}), Features::ALL),
            Err("field \"features[0]\": expected a string, got 3".into())
        );
        assert_eq!(
            taken(json!({"features": "encrypt_many"}), Features::ALL),
            Err(
                "field \"features\": expected a list of feature names, got \"encrypt_many\"".into()
            )
        );
    }
}
