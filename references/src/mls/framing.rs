//! Reading the TLS presentation language as MLS uses it (RFC 9420 §2.1): big-endian
//! integers, fixed arrays, and `opaque x<V>` vectors whose length is a variable-length
//! integer (§2.1.2: 1, 2 or 4 bytes, the top two bits giving the size, the shortest form
//! only).

/// Why bytes do not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The input ends inside a field.
    #[error("field {field}: expected {expected} more bytes, got {got}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes it needs.
        expected: usize,
        /// Bytes left.
        got: usize,
    },
    /// A variable-length integer uses the reserved 8-byte form or is not the shortest.
    #[error(
        "field {field}: expected a shortest-form 1, 2 or 4-byte length, got prefix {prefix:02x}"
    )]
    Varint {
        /// The field being read.
        field: &'static str,
        /// Its first byte.
        prefix: u8,
    },
    /// A field holds a value the structure does not allow here.
    #[error("field {field}: expected {expected}, got {got}")]
    Unexpected {
        /// The field.
        field: &'static str,
        /// What may be there.
        expected: String,
        /// What is there.
        got: String,
    },
}

/// A cursor over encoded bytes; every read names its field for the error.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], FramingError> {
        if self.bytes.len() < n {
            return Err(FramingError::Truncated {
                field,
                expected: n,
                got: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], FramingError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    /// A `uint8`.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, FramingError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// A `uint16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, FramingError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// A `uint32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, FramingError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// A `uint64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, FramingError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// A variable-length integer.
    pub fn varint(&mut self, field: &'static str) -> Result<usize, FramingError> {
        let prefix = *self.bytes.first().ok_or(FramingError::Truncated {
            field,
            expected: 1,
            got: 0,
        })?;
        let bad = FramingError::Varint { field, prefix };
        let (n, min) = match prefix >> 6 {
            0 => (usize::from(self.u8(field)?), 0),
            1 => (usize::from(self.u16(field)? & 0x3fff), 0x40),
            2 => (self.u32(field)? as usize & 0x3fff_ffff, 0x4000),
            _ => return Err(bad),
        };
        if n < min {
            return Err(bad);
        }
        Ok(n)
    }

    /// An `opaque x<V>`.
    pub fn opaque(&mut self, field: &'static str) -> Result<&'a [u8], FramingError> {
        let n = self.varint(field)?;
        self.take(n, field)
    }

    /// Fails unless every byte has been read.
    pub fn end(&self, field: &'static str) -> Result<(), FramingError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(FramingError::Unexpected {
                field,
                expected: "the end of the input".into(),
                got: format!("{} more bytes", self.bytes.len()),
            })
        }
    }
}
