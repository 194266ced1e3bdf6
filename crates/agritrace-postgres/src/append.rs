//! The write path. A batch is judged a chunk ahead of this thread (the core crate's
//! [`backend::judge_ahead`]); this thread, in one transaction, takes the trust lock shared,
//! and for each judged chunk locks the `tips` rows of its subjects (one query), reads its
//! lineage parents (one query), admits its records and sends them (one statement for the
//! records, one for their lineage edges) while the helpers judge the next chunk. Then tips
//! and children counts are written, and one last statement takes the `head` row's lock and
//! gives the batch its log positions; `COMMIT` releases it. The global lock is held for
//! that statement and the commit only, so writers to different subjects overlap.
//!
//! A writer that loses a race (another writer's uncommitted record of the same subject and
//! seq, or a deadlock between two writers' row locks) rolls back and places the batch
//! again, from the verdicts already judged.

use std::collections::{HashMap, HashSet};

use agritrace::store::backend::{self, Candidate, Lookup};
use agritrace::{ChainTip, RecordId, SignedRecord, StoreError, SubjectId, Timestamp};
use postgres::Transaction;

use crate::read::{col, position, record_id, subject, tip_row};
use crate::{Conn, PgStore, Statements, as_i64, backend as pg_error, retryable};

/// Times a batch is placed again after losing a race, at most.
const MAX_RETRIES: u32 = 100;

/// Judged chunks: those placed by an earlier attempt, then the rest as they are judged.
struct Chunks<'c, 'r> {
    done: Vec<Vec<Candidate<'r>>>,
    more: &'c mut dyn Iterator<Item = Vec<Candidate<'r>>>,
}

impl<'r> Chunks<'_, 'r> {
    /// Chunk `k`, judging it if no attempt has reached it yet.
    fn get(&mut self, k: usize) -> Option<&[Candidate<'r>]> {
        if k == self.done.len() {
            let next = self.more.next()?;
            self.done.push(next);
        }
        self.done.get(k).map(Vec::as_slice)
    }
}

impl PgStore {
    /// Admits `records` in one transaction, under the trust as known when it starts; if
    /// another writer changed the trust meanwhile, judges them again under the new trust.
    pub(crate) fn admit_all(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
        loop {
            let (known, trust) = self.known_trust();
            let placed = backend::judge_ahead(records, &trust, self.policy(), |judged| {
                let mut chunks = Chunks {
                    done: Vec::new(),
                    more: judged,
                };
                let mut retries = 0;
                loop {
                    match self.place_once(&mut chunks, known) {
                        Err(e) if retryable(&e) && retries < MAX_RETRIES => {
                            retries += 1;
                            std::thread::sleep(std::time::Duration::from_micros(
                                200 * u64::from(retries),
                            ));
                        }
                        other => return other,
                    }
                }
            })?;
            match placed {
                Some(first) => return Ok(first),
                None => self.reload_trust()?,
            }
        }
    }

    /// One attempt: `None` when the trust changed since the records were judged.
    fn place_once(
        &self,
        chunks: &mut Chunks<'_, '_>,
        known: usize,
    ) -> Result<Option<u64>, StoreError> {
        let mut conn = self.lock()?;
        let Conn { client, st } = &mut *conn;
        let mut tx = client.transaction().map_err(pg_error)?;
        tx.query_one(&st.share_trust, &[]).map_err(pg_error)?;
        let row = tx.query_one(&st.trust_count, &[]).map_err(pg_error)?;
        let stored: i64 = col(&row, 0)?;
        if usize::try_from(stored).ok() != Some(known) {
            return Ok(None); // the transaction rolls back as it drops
        }
        // Where the batch would start if no one else writes: used only to name a record
        // placed earlier in this batch when the same record comes again.
        let base = position(col(&row, 1)?)?;
        let mut batch = Batch::new(&mut tx, st, base);
        let mut index = 0;
        let mut k = 0;
        while let Some(chunk) = chunks.get(k) {
            batch.prefetch(chunk)?;
            for (i, c) in chunk.iter().enumerate() {
                if let Err(conflict) = backend::admit(c, &mut batch)? {
                    return Err(c.refused(index + i, conflict));
                }
                batch.place(c);
            }
            index += chunk.len();
            k += 1;
            batch.write_rows()?;
        }
        let first = batch.finish()?;
        tx.commit().map_err(pg_error)?;
        Ok(Some(first))
    }
}

