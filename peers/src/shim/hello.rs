//! The hello answer: what a shim says it is, checked field by field so that a shim that lies
//! or forgets a field is refused before any scenario runs, with the field named.

use ratchet_bench_core::peer::{
    Capabilities, DeclarationError, Family, Limits, Properties, WhenFull,
};
use serde_json::{Map, Value};

/// The protocol version this bench speaks.
pub const PROTOCOL: u64 = 1;

/// The optional feature of protocol 1 that lets a shim ask the bench for each party's
/// random bytes while it handles a request; the hello request lists it in `features`, and
/// a peer that uses it declares `capabilities.host_rng`.
pub const HOST_RNG: &str = "host_rng";

/// One peer a shim serves, as its hello declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// The wire format.
    pub family: Family,
    /// The out-of-order limits the oracle holds it to.
    pub limits: Limits,
    /// What it lets the bench control; `injectable_rng` is true when it declared
    /// `host_rng`.
    pub capabilities: Capabilities,
    /// It asks the bench for its parties' random bytes (optional, `false` when absent).
    pub host_rng: bool,
    /// Checks it runs without.
    pub weakened: Vec<String>,
}

/// A checked hello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// What is under test.
    pub implementation: String,
    /// Its version.
    pub version: String,
    /// The peers it serves, in the order requests name them.
    pub peers: Vec<Declared>,
}

fn field<'a>(map: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a Value, String> {
    map.get(key)
        .ok_or_else(|| format!("field \"{path}{key}\" is missing"))
}

fn text(map: &Map<String, Value>, path: &str, key: &str) -> Result<String, String> {
    match field(map, path, key)? {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        other => Err(format!(
            "field \"{path}{key}\": expected a non-empty string, got {other}"
        )),
    }
}

fn flag(map: &Map<String, Value>, path: &str, key: &str) -> Result<bool, String> {
    field(map, path, key)?
        .as_bool()
        .ok_or_else(|| format!("field \"{path}{key}\": expected true or false"))
}

fn count(value: &Value, path: &str, key: &str) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            format!("field \"{path}{key}\": expected an integer from 0 to 2^32 - 1, got {value}")
        })
}

/// A bound that may be `null` (unbounded) but must be present.
fn bound(map: &Map<String, Value>, path: &str, key: &str) -> Result<Option<u32>, String> {
    match field(map, path, key)? {
        Value::Null => Ok(None),
        v => count(v, path, key).map(Some),
    }
}

fn object<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a Map<String, Value>, String> {
    field(map, path, key)?
        .as_object()
        .ok_or_else(|| format!("field \"{path}{key}\": expected an object"))
}

fn limits(map: &Map<String, Value>, path: &str) -> Result<Limits, String> {
    let path = format!("{path}limits.");
    let when_full = match field(map, &path, "when_full")?.as_str() {
        Some("refuse") => WhenFull::Refuse,
        Some("evict-oldest") => WhenFull::EvictOldest,
        Some("unbounded") => WhenFull::Unbounded,
        _ => {
            return Err(format!(
                "field \"{path}when_full\": expected \"refuse\", \"evict-oldest\" or \"unbounded\", got {}",
                map.get("when_full").unwrap_or(&Value::Null)
            ))
        }
    };
    Ok(Limits {
        max_skip: count(field(map, &path, "max_skip")?, &path, "max_skip")?,
        max_stored: bound(map, &path, "max_stored")?,
        max_stored_per_chain: bound(map, &path, "max_stored_per_chain")?,
        when_full,
        window: bound(map, &path, "window")?,
        max_chains: bound(map, &path, "max_chains")?,
    })
}

/// The fields of a `declares` object: what the oracles need of a family the bench does not
/// know ([`ratchet_bench_core::peer::FamilySpec`]).
pub const DECLARES_FIELDS: [&str; 4] = [
    "description",
    "ratchets_per_turn",
    "uses_previous_length",
    "deletes_used_keys",
];

/// The family a peer's `declares` object describes under the name `name`: a family of its
/// own, or the built-in family of that name when the properties are the built-in's.
fn declaration(map: &Map<String, Value>, path: &str, name: &str) -> Result<Family, String> {
    let at = format!("{path}declares.");
    if let Some(unknown) = map.keys().find(|k| !DECLARES_FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "field \"{at}{unknown}\": not a field of a family declaration; expected {}",
            DECLARES_FIELDS.join(", ")
        ));
    }
    let description = text(map, &at, "description")?;
    let properties = Properties {
        ratchets_per_turn: flag(map, &at, "ratchets_per_turn")?,
        uses_previous_length: flag(map, &at, "uses_previous_length")?,
        deletes_used_keys: flag(map, &at, "deletes_used_keys")?,
    };
    Family::declare_at_run_time(name, &description, properties).map_err(|e| match e {
        DeclarationError::Name { .. } => format!("field \"{path}family\": {e}"),
        _ => format!("field \"{path}declares\": {e}"),
    })
}

