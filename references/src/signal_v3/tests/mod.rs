//! Tests of whole sessions through the party API, and known answers from libsignal.

mod common;
mod decoders;
mod libsignal;
mod malleability;
mod session;
