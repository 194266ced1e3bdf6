//! Reads: rows to records, and the integrity check.

use agritrace::{
    ChainTip, LineageEdge, RecordBody, RecordId, SIGNATURE_LEN, SignedRecord, StoreError,
    SubjectId, Timestamp,
};
use postgres::{GenericClient, Row};

use crate::{Conn, PgStore, Statements, as_i64, backend};

/// A column of `row`, or a backend error naming it.
pub(crate) fn col<'a, T: postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: usize,
) -> Result<T, StoreError> {
    row.try_get(i).map_err(backend)
}

pub(crate) fn record_id(bytes: &[u8]) -> Result<RecordId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(RecordId::from_bytes)
        .map_err(|_| StoreError::Corrupt(format!("record ID of {} bytes", bytes.len())))
}

pub(crate) fn subject(text: &str, row: &str) -> Result<SubjectId, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{row} row {text:?}: subject: {e}")))
}

pub(crate) fn position(pos: i64) -> Result<u64, StoreError> {
    u64::try_from(pos).map_err(|_| StoreError::Corrupt(format!("log position {pos}")))
}

/// A `(pos, body, sig)` row as a record and its position.
fn signed(row: &Row) -> Result<(u64, SignedRecord), StoreError> {
    let pos: i64 = col(row, 0)?;
    let record = record_at(row, 1, format_args!("record at log position {pos}"))?;
    Ok((position(pos)?, record))
}

/// The `(body, sig)` columns of `row` from `at` on, as a record; `what` names it in the
/// error when the signature is not 64 bytes.
fn record_at(
    row: &Row,
    at: usize,
    what: std::fmt::Arguments<'_>,
) -> Result<SignedRecord, StoreError> {
    let body: Vec<u8> = col(row, at)?;
    let sig: &[u8] = col(row, at + 1)?;
    let sig = <[u8; SIGNATURE_LEN]>::try_from(sig)
        .map_err(|_| StoreError::Corrupt(format!("{what}: signature of {} bytes", sig.len())))?;
    Ok(SignedRecord::from_parts(body, sig))
}

/// A `(seq, id, time, ends)` tips row.
pub(crate) fn tip_row(row: &Row, at: usize, subject: &str) -> Result<ChainTip, StoreError> {
    let seq: i64 = col(row, at)?;
    let id: &[u8] = col(row, at + 1)?;
    Ok(ChainTip::new(
        u64::try_from(seq)
            .map_err(|_| StoreError::Corrupt(format!("tips row {subject}: seq {seq}")))?,
        record_id(id).map_err(|e| StoreError::Corrupt(format!("tips row {subject}: {e}")))?,
        Timestamp::from_millis(col(row, at + 2)?),
        col(row, at + 3)?,
    ))
}

pub(crate) fn tip_of(
    client: &mut impl GenericClient,
    st: &Statements,
    subject: &SubjectId,
) -> Result<Option<ChainTip>, StoreError> {
    let text = subject.to_string();
    client
        .query_opt(&st.tip, &[&text])
        .map_err(backend)?
        .map(|row| tip_row(&row, 0, &text))
        .transpose()
}

