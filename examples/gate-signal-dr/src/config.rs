//! What fixes the wire format (the HKDF info strings) and which checks run.

/// The info strings of the two key derivations, and whether the tag is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// HKDF info of KDF_RK.
    pub(crate) root_info: &'static [u8],
    /// HKDF info of a message key's expansion.
    pub(crate) message_info: &'static [u8],
    /// Whether a message's tag is checked before its body is used.
    pub(crate) check_tag: bool,
}

impl Config {
    /// The bench's `signal-dr` profile: the wire format of its reference.
    pub const SIGNAL_DR: Config = Config {
        root_info: b"ratchet-bench signal-dr KDF_RK",
        message_info: b"ratchet-bench signal-dr ENCRYPT",
        check_tag: true,
    };

    /// The same ratchet under other info strings: a wire format of its own, which no other
    /// implementation speaks (the example's "own family").
    pub const OWN_FORMAT: Config = Config {
        root_info: b"gate-signal-dr own format root",
        message_info: b"gate-signal-dr own format message",
        check_tag: true,
    };

    /// This configuration with the tag check removed: a deliberately broken build, so that
    /// the example can show the gate catching it. Never for real use.
    #[doc(hidden)]
    pub const fn without_tag_check_for_testing_only(self) -> Config {
        Config {
            check_tag: false,
            ..self
        }
    }
}
