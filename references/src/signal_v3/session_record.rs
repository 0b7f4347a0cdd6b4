//! A party's sessions with its one correspondent (libsignal's `SessionRecord`,
//! rust/protocol/src/state/session.rs, and the record-level steps of session_cipher.rs and
//! session.rs): the current session state and up to [`ARCHIVED_STATES_MAX_LENGTH`] previous
//! (archived) ones, newest first.
//!
//! - A **SignalMessage** is tried on the current state, then on each archived state, newest
//!   first. The first that decrypts it wins; an archived state that does is promoted to
//!   current (the current one archived in its place). A [`SignalV3Error::Duplicate`] from any
//!   state ends the search at once, as in libsignal. When every state refuses, libsignal
//!   returns one generic "decryption failed" (each state's reason goes to its log); the
//!   reference returns the most telling of the reasons (too far ahead, then a failed check).
//! - A **PreKeySignalMessage** goes to the state whose initiator base key it carries
//!   (promoted if archived), else to a new state made from the responder's pre-keys
//!   ([`super::x3dh`]); a new state becomes current and the current one is archived, the
//!   oldest archived state dropped beyond 40. Only that one state is tried.
//! - Archiving a state drops its pending pre-key (libsignal's
//!   `clear_unacknowledged_pre_key_message` in `archive_current_state`).
//!
//! Nothing changes until [`SessionRecord::commit`]: a refused message leaves every state as
//! it was.

use super::error::SignalV3Error;
use super::keys::{KeyPair, PublicKey};
use super::session_state::{PlannedChange, SessionState};
use super::signal_message::SignalMessage;
use std::collections::VecDeque;

/// libsignal's `ARCHIVED_STATES_MAX_LENGTH` (consts.rs): previous session states kept.
pub const ARCHIVED_STATES_MAX_LENGTH: usize = 40;

/// The current and archived session states.
#[derive(Clone, Debug, Default)]
pub struct SessionRecord {
    pub(super) current: Option<SessionState>,
    /// Newest first, at most [`ARCHIVED_STATES_MAX_LENGTH`].
    pub(super) previous: VecDeque<SessionState>,
    /// Set only by the planted flaw `previous-sessions-dropped`: a new state replaces the
    /// current one instead of archiving it.
    pub(super) drops_previous: bool,
}

/// The state a planned decryption applies to.
#[derive(Debug)]
pub enum Target {
    /// The current state.
    Current,
    /// The archived state at this position; it becomes current.
    Previous(usize),
    /// A state made from a pre-key message; it becomes current.
    New(Box<SessionState>),
}

/// A decryption that succeeded on paper, not yet committed.
#[derive(Debug)]
pub struct PlannedDecrypt {
    /// The decrypted payload.
    pub payload: Vec<u8>,
    pub(super) target: Target,
    pub(super) change: PlannedChange,
}

impl PlannedDecrypt {
    /// Whether committing needs a freshly drawn sending ratchet key (the message starts a
    /// receiving chain).
    pub fn needs_new_ratchet_key(&self) -> bool {
        self.change.new_chain().is_some()
    }
}

impl SessionRecord {
    /// A record holding `state` as current.
    pub fn new(state: SessionState) -> Self {
        SessionRecord {
            current: Some(state),
            previous: VecDeque::new(),
            drops_previous: false,
        }
    }

    /// The current state.
    pub fn current(&self) -> Option<&SessionState> {
        self.current.as_ref()
    }

    /// The current state, to encrypt with.
    pub fn current_mut(&mut self) -> Option<&mut SessionState> {
        self.current.as_mut()
    }

    /// The archived states, newest first.
    pub fn previous(&self) -> impl ExactSizeIterator<Item = &SessionState> {
        self.previous.iter()
    }

    /// Skipped message keys held in all states.
    pub fn skipped_len(&self) -> usize {
        self.current
            .iter()
            .chain(&self.previous)
            .map(SessionState::skipped_len)
            .sum()
    }