impl PgStore {
    pub(crate) fn read_chain(&self, subject: &SubjectId) -> Result<Vec<SignedRecord>, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        client
            .query(&st.chain, &[&subject.to_string()])
            .map_err(backend)?
            .iter()
            .map(|row| record_at(row, 0, format_args!("a record of {subject}")))
            .collect()
    }

    pub(crate) fn read_get(
        &self,
        id: &RecordId,
    ) -> Result<Option<(u64, SignedRecord)>, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        client
            .query_opt(&st.get, &[&id.as_bytes().as_slice()])
            .map_err(backend)?
            .map(|row| signed(&row))
            .transpose()
    }

    pub(crate) fn read_page(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, SignedRecord)>, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        client
            .query(&st.read_log, &[&as_i64(from)?, &limit])
            .map_err(backend)?
            .iter()
            .map(signed)
            .collect()
    }

    pub(crate) fn read_len(&self) -> Result<u64, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        let row = client.query_one(&st.head, &[]).map_err(backend)?;
        position(col(&row, 0)?)
    }

    pub(crate) fn read_subjects(&self) -> Result<Vec<SubjectId>, StoreError> {
        let mut conn = self.lock()?;
        let rows = conn
            .client
            .query("SELECT subject FROM tips", &[])
            .map_err(backend)?;
        // Sorted here, byte-wise as SQLite does: the server's collation may differ.
        let mut texts: Vec<String> = rows.iter().map(|r| col(r, 0)).collect::<Result<_, _>>()?;
        texts.sort_unstable();
        texts.iter().map(|t| subject(t, "tips")).collect()
    }

    pub(crate) fn read_children_count(&self, subject: &SubjectId) -> Result<u64, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        let n: Option<i64> = client
            .query_opt(&st.children_count, &[&subject.to_string()])
            .map_err(backend)?
            .map(|row| col(&row, 0))
            .transpose()?;
        Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }

    /// Lineage edges whose parent (`down`) or child is `subject`, in the order they were
    /// stored.
    pub(crate) fn edges(
        &self,
        down: bool,
        subject: &SubjectId,
    ) -> Result<Vec<LineageEdge>, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        let stmt = if down { &st.children } else { &st.parents };
        client
            .query(stmt, &[&subject.to_string()])
            .map_err(backend)?
            .iter()
            .map(|row| {
                Ok(LineageEdge {
                    child: self::subject(col(row, 0)?, "lineage")?,
                    child_record: record_id(col(row, 1)?)?,
                    parent: self::subject(col(row, 2)?, "lineage")?,
                    parent_record: record_id(col(row, 3)?)?,
                })
            })
            .collect()
    }

    /// The bookkeeping checks of `SqliteStore::check_integrity`, in portable SQL, then every
    /// record decoded (read in pages, so memory stays flat) and its lineage counted.
    pub(crate) fn integrity(&self) -> Result<(), StoreError> {
        let checks = [
            (
                "log positions have a gap",
                "SELECT COUNT(*) FROM (SELECT COUNT(*) AS n, MIN(pos) AS f, MAX(pos) AS m FROM log) c
                 WHERE n > 0 AND (f != 0 OR m + 1 != n)",
            ),
            (
                "the log head is not the log's length",
                "SELECT COUNT(*) FROM head WHERE next_pos != (SELECT COUNT(*) FROM log)",
            ),
            (
                "a record has no log position",
                "SELECT COUNT(*) FROM records r WHERE NOT EXISTS (SELECT 1 FROM log l WHERE l.id = r.id)",
            ),
            (
                "a log position names no record",
                "SELECT COUNT(*) FROM log l WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = l.id)",
            ),
            (
                "a subject's tip is not its newest record",
                "SELECT COUNT(*) FROM (SELECT subject, MAX(seq) AS s, COUNT(*) AS n FROM records GROUP BY subject) r
                 LEFT JOIN tips t ON t.subject = r.subject
                 WHERE t.seq IS NULL OR t.seq != r.s OR r.n != r.s + 1
                    OR t.id != (SELECT id FROM records x WHERE x.subject = r.subject AND x.seq = r.s)",
            ),
            (
                "a tip names a subject with no records",
                "SELECT COUNT(*) FROM tips t WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.subject = t.subject)",
            ),
            (
                "a lineage count disagrees with the lineage edges",
                "SELECT COUNT(*) FROM tips t WHERE t.children != (SELECT COUNT(*) FROM lineage l WHERE l.parent_subject = t.subject)",
            ),
        ];
        {
            let mut conn = self.lock()?;
            for (what, sql) in checks {
                let row = conn.client.query_one(sql, &[]).map_err(backend)?;
                let bad: i64 = col(&row, 0)?;
                if bad > 0 {
                    return Err(StoreError::Corrupt(format!("{what} ({bad} found)")));
                }
            }
        }
        // Every lineage reference in the signed records has its edge.
        let mut refs: i64 = 0;
        let mut from = 0;
        loop {
            let page = self.read_page(from, 10_000)?;
            let Some((last, _)) = page.last() else { break };
            from = last + 1;
            for (pos, record) in &page {
                let body = RecordBody::decode(record.body()).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "record at log position {pos} does not decode: {e}"
                    ))
                })?;
                refs += i64::try_from(body.event().lineage().len()).unwrap_or(i64::MAX);
            }
        }
        let mut conn = self.lock()?;
        let row = conn
            .client
            .query_one("SELECT COUNT(*) FROM lineage", &[])
            .map_err(backend)?;
        let edges: i64 = col(&row, 0)?;
        if edges != refs {
            return Err(StoreError::Corrupt(format!(
                "the records make {refs} lineage references, the lineage table holds {edges} edges"
            )));
        }
        Ok(())
    }
}
