//! Rows to records and back, and errors named by file.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::{ChainTip, LineageEdge, StoreError};
use crate::id::SubjectId;
use crate::record::{RecordId, SIGNATURE_LEN, SignedRecord};
use crate::time::Timestamp;

use super::{SqliteStore, backend};

/// A `(pos, body, sig)` row of the records table.
pub(super) fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Vec<u8>, Vec<u8>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

/// The one row `sql` selects with `params`, if there is one, through the statement cache.
pub(super) fn optional_row<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, row).optional())
        .map_err(backend)
}

/// A path-naming backend error.
pub(super) fn at_path(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Backend {
        file: Some(path.to_owned()),
        source: Box::new(e),
    }
}

pub(super) fn in_file(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Backend { file: None, source } => StoreError::Backend {
            file: Some(path.to_owned()),
            source,
        },
        other => other,
    }
}

pub(super) fn tip_of(conn: &Connection, subject: &str) -> Result<Option<ChainTip>, StoreError> {
    let row: Option<(i64, Vec<u8>, i64, bool)> = conn
        .prepare_cached("SELECT seq, id, time, ends FROM tips WHERE subject = ?1")
        .and_then(|mut s| {
            s.query_row([subject], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .map_err(backend)?;
    row.map(|(seq, id, time, ended)| {
        Ok(ChainTip::new(
            u64::try_from(seq)
                .map_err(|_| StoreError::Corrupt(format!("tips row {subject}: seq {seq}")))?,
            record_id(&id).map_err(|e| StoreError::Corrupt(format!("tips row {subject}: {e}")))?,
            Timestamp::from_millis(time),
            ended,
        ))
    })
    .transpose()
}

pub(super) fn record_id(bytes: &[u8]) -> Result<RecordId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(RecordId::from_bytes)
        .map_err(|_| StoreError::Corrupt(format!("record ID of {} bytes", bytes.len())))
}

pub(super) fn signed(pos: i64, body: Vec<u8>, sig: &[u8]) -> Result<SignedRecord, StoreError> {
    let sig = <[u8; SIGNATURE_LEN]>::try_from(sig).map_err(|_| {
        StoreError::Corrupt(format!(
            "record at log position {pos}: signature of {} bytes",
            sig.len()
        ))
    })?;
    Ok(SignedRecord::from_parts(body, sig))
}

impl SqliteStore {
    pub(super) fn edges(
        &self,
        column: &str,
        subject: &SubjectId,
    ) -> Result<Vec<LineageEdge>, StoreError> {
        let conn = self.lock();
        let sql = format!(
            "SELECT child_subject, child_id, parent_subject, parent_id FROM lineage WHERE {column} = ?1 ORDER BY rowid"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt
            .query_map([subject.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(backend)?;
        rows.map(|row| {
            let (c, cid, p, pid) = row.map_err(backend)?;
            let parse = |s: String| {
                s.parse::<SubjectId>()
                    .map_err(|e| StoreError::Corrupt(format!("lineage row {s:?}: subject: {e}")))
            };
            Ok(LineageEdge {
                child: parse(c)?,
                child_record: record_id(&cid)?,
                parent: parse(p)?,
                parent_record: record_id(&pid)?,
            })
        })
        .collect()
    }
}