fn declared(value: &Value, i: usize) -> Result<Declared, String> {
    let path = format!("peers[{i}].");
    let map = value
        .as_object()
        .ok_or_else(|| format!("field \"peers[{i}]\": expected an object"))?;
    let name = text(map, &path, "family")?;
    let family = match map.get("declares") {
        None => Family::built_in(&name).ok_or_else(|| {
            let known: Vec<&str> = Family::BUILT_IN.iter().map(|f| f.name()).collect();
            format!(
                "field \"{path}family\": unknown family {name:?}; expected one of {}, or a family of its own described in \"{path}declares\"",
                known.join(", ")
            )
        })?,
        Some(Value::Object(declares)) => declaration(declares, &path, &name)?,
        Some(_) => return Err(format!("field \"{path}declares\": expected an object")),
    };
    let caps = object(map, &path, "capabilities")?;
    let caps_path = format!("{path}capabilities.");
    let weakened = match field(map, &path, "weakened")? {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(j, w)| {
                w.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("field \"{path}weakened[{j}]\": expected a string"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            return Err(format!(
                "field \"{path}weakened\": expected a list of strings"
            ))
        }
    };
    let host_rng = match caps.get(HOST_RNG) {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| format!("field \"{caps_path}{HOST_RNG}\": expected true or false"))?,
    };
    Ok(Declared {
        family,
        host_rng,
        limits: limits(object(map, &path, "limits")?, &path)?,
        capabilities: Capabilities {
            // Drawing from the party's own stream is what makes bytes comparable.
            injectable_rng: flag(caps, &caps_path, "injectable_rng")? || host_rng,
            export_state: flag(caps, &caps_path, "export_state")?,
        },
        weakened,
    })
}