/// A batch being placed: admission's view of the store (what is stored, read a chunk at a
/// time, and what this batch placed before), and the rows to write.
struct Batch<'a, 't, 'r> {
    tx: &'a mut Transaction<'t>,
    st: &'a Statements,
    /// The provisional log position of the next record (see `PgStore::place_once`).
    next: u64,
    /// The IDs placed, in order: the records' key, and numbered by the last statement.
    ids: Vec<Vec<u8>>,
    /// How many of `ids` have had their rows sent.
    sent: usize,
    /// Tips read or set in this batch, each marked when newer than its row.
    tips: HashMap<SubjectId, (Option<ChainTip>, bool)>,
    /// Records looked up (`None`: not stored) or placed in this batch.
    known: HashMap<RecordId, Option<(u64, SubjectId, Timestamp)>>,
    /// Records placed in this batch, by subject and seq.
    placed: HashMap<(SubjectId, u64), (u64, RecordId)>,
    /// New lineage children per parent subject.
    children: HashMap<SubjectId, i64>,
    rows: Rows<'r>,
    edges: Edges,
    seen: HashSet<(RecordId, RecordId)>,
}

/// The records table's columns but the ID (`Batch::ids`), one entry per record placed
/// since the rows were last sent.
#[derive(Default)]
struct Rows<'r> {
    subject: Vec<String>,
    seq: Vec<i64>,
    time: Vec<i64>,
    ends: Vec<bool>,
    body: Vec<&'r [u8]>,
    sig: Vec<&'r [u8]>,
}

/// The tips table's columns, for the rows a batch moved.
#[derive(Default)]
struct TipColumns {
    subject: Vec<String>,
    seq: Vec<i64>,
    id: Vec<Vec<u8>>,
    time: Vec<i64>,
    ends: Vec<bool>,
}

/// The lineage table's columns.
#[derive(Default)]
struct Edges {
    child_subject: Vec<String>,
    child_id: Vec<Vec<u8>>,
    parent_subject: Vec<String>,
    parent_id: Vec<Vec<u8>>,
    n: Vec<i32>,
}

impl<'a, 't, 'r> Batch<'a, 't, 'r> {
    fn new(tx: &'a mut Transaction<'t>, st: &'a Statements, first: u64) -> Self {
        Self {
            tx,
            st,
            next: first,
            ids: Vec::new(),
            sent: 0,
            tips: HashMap::new(),
            known: HashMap::new(),
            placed: HashMap::new(),
            children: HashMap::new(),
            rows: Rows::default(),
            edges: Edges::default(),
            seen: HashSet::new(),
        }
    }

