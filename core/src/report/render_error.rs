//! Why a report file could not be rendered.

/// A report file that could not be rendered (the data model refused a value).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The JUnit XML serializer failed.
    #[error("JUnit report: {0}")]
    Junit(String),
    /// The SARIF log could not be serialized.
    #[error("SARIF report: {0}")]
    Sarif(String),
}
