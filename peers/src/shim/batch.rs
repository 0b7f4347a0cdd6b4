//! The answer to `encrypt_many` (the optional feature of the same name): several
//! encryptions of one party in one round trip, the bench's way of sending a jump's lost
//! messages.
//!
//! `{"ok": {"wires": [...]}}` holds exactly the `count` wires asked for, in order; if the
//! implementation refused one, `wires` holds those made before it and `refused` (`{"class",
//! "detail"}`, as an `err` answer's) says why the rest were not made. An `err` answer is
//! the first encryption's refusal. With `wire_layout`, `layouts` holds each wire's layout.
//! Any other shape stops the shim.

use super::layouts;
use super::pool::Read;
use super::process::{refusal, Answer};
use ratchet_bench_core::peer::{Reject, WireLayout};
use serde_json::Value;

/// A batch's result.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The wires made, in order.
    pub(crate) wires: Vec<Vec<u8>>,
    /// Their layouts (with `wire_layout`; else empty).
    pub(crate) layouts: Vec<WireLayout>,
    /// Why the batch stopped short, if it did.
    pub(crate) refused: Option<Reject>,
}

/// The batch an answer to `encrypt_many` of `count` holds (with each wire's layout when
/// `with_layouts`); or what is wrong with it.
pub(crate) fn read(answer: Answer, count: u32, with_layouts: bool) -> Read<Batch> {
    let ok = match answer {
        Answer::Ok(ok) => ok,
        Answer::Refused(reject) => {
            return Ok(Ok(Batch {
                wires: Vec::new(),
                layouts: Vec::new(),
                refused: Some(reject),
            }))
        }
        Answer::Unimplemented(why) => {
            return Err(format!(
                "it answered encrypt_many with unimplemented ({why}), although its hello took up encrypt_many"
            ))
        }
    };
    let wires = match ok.get("wires") {
        Some(Value::Array(wires)) => wires
            .iter()
            .enumerate()
            .map(|(i, w)| match w {
                Value::String(s) => {
                    hex::decode(s).map_err(|e| format!("its \"ok.wires[{i}]\" is not hex: {e}"))
                }
                other => Err(format!(
                    "its \"ok.wires[{i}]\" is not a hex string: {other}"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(format!("its \"ok.wires\" is not a list: {other}")),
        None => return Err("its \"ok.wires\" is missing".into()),
    };
    let refused = match ok.get("refused") {
        None | Some(Value::Null) => None,
        Some(Value::Object(err)) => Some(refusal(err, "ok.refused.")?),
        Some(other) => return Err(format!("its \"ok.refused\" is not an object: {other}")),
    };
    let made = wires.len();
    let asked = count as usize;
    if made > asked {
        return Err(format!(
            "its \"ok.wires\" holds {made} wires, more than the {asked} asked for"
        ));
    }
    match (&refused, made == asked) {
        (None, false) => {
            return Err(format!(
                "its \"ok.wires\" holds {made} wires of the {asked} asked for, and no \"ok.refused\" says why the rest were not made"
            ))
        }
        (Some(_), true) => {
            return Err(format!(
                "its \"ok.refused\" stops a batch whose {asked} wires were all made"
            ))
        }
        _ => {}
    }
    let layouts = if with_layouts {
        match ok.get("layouts") {
            Some(Value::Array(list)) if list.len() == made => list
                .iter()
                .enumerate()
                .map(|(i, l)| layouts::parse_value(l, &format!("ok.layouts[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(Value::Array(list)) => {
                return Err(format!(
                    "its \"ok.layouts\" holds {} layouts for {made} wires",
                    list.len()
                ))
            }
            Some(other) => return Err(format!("its \"ok.layouts\" is not a list: {other}")),
            None => {
                return Err(
                    "its \"ok.layouts\" is missing, although its hello took up wire_layout".into(),
                )
            }
        }
    } else {
        Vec::new()
    };
    Ok(Ok(Batch {
        wires,
        layouts,
        refused,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratchet_bench_core::peer::RejectClass;
    use serde_json::json;

    fn answer(v: Value) -> Answer {
        match v {
            Value::Object(ok) => Answer::Ok(ok),
            _ => panic!("an object"),
        }
    }

    fn problem(v: Value, count: u32, with_layouts: bool) -> String {
        read(answer(v), count, with_layouts).unwrap_err()
    }

    const LAYOUT: &str =
        r#"{"header": [0, 1], "body": [1, 2], "mac": [2, 3], "ratchet_key": null}"#;

    #[test]
    fn a_whole_batch_and_a_refused_one_are_read() {
        let whole = read(answer(json!({"wires": ["00", "0102"]})), 2, false)
            .unwrap()
            .unwrap();
        assert_eq!(whole.wires, vec![vec![0], vec![1, 2]]);
        assert!(whole.refused.is_none() && whole.layouts.is_empty());
        let short = read(
            answer(
                json!({"wires": ["00"], "refused": {"class": "storage-full", "detail": "full"}}),
            ),
            3,
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(short.wires.len(), 1);
        assert_eq!(
            short.refused,
            Some(Reject::new(RejectClass::StorageFull, "full"))
        );
        let first = read(
            Answer::Refused(Reject::new(RejectClass::Other, "no session")),
            3,
            false,
        )
        .unwrap()
        .unwrap();
        assert!(first.wires.is_empty() && first.refused.is_some());
        let layout: Value = serde_json::from_str(LAYOUT).unwrap();
        let laid = read(
            answer(json!({"wires": ["00"], "layouts": [layout]})),
            1,
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(laid.layouts[0].body, 1..2);
    }

    #[test]
    fn a_batch_in_the_wrong_shape_is_a_bad_answer_saying_what_is_wrong() {
        assert_eq!(problem(json!({}), 2, false), "its \"ok.wires\" is missing");
        assert_eq!(
            problem(json!({"wires": "00"}), 2, false),
            "its \"ok.wires\" is not a list: \"00\""
        );
        assert!(problem(json!({"wires": ["00", "zz"]}), 2, false)
            .starts_with("its \"ok.wires[1]\" is not hex"));
        assert_eq!(
            problem(json!({"wires": ["00", "01", "02"]}), 2, false),
            "its \"ok.wires\" holds 3 wires, more than the 2 asked for"
        );
        assert_eq!(
            problem(json!({"wires": ["00"]}), 2, false),
            "its \"ok.wires\" holds 1 wires of the 2 asked for, and no \"ok.refused\" says why the rest were not made"
        );
        assert_eq!(
            problem(
                json!({"wires": ["00", "01"], "refused": {"class": "other", "detail": "x"}}),
                2,
                false
            ),
            "its \"ok.refused\" stops a batch whose 2 wires were all made"
        );
        assert!(problem(
            json!({"wires": [], "refused": {"class": "sleepy", "detail": "x"}}),
            2,
            false
        )
        .starts_with("its \"ok.refused.class\" is \"sleepy\""));
        assert_eq!(
            problem(json!({"wires": ["00", "01"]}), 2, true),
            "its \"ok.layouts\" is missing, although its hello took up wire_layout"
        );
        let layout: Value = serde_json::from_str(LAYOUT).unwrap();
        assert_eq!(
            problem(json!({"wires": ["00", "01"], "layouts": [layout]}), 2, true),
            "its \"ok.layouts\" holds 1 layouts for 2 wires"
        );
        assert!(read(Answer::Unimplemented("no".into()), 2, false)
            .unwrap_err()
            .contains("although its hello took up encrypt_many"));
    }
}