/// Checks the `ok` fields of a hello answer.
pub fn parse(ok: &Map<String, Value>) -> Result<Hello, String> {
    let protocol = field(ok, "", "protocol")?;
    if protocol.as_u64() != Some(PROTOCOL) {
        return Err(format!(
            "field \"protocol\": this bench speaks protocol {PROTOCOL}, the shim answered {protocol}"
        ));
    }
    let peers = match field(ok, "", "peers")? {
        Value::Array(p) if !p.is_empty() => p
            .iter()
            .enumerate()
            .map(|(i, v)| declared(v, i))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("field \"peers\": expected a non-empty list".into()),
    };
    for (i, p) in peers.iter().enumerate() {
        if peers.iter().take(i).any(|q| q.family == p.family) {
            return Err(format!(
                "field \"peers[{i}].family\": {} is served twice (one peer per family)",
                p.family
            ));
        }
    }
    Ok(Hello {
        implementation: text(ok, "", "implementation")?,
        version: text(ok, "", "version")?,
        peers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The hello of PROTOCOL.md's example, which must be accepted as written there.
    fn example() -> Value {
        json!({
          "protocol": 1,
          "implementation": "python-olm",
          "version": "3.2.16 (libolm 3.2.16)",
          "peers": [{
              "family": "olm",
              "limits": {"max_skip": 2000, "max_stored": 40, "max_stored_per_chain": null,
                         "when_full": "evict-oldest", "window": null, "max_chains": 5},
              "capabilities": {"injectable_rng": true, "export_state": true, "host_rng": true},
              "weakened": []
          }]
        })
    }

    fn check(v: &Value) -> Result<Hello, String> {
        parse(v.as_object().unwrap())
    }

    #[test]
    fn the_protocol_pages_example_is_accepted() {
        let hello = check(&example()).unwrap();
        assert_eq!(hello.implementation, "python-olm");
        assert_eq!(hello.peers.len(), 1);
        let p = &hello.peers[0];
        assert_eq!(p.family, Family::OLM);
        assert_eq!(
            p.limits,
            Limits {
                max_skip: 2000,
                max_stored: Some(40),
                max_stored_per_chain: None,
                when_full: WhenFull::EvictOldest,
                window: None,
                max_chains: Some(5),
            }
        );
        assert!(p.capabilities.export_state && p.capabilities.injectable_rng && p.host_rng);
    }

    #[test]
    fn host_rng_is_optional_and_makes_a_peer_injectable() {
        let mut v = example();
        v["peers"][0]["capabilities"]["injectable_rng"] = json!(false);
        let p = &check(&v).unwrap().peers[0];
        assert!(p.host_rng && p.capabilities.injectable_rng);
        v["peers"][0]["capabilities"]
            .as_object_mut()
            .unwrap()
            .remove("host_rng");
        let p = &check(&v).unwrap().peers[0];
        assert!(
            !p.host_rng && !p.capabilities.injectable_rng,
            "a version-1 hello without host_rng is read as before"
        );
        v["peers"][0]["capabilities"]["host_rng"] = json!("yes");
        assert_eq!(
            check(&v).unwrap_err(),
            "field \"peers[0].capabilities.host_rng\": expected true or false"
        );
    }

    #[test]
    fn a_peer_declares_a_family_of_its_own() {
        let mut v = example();
        v["peers"][0]["family"] = json!("my-ratchet");
        v["peers"][0]["declares"] = json!({
            "description": "a team's own format",
            "ratchets_per_turn": true,
            "uses_previous_length": false,
            "deletes_used_keys": true
        });
        let family = check(&v).unwrap().peers[0].family;
        assert_eq!(family.name(), "my-ratchet");
        assert!(!family.is_built_in());
        assert!(family.ratchets_per_turn() && !family.uses_previous_length());
        assert_eq!(family.spec().description, "a team's own format");
        // Declaring a built-in family with its own properties is the built-in family.
        v["peers"][0]["family"] = json!("olm");
        assert_eq!(check(&v).unwrap().peers[0].family, Family::OLM);
    }

    #[test]
    fn a_declaration_that_lies_names_its_field() {
        let lie = |edit: &dyn Fn(&mut Value)| {
            let mut v = example();
            v["peers"][0]["family"] = json!("my-ratchet");
            v["peers"][0]["declares"] = json!({
                "description": "a team's own format",
                "ratchets_per_turn": true,
                "uses_previous_length": false,
                "deletes_used_keys": true
            });
            edit(&mut v);
            check(&v).unwrap_err()
        };
        assert_eq!(
            lie(&|v| {
                v["peers"][0].as_object_mut().unwrap().remove("declares");
            }),
            "field \"peers[0].family\": unknown family \"my-ratchet\"; expected one of \
             signal-dr, dr2, mls, olm, megolm, signal-v3, libsignal, or a family of its own \
             described in \"peers[0].declares\""
        );
        assert_eq!(
            lie(&|v| v["peers"][0]["family"] = json!("megolm")),
            "field \"peers[0].declares\": \"megolm\" is a built-in family (ratchets_per_turn \
             false, uses_previous_length true, deletes_used_keys false); a declaration with \
             ratchets_per_turn true, uses_previous_length false, deletes_used_keys true is \
             another format: give it another name"
        );
        assert_eq!(
            lie(&|v| {
                v["peers"][0]["declares"]
                    .as_object_mut()
                    .unwrap()
                    .remove("deletes_used_keys");
            }),
            "field \"peers[0].declares.deletes_used_keys\" is missing"
        );
        assert_eq!(
            lie(&|v| v["peers"][0]["declares"]["codec"] = json!("tlv")),
            "field \"peers[0].declares.codec\": not a field of a family declaration; expected \
             description, ratchets_per_turn, uses_previous_length, deletes_used_keys"
        );
        assert_eq!(
            lie(&|v| v["peers"][0]["declares"]["description"] = json!("")),
            "field \"peers[0].declares.description\": expected a non-empty string, got \"\""
        );
        assert_eq!(
            lie(&|v| v["peers"][0]["declares"] = json!(true)),
            "field \"peers[0].declares\": expected an object"
        );
        assert!(lie(&|v| v["peers"][0]["family"] = json!("My Ratchet"))
            .starts_with("field \"peers[0].family\": family name \"My Ratchet\": expected"));
    }

    #[test]
    fn every_lie_names_its_field() {
        let lie = |edit: &dyn Fn(&mut Value)| {
            let mut v = example();
            edit(&mut v);
            check(&v).unwrap_err()
        };
        assert_eq!(
            lie(&|v| v["protocol"] = json!(2)),
            "field \"protocol\": this bench speaks protocol 1, the shim answered 2"
        );
        assert!(lie(&|v| v["peers"][0]["family"] = json!("quantum"))
            .starts_with("field \"peers[0].family\": unknown family \"quantum\""));
        assert_eq!(
            lie(&|v| {
                v["peers"][0].as_object_mut().unwrap().remove("limits");
            }),
            "field \"peers[0].limits\" is missing"
        );
        assert_eq!(
            lie(&|v| {
                v["peers"][0]["limits"]
                    .as_object_mut()
                    .unwrap()
                    .remove("window");
            }),
            "field \"peers[0].limits.window\" is missing"
        );
        assert!(lie(&|v| v["peers"][0]["limits"]["max_skip"] = json!(-1))
            .starts_with("field \"peers[0].limits.max_skip\": expected an integer"));
        assert!(
            lie(&|v| v["peers"][0]["limits"]["when_full"] = json!("sometimes"))
                .starts_with("field \"peers[0].limits.when_full\"")
        );
        assert_eq!(
            lie(&|v| {
                v["peers"][0]["capabilities"]
                    .as_object_mut()
                    .unwrap()
                    .remove("export_state");
            }),
            "field \"peers[0].capabilities.export_state\" is missing"
        );
        assert_eq!(
            lie(&|v| v["peers"] = json!([])),
            "field \"peers\": expected a non-empty list"
        );
        assert!(lie(&|v| {
            let p = v["peers"][0].clone();
            v["peers"].as_array_mut().unwrap().push(p);
        })
        .contains("served twice"));
        assert!(lie(&|v| v["implementation"] = json!("")).starts_with("field \"implementation\""));
    }
}
