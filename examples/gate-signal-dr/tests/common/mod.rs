//! The adapter a team writes once: its implementation behind the bench's `Peer` and `Party`
//! traits. It lives in the tests, so the library itself never depends on the bench.
// Each test file uses a part of it.
#![allow(dead_code)]

use gate_signal_dr::{Config, Error, Session, HEADER_LEN, MAX_SKIP, MAX_STORED, TAG_LEN};
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, FamilySpec, Limits, Party, Peer, PeerInfo, Reject, RejectClass,
    SessionInit, WhenFull, WireLayout,
};

/// The example's implementation as a peer of the bench.
pub struct Example {
    name: &'static str,
    config: Config,
    family: Family,
}

/// The family of the example's own wire format ([`Config::OWN_FORMAT`]): the same ratchet
/// as `signal-dr`, so the same properties, under other info strings, which no other
/// implementation speaks. Declared here, the bench knows nothing of it beforehand.
pub static OWN_FAMILY: FamilySpec = FamilySpec {
    name: "example-dr",
    description:
        "the gate example's own Double Ratchet format (signal-dr's layout, its own KDF labels)",
    ratchets_per_turn: true,
    uses_previous_length: true,
    deletes_used_keys: true,
    benign: &[],
};

impl Example {
    /// The implementation as it ships, speaking `signal-dr`.
    pub const SIGNAL_DR: Example = Example {
        name: "example",
        config: Config::SIGNAL_DR,
        family: Family::SIGNAL_DR,
    };

    /// A build with the tag check removed: the gate must catch it.
    pub const NO_TAG_CHECK: Example = Example {
        name: "example",
        config: Config::SIGNAL_DR.without_tag_check_for_testing_only(),
        family: Family::SIGNAL_DR,
    };

    /// The implementation in its own wire format, as the release `name` (two releases of
    /// one format form the family's interop matrix).
    pub const fn own_format(name: &'static str) -> Example {
        Example {
            name,
            config: Config::OWN_FORMAT,
            family: Family::declare(&OWN_FAMILY),
        }
    }

    /// The own format claiming to be `family`: what a team without a declared family of its
    /// own would have to do.
    pub const fn own_format_claiming(name: &'static str, family: Family) -> Example {
        Example {
            name,
            config: Config::OWN_FORMAT,
            family,
        }
    }
}

/// The library's refusals in the bench's classes, with its own text beside.
fn reject(e: Error) -> Reject {
    let class = match e {
        Error::BadTag | Error::BadPadding => RejectClass::Auth,
        Error::Replay { .. } => RejectClass::Replay,
        Error::TooFarAhead { .. } => RejectClass::TooFarAhead,
        Error::StoreFull { .. } => RejectClass::StorageFull,
        Error::Malformed(_) => RejectClass::Malformed,
        Error::NoSendingChain => RejectClass::UnknownSession,
        _ => RejectClass::Other,
    };
    Reject::new(class, e.to_string())
}

struct ExampleParty(Session<BoxRng>);

impl Party for ExampleParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.0.encrypt(ad, plaintext).map_err(reject)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        self.0.decrypt(ad, wire).map_err(reject)
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        Ok(self.0.to_bytes())
    }
}

impl Peer for Example {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: self.name.into(),
            version: concat!("gate-signal-dr ", env!("CARGO_PKG_VERSION")).into(),
            family: self.family,
            limits: Limits {
                max_skip: MAX_SKIP,
                max_stored: Some(MAX_STORED as u32),
                max_stored_per_chain: None,
                when_full: WhenFull::Refuse,
                window: None,
                max_chains: None,
            },
            capabilities: Capabilities {
                // Every random byte comes from the generator the bench hands in.
                injectable_rng: true,
                export_state: true,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (session, bundle) = Session::responder(self.config, init.shared_secret, rng);
        Ok((Box::new(ExampleParty(session)), bundle.to_vec()))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let theirs: [u8; 32] = bundle.try_into().map_err(|_| {
            Reject::new(
                RejectClass::Malformed,
                format!(
                    "a bundle of {} bytes, expected a 32-byte ratchet key",
                    bundle.len()
                ),
            )
        })?;
        Ok(Box::new(ExampleParty(Session::initiator(
            self.config,
            init.shared_secret,
            theirs,
            rng,
        ))))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        let header = HEADER_LEN.min(wire.len());
        let tag = wire.len().saturating_sub(TAG_LEN).max(header);
        WireLayout {
            header: 0..header,
            body: header..tag,
            mac: tag..wire.len(),
            ratchet_key: (wire.len() >= 32).then_some(0..32),
        }
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let session = Session::from_bytes(self.config, state, rng).map_err(reject)?;
        Ok(Box::new(ExampleParty(session)))
    }
}
