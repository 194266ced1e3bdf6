//! Ledger files: a magic line, then each signed record's frame, in log order (FORMAT.md
//! gives the bytes). Read in bounded memory, whatever a frame claims.

use std::io::{self, Read, Write};

use super::SignedRecord;
use crate::encoding::MAX_BODY_LEN;
use crate::error::FrameError;
use crate::signing::SIGNATURE_LEN;

/// Magic line that opens a ledger file.
pub const LEDGER_MAGIC: &[u8; 20] = b"agritrace-ledger/v1\n";

/// Writes a ledger file: [`LEDGER_MAGIC`] then each record's frame.
///
/// # Errors
/// Any I/O error from `out`.
pub fn write_ledger<'a, W: Write>(
    mut out: W,
    records: impl IntoIterator<Item = &'a SignedRecord>,
) -> io::Result<()> {
    out.write_all(LEDGER_MAGIC)?;
    let mut buf = Vec::with_capacity(4096);
    for r in records {
        buf.clear();
        r.write_frame(&mut buf);
        out.write_all(&buf)?;
    }
    out.flush()
}

/// Reads records one at a time from a ledger file, in bounded memory.
///
/// Yields `Err` once and then stops at the first malformed or truncated frame; each error
/// names the byte offset of the frame.
///
/// # Example
/// ```
/// use agritrace::{LedgerReader, write_ledger};
/// let mut file = Vec::new();
/// write_ledger(&mut file, [])?;
/// let records: Vec<_> = LedgerReader::new(file.as_slice())?.collect::<Result<_, _>>()?;
/// assert!(records.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LedgerReader<R> {
    inner: R,
    offset: u64,
    done: bool,
}

impl LedgerReader<io::BufReader<std::fs::File>> {
    /// Opens a ledger file with a 1 MiB read buffer.
    ///
    /// # Errors
    /// [`FrameError::Io`] when the file cannot be opened or read, [`FrameError::BadMagic`]
    /// when it is not a ledger file.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, FrameError> {
        let file = std::fs::File::open(path.as_ref()).map_err(|e| FrameError::Io {
            offset: 0,
            message: format!("{}: {e}", path.as_ref().display()),
        })?;
        Self::new(io::BufReader::with_capacity(1 << 20, file))
    }
}

impl<R: Read> LedgerReader<R> {
    /// Checks the magic line and positions the reader at the first frame.
    ///
    /// # Errors
    /// [`FrameError::BadMagic`] when the input is not a ledger file, or an I/O error.
    pub fn new(mut inner: R) -> Result<Self, FrameError> {
        let mut magic = [0u8; LEDGER_MAGIC.len()];
        read_full(&mut inner, &mut magic, 0)?;
        if &magic != LEDGER_MAGIC {
            return Err(FrameError::BadMagic);
        }
        Ok(Self {
            inner,
            offset: LEDGER_MAGIC.len() as u64,
            done: false,
        })
    }

    fn next_frame(&mut self) -> Result<Option<SignedRecord>, FrameError> {
        let mut len = [0u8; 4];
        match self.inner.read(&mut len[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => read_full(&mut self.inner, &mut len[1..], self.offset + 1)?,
            Err(e) => {
                return Err(FrameError::Io {
                    offset: self.offset,
                    message: e.to_string(),
                });
            }
        }
        let n = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
        if n > MAX_BODY_LEN {
            return Err(FrameError::TooLong {
                offset: self.offset,
                len: n,
                max: MAX_BODY_LEN,
            });
        }
        let mut body = vec![0u8; n];
        read_full(&mut self.inner, &mut body, self.offset + 4)?;
        let mut signature = [0u8; SIGNATURE_LEN];
        read_full(&mut self.inner, &mut signature, self.offset + 4 + n as u64)?;
        self.offset += (4 + n + SIGNATURE_LEN) as u64;
        Ok(Some(SignedRecord { body, signature }))
    }
}

impl<R: Read> Iterator for LedgerReader<R> {
    type Item = Result<SignedRecord, FrameError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_frame().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

fn read_full<R: Read>(r: &mut R, buf: &mut [u8], offset: u64) -> Result<(), FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => {
                return Err(FrameError::Truncated {
                    offset,
                    need: buf.len(),
                    have: filled,
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(FrameError::Io {
                    offset,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(())
}