    /// Locks and reads the tips `chunk` needs that this batch has not read or placed yet,
    /// and reads its lineage parents, one query each.
    fn prefetch(&mut self, chunk: &[Candidate<'_>]) -> Result<(), StoreError> {
        let mut subjects: Vec<String> = Vec::new();
        let mut parents: Vec<&[u8]> = Vec::new();
        let mut asked = HashSet::new();
        for body in chunk.iter().filter_map(Candidate::body) {
            if !self.tips.contains_key(body.subject()) && asked.insert(body.subject().clone()) {
                subjects.push(body.subject().to_string());
            }
            for l in body.event().lineage() {
                if !self.known.contains_key(&l.record) {
                    parents.push(l.record.as_bytes().as_slice());
                }
            }
        }
        if !subjects.is_empty() {
            for s in &asked {
                self.tips.insert(s.clone(), (None, false));
            }
            for row in self
                .tx
                .query(&self.st.lock_tips, &[&subjects])
                .map_err(pg_error)?
            {
                let text: &str = col(&row, 0)?;
                let tip = tip_row(&row, 1, text)?;
                self.tips.insert(subject(text, "tips")?, (Some(tip), false));
            }
        }
        if !parents.is_empty() {
            let rows = self
                .tx
                .query(&self.st.records, &[&parents])
                .map_err(pg_error)?;
            for p in &parents {
                if let Ok(id) = record_id(p) {
                    self.known.insert(id, None);
                }
            }
            for row in rows {
                let id = record_id(col(&row, 0)?)?;
                let pos = position(col(&row, 1)?)?;
                let s = subject(col(&row, 2)?, "records")?;
                let time = Timestamp::from_millis(col(&row, 3)?);
                self.known.insert(id, Some((pos, s, time)));
            }
        }
        Ok(())
    }

    /// Places an admitted record at the next log position.
    fn place(&mut self, c: &Candidate<'r>) {
        let (Some(body), Some(tip)) = (c.body(), c.next_tip()) else {
            return; // admitted records decode
        };
        let pos = self.next;
        self.next += 1;
        let id = c.id();
        let subject = body.subject();
        let text = subject.to_string();
        for (n, l) in body.event().lineage().iter().enumerate() {
            if !self.seen.insert((id, l.record)) {
                continue;
            }
            self.edges.child_subject.push(text.clone());
            self.edges.child_id.push(id.as_bytes().to_vec());
            self.edges.parent_subject.push(l.subject.to_string());
            self.edges.parent_id.push(l.record.as_bytes().to_vec());
            self.edges.n.push(i32::try_from(n).unwrap_or(i32::MAX));
            *self.children.entry(l.subject.clone()).or_insert(0) += 1;
        }
        self.ids.push(id.as_bytes().to_vec());
        let rows = &mut self.rows;
        rows.subject.push(text);
        rows.seq.push(i64::try_from(body.seq()).unwrap_or(i64::MAX));
        rows.time.push(body.time().as_millis());
        rows.ends.push(tip.ended);
        rows.body.push(c.record().body());
        rows.sig.push(c.record().signature().as_slice());
        self.known
            .insert(id, Some((pos, subject.clone(), body.time())));
        self.placed.insert((subject.clone(), body.seq()), (pos, id));
        self.tips.insert(subject.clone(), (Some(tip), true));
    }

    /// Writes the records and lineage edges placed since the last call.
    fn write_rows(&mut self) -> Result<(), StoreError> {
        let ids = self.ids.get(self.sent..).unwrap_or_default();
        if ids.is_empty() {
            return Ok(());
        }
        let r = &self.rows;
        self.tx
            .execute(
                &self.st.insert_records,
                &[&ids, &r.subject, &r.seq, &r.time, &r.ends, &r.body, &r.sig],
            )
            .map_err(pg_error)?;
        let e = &self.edges;
        if !e.child_id.is_empty() {
            self.tx
                .execute(
                    &self.st.insert_lineage,
                    &[
                        &e.child_subject,
                        &e.child_id,
                        &e.parent_subject,
                        &e.parent_id,
                        &e.n,
                    ],
                )
                .map_err(pg_error)?;
        }
        self.sent = self.ids.len();
        self.rows = Rows::default();
        self.edges = Edges::default();
        Ok(())
    }

    /// Writes the rest: the last rows, tips (before the children counts, as a parent's row
    /// may be new in this batch) and children counts; then numbers the batch under the
    /// head's lock. Returns the first record's log position.
    fn finish(&mut self) -> Result<u64, StoreError> {
        self.write_rows()?;
        if self.ids.is_empty() {
            return Ok(self.next);
        }
        let mut t = TipColumns::default();
        for (s, (tip, dirty)) in &self.tips {
            if let (Some(tip), true) = (tip, dirty) {
                t.subject.push(s.to_string());
                t.seq.push(as_i64(tip.seq)?);
                t.id.push(tip.id.as_bytes().to_vec());
                t.time.push(tip.time.as_millis());
                t.ends.push(tip.ended);
            }
        }
        self.tx
            .execute(
                &self.st.upsert_tips,
                &[&t.subject, &t.seq, &t.id, &t.time, &t.ends],
            )
            .map_err(pg_error)?;
        if !self.children.is_empty() {
            let (parents, added): (Vec<String>, Vec<i64>) = self
                .children
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .unzip();
            self.tx
                .execute(&self.st.add_children, &[&parents, &added])
                .map_err(pg_error)?;
        }
        let n = i64::try_from(self.ids.len()).unwrap_or(i64::MAX);
        let row = self
            .tx
            .query_one(&self.st.log_append, &[&self.ids, &n])
            .map_err(pg_error)?;
        position(col(&row, 0)?)
    }
}

impl Lookup for Batch<'_, '_, '_> {
    fn tip(&mut self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError> {
        if let Some((tip, _)) = self.tips.get(subject) {
            return Ok(*tip);
        }
        let text = subject.to_string();
        let tip = self
            .tx
            .query_opt(&self.st.lock_tip, &[&text])
            .map_err(pg_error)?
            .map(|row| tip_row(&row, 0, &text))
            .transpose()?;
        self.tips.insert(subject.clone(), (tip, false));
        Ok(tip)
    }

    fn at_seq(
        &mut self,
        subject: &SubjectId,
        seq: u64,
    ) -> Result<Option<(u64, RecordId)>, StoreError> {
        if let Some(placed) = self.placed.get(&(subject.clone(), seq)) {
            return Ok(Some(*placed));
        }
        self.tx
            .query_opt(&self.st.at_seq, &[&subject.to_string(), &as_i64(seq)?])
            .map_err(pg_error)?
            .map(|row| Ok((position(col(&row, 0)?)?, record_id(col(&row, 1)?)?)))
            .transpose()
    }

    fn record(&mut self, id: &RecordId) -> Result<Option<(u64, SubjectId, Timestamp)>, StoreError> {
        if let Some(known) = self.known.get(id) {
            return Ok(known.clone());
        }
        let ids = vec![id.as_bytes().as_slice()];
        let found = self
            .tx
            .query_opt(&self.st.records, &[&ids])
            .map_err(pg_error)?
            .map(|row| {
                Ok::<_, StoreError>((
                    position(col(&row, 1)?)?,
                    subject(col(&row, 2)?, "records")?,
                    Timestamp::from_millis(col(&row, 3)?),
                ))
            })
            .transpose()?;
        self.known.insert(*id, found.clone());
        Ok(found)
    }
}