    /// Plans a SignalMessage over the current and the archived states.
    pub fn plan_signal_message(
        &self,
        message: &SignalMessage,
    ) -> Result<PlannedDecrypt, SignalV3Error> {
        let mut refusal: Option<SignalV3Error> = None;
        let states = self.current.iter().map(|s| (Target::Current, s)).chain(
            self.previous
                .iter()
                .enumerate()
                .map(|(i, s)| (Target::Previous(i), s)),
        );
        for (target, state) in states {
            match state.plan_decrypt(message) {
                Ok((payload, change)) => {
                    return Ok(PlannedDecrypt {
                        payload,
                        target,
                        change,
                    })
                }
                Err(e @ SignalV3Error::Duplicate { .. }) => return Err(e),
                Err(e) => {
                    refusal = Some(match refusal {
                        None => e,
                        Some(r) => r.more_telling(e),
                    })
                }
            }
        }
        Err(refusal.unwrap_or(SignalV3Error::NoSession(
            "a SignalMessage before any session: a responder needs a pre-key message first",
        )))
    }

    /// The state holding `base_key` as its initiator base key: current, or archived.
    pub fn find_by_base_key(&self, base_key: &PublicKey) -> Option<(Target, &SessionState)> {
        if let Some(s) = self
            .current
            .as_ref()
            .filter(|s| &s.alice_base_key == base_key)
        {
            return Some((Target::Current, s));
        }
        self.previous
            .iter()
            .position(|s| &s.alice_base_key == base_key)
            .map(|i| (Target::Previous(i), &self.previous[i]))
    }

    /// Plans the inner message of a pre-key message on `target` (`state` is that state).
    pub fn plan_on(
        target: Target,
        state: &SessionState,
        message: &SignalMessage,
    ) -> Result<PlannedDecrypt, SignalV3Error> {
        let (payload, change) = state.plan_decrypt(message)?;
        Ok(PlannedDecrypt {
            payload,
            target,
            change,
        })
    }

    /// Plans the inner message of a pre-key message on a state made for it.
    pub fn plan_new(
        state: SessionState,
        message: &SignalMessage,
    ) -> Result<PlannedDecrypt, SignalV3Error> {
        let (payload, change) = state.plan_decrypt(message)?;
        Ok(PlannedDecrypt {
            payload,
            target: Target::New(Box::new(state)),
            change,
        })
    }

    /// Commits a planned decryption; `new_sending` is the drawn ratchet key pair when
    /// [`PlannedDecrypt::needs_new_ratchet_key`]. On an error nothing has changed.
    pub fn commit(
        &mut self,
        planned: PlannedDecrypt,
        new_sending: Option<KeyPair>,
    ) -> Result<(), SignalV3Error> {
        match planned.target {
            Target::Current => self
                .current
                .as_mut()
                .ok_or(SignalV3Error::Internal("a planned current state is gone"))?
                .apply(planned.change, new_sending),
            Target::Previous(i) => {
                let mut state = self
                    .previous
                    .get(i)
                    .cloned()
                    .ok_or(SignalV3Error::Internal("a planned archived state is gone"))?;
                state.apply(planned.change, new_sending)?;
                self.previous.remove(i);
                self.promote(state);
                Ok(())
            }
            Target::New(state) => {
                let mut state = *state;
                state.apply(planned.change, new_sending)?;
                self.promote(state);
                Ok(())
            }
        }
    }

    /// Makes a new session `state` current, archiving the current one: a session this side
    /// started from a new bundle of its correspondent.
    pub fn start(&mut self, state: SessionState) {
        self.promote(state);
    }

    /// Makes `state` current, archiving the current one (libsignal's `promote_state`).
    fn promote(&mut self, state: SessionState) {
        if let Some(mut old) = self.current.replace(state) {
            if self.drops_previous {
                return;
            }
            if self.previous.len() >= ARCHIVED_STATES_MAX_LENGTH {
                self.previous.pop_back();
            }
            old.pending_pre_key = None;
            self.previous.push_front(old);
        }
    }
}
