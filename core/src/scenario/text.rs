//! The text form of a scenario: steps separated by `;`, each a keyword and its arguments.
//!
//! ```text
//! send A 5; send A 7; deliver m1; tamper m0 mac 3; deliver m0; jump B +1; inject A -;
//! compromise B
//! ```
//!
//! Printing and parsing are inverses: `text.parse::<Scenario>()?.to_string()` gives the
//! text back in canonical spacing.

use super::{MsgId, Region, Scenario, Side, Step};
use crate::codec::ops::{FieldSel, Op};
use std::fmt;
use std::str::FromStr;

/// A scenario text that does not parse, with the step it failed at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: {reason}")]
pub struct ParseError {
    /// Index of the failing step (0-based).
    pub step: usize,
    /// What is wrong.
    pub reason: String,
}

impl ParseError {
    pub(crate) fn new(step: usize, reason: impl Into<String>) -> Self {
        ParseError {
            step,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Region::Header => "header",
            Region::Body => "body",
            Region::Mac => "mac",
            Region::Ad => "ad",
        })
    }
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}", self.0)
    }
}

fn hex_or_dash(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".into()
    } else {
        hex::encode(bytes)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Send { from, len } => write!(f, "send {from} {len}"),
            Step::Deliver { msg } => write!(f, "deliver {msg}"),
            Step::Drop { msg } => write!(f, "drop {msg}"),
            Step::DeliverAll => write!(f, "deliver-all"),
            Step::Replay { msg } => write!(f, "replay {msg}"),
            Step::Tamper { msg, region, bit } => write!(f, "tamper {msg} {region} {bit}"),
            Step::Rekey { msg } => write!(f, "rekey {msg}"),
            Step::Truncate { msg, keep } => write!(f, "truncate {msg} {keep}"),
            Step::Extend { msg, bytes } => write!(f, "extend {msg} {}", hex_or_dash(bytes)),
            Step::Inject { to, bytes } => write!(f, "inject {to} {}", hex_or_dash(bytes)),
            Step::Foreign { to, index } => write!(f, "foreign {to} {index}"),
            Step::Jump { from, past } => write!(f, "jump {from} {past:+}"),
            Step::Compromise { side } => write!(f, "compromise {side}"),
            Step::Second => f.write_str("second"),
            Step::Fresh { msg } => write!(f, "fresh {msg}"),
            Step::Renew { side } => write!(f, "renew {side}"),
            Step::Mutate { msg, field, op } => write!(f, "mutate {msg} {field} {op}"),
            Step::Bundle { field, op } => write!(f, "bundle {field} {op}"),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

struct Args<'a> {
    step: usize,
    words: std::str::SplitWhitespace<'a>,
}

