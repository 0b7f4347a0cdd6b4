//! The byte form of a copied group member: a format tag, then length-prefixed fields
//! (a 4-byte big-endian length, then the bytes). Each adapter names its own fields; a
//! truncated or garbled copy is refused naming the field it failed at.

use ratchet_bench_core::peer::{Reject, RejectClass};

/// Writes fields one after another.
#[derive(Default)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// A copy of format `tag`.
    pub(crate) fn new(tag: &str) -> Self {
        let mut w = Writer::default();
        w.field(tag.as_bytes());
        w
    }

    /// Appends one field.
    pub(crate) fn field(&mut self, bytes: &[u8]) {
        self.bytes
            .extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        self.bytes.extend_from_slice(bytes);
    }

    /// The copy.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads the fields back.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

fn bad(what: &str, why: &str) -> Reject {
    Reject::new(
        RejectClass::Malformed,
        format!("member state: field {what}: {why}"),
    )
}

impl<'a> Reader<'a> {
    /// Reads a copy of format `tag`.
    pub(crate) fn new(bytes: &'a [u8], tag: &str) -> Result<Self, Reject> {
        let mut r = Reader { bytes };
        let found = r.field("format")?;
        if found != tag.as_bytes() {
            return Err(bad(
                "format",
                &format!("expected {tag:?}, got {:?}", String::from_utf8_lossy(found)),
            ));
        }
        Ok(r)
    }

    /// The next field, named `what` in errors.
    pub(crate) fn field(&mut self, what: &str) -> Result<&'a [u8], Reject> {
        let len = self
            .bytes
            .get(..4)
            .ok_or_else(|| bad(what, "the copy ends before its length"))?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let body = self
            .bytes
            .get(4..4 + len)
            .ok_or_else(|| bad(what, &format!("the copy ends inside its {len} bytes")))?;
        self.bytes = &self.bytes[4 + len..];
        Ok(body)
    }

    /// The next field as a count.
    pub(crate) fn count(&mut self, what: &str) -> Result<usize, Reject> {
        let raw = self.field(what)?;
        let raw: [u8; 8] = raw
            .try_into()
            .map_err(|_| bad(what, &format!("expected 8 bytes, got {}", raw.len())))?;
        Ok(u64::from_be_bytes(raw) as usize)
    }

    /// Checks that nothing follows the last field.
    pub(crate) fn end(&self) -> Result<(), Reject> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(bad(
                "end",
                &format!("{} bytes after the last field", self.bytes.len()),
            ))
        }
    }
}

/// A count as a field.
pub(crate) fn count_field(n: usize) -> [u8; 8] {
    (n as u64).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_back_and_damage_is_named() {
        let mut w = Writer::new("t1");
        w.field(b"abc");
        w.field(&count_field(7));
        let bytes = w.finish();
        let mut r = Reader::new(&bytes, "t1").unwrap();
        assert_eq!(r.field("a").unwrap(), b"abc");
        assert_eq!(r.count("n").unwrap(), 7);
        r.end().unwrap();
        let err = Reader::new(&bytes, "t2").err().unwrap();
        assert!(err.detail.contains("format"), "{}", err.detail);
        let mut r = Reader::new(&bytes[..bytes.len() - 3], "t1").unwrap();
        r.field("a").unwrap();
        let err = r.count("n").unwrap_err();
        assert!(err.detail.contains("field n"), "{}", err.detail);
    }
}