impl<'a> Args<'a> {
    fn next(&mut self, what: &str) -> Result<&'a str, ParseError> {
        self.words.next().ok_or_else(|| {
            ParseError::new(
                self.step,
                format!("expected {what}, got the end of the step"),
            )
        })
    }

    fn side(&mut self) -> Result<Side, ParseError> {
        match self.next("a side (A or B)")? {
            "A" | "a" => Ok(Side::A),
            "B" | "b" => Ok(Side::B),
            other => Err(ParseError::new(
                self.step,
                format!("expected a side (A or B), got {other:?}"),
            )),
        }
    }

    fn msg(&mut self) -> Result<MsgId, ParseError> {
        let word = self.next("a message (m0, m1, ...)")?;
        word.strip_prefix('m')
            .and_then(|n| n.parse().ok())
            .map(MsgId)
            .ok_or_else(|| {
                ParseError::new(
                    self.step,
                    format!("expected a message (m0, m1, ...), got {word:?}"),
                )
            })
    }

    fn number<T: FromStr>(&mut self, what: &str) -> Result<T, ParseError> {
        let word = self.next(what)?;
        word.parse()
            .map_err(|_| ParseError::new(self.step, format!("expected {what}, got {word:?}")))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, ParseError> {
        let word = self.next("hex bytes or -")?;
        if word == "-" {
            return Ok(Vec::new());
        }
        hex::decode(word).map_err(|e| {
            ParseError::new(
                self.step,
                format!("expected hex bytes or -, got {word:?} ({e})"),
            )
        })
    }

    fn region(&mut self) -> Result<Region, ParseError> {
        match self.next("a region (header, body, mac, ad)")? {
            "header" => Ok(Region::Header),
            "body" => Ok(Region::Body),
            "mac" => Ok(Region::Mac),
            "ad" => Ok(Region::Ad),
            other => Err(ParseError::new(
                self.step,
                format!("expected a region (header, body, mac, ad), got {other:?}"),
            )),
        }
    }

    fn field(&mut self) -> Result<FieldSel, ParseError> {
        let word = self.next("a field (kind.number, e.g. x25519-key.0)")?;
        word.parse().map_err(|e| ParseError::new(self.step, e))
    }

    fn op(&mut self) -> Result<Op, ParseError> {
        let name = self.next("an operator")?;
        let takes_arg = Op::from_name(name, 0).is_some_and(|o| o.arg().is_some());
        let arg = if takes_arg {
            self.number("the operator's argument (0-255)")?
        } else {
            0
        };
        Op::from_name(name, arg).ok_or_else(|| {
            let all: Vec<&str> = Op::ALL.iter().map(|o| o.name()).collect();
            ParseError::new(
                self.step,
                format!("expected an operator ({}), got {name:?}", all.join(", ")),
            )
        })
    }

    fn end(mut self) -> Result<(), ParseError> {
        match self.words.next() {
            None => Ok(()),
            Some(extra) => Err(ParseError::new(
                self.step,
                format!("expected the end of the step, got {extra:?}"),
            )),
        }
    }
}

fn parse_step(step: usize, text: &str) -> Result<Step, ParseError> {
    let mut args = Args {
        step,
        words: text.split_whitespace(),
    };
    let parsed = match args.next("a step")? {
        "send" => Step::Send {
            from: args.side()?,
            len: args.number("a plaintext length (0-65535)")?,
        },
        "deliver" => Step::Deliver { msg: args.msg()? },
        "drop" => Step::Drop { msg: args.msg()? },
        "deliver-all" => Step::DeliverAll,
        "replay" => Step::Replay { msg: args.msg()? },
        "tamper" => Step::Tamper {
            msg: args.msg()?,
            region: args.region()?,
            bit: args.number("a bit index")?,
        },
        "rekey" => Step::Rekey { msg: args.msg()? },
        "truncate" => Step::Truncate {
            msg: args.msg()?,
            keep: args.number("a byte count")?,
        },
        "extend" => {
            let msg = args.msg()?;
            let bytes = args.bytes()?;
            if bytes.is_empty() {
                return Err(ParseError::new(
                    step,
                    "expected at least one byte to append",
                ));
            }
            Step::Extend { msg, bytes }
        }
        "inject" => Step::Inject {
            to: args.side()?,
            bytes: args.bytes()?,
        },
        "foreign" => Step::Foreign {
            to: args.side()?,
            index: args.number("a message index (0-255)")?,
        },
        "jump" => Step::Jump {
            from: args.side()?,
            past: args.number("a signed distance past the limit (-128 to +127)")?,
        },
        "compromise" => Step::Compromise { side: args.side()? },
        "second" => Step::Second,
        "fresh" => Step::Fresh { msg: args.msg()? },
        "renew" => Step::Renew { side: args.side()? },
        "mutate" => Step::Mutate {
            msg: args.msg()?,
            field: args.field()?,
            op: args.op()?,
        },
        "bundle" => Step::Bundle {
            field: args.field()?,
            op: args.op()?,
        },
        other => {
            return Err(ParseError::new(
                step,
                format!(
                    "expected one of send, deliver, drop, deliver-all, replay, tamper, rekey, \
                     truncate, extend, inject, foreign, jump, compromise, mutate, bundle, second, fresh, \
                     renew; got \
                     {other:?}"
                ),
            ))
        }
    };
    args.end()?;
    Ok(parsed)
}

impl FromStr for Scenario {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let steps = text
            .split([';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.starts_with('#'))
            .enumerate()
            .map(|(i, s)| parse_step(i, s))
            .collect::<Result<Vec<_>, _>>()?;
        let scenario = Scenario { steps };
        scenario.validate()?;
        Ok(scenario)
    }
}
