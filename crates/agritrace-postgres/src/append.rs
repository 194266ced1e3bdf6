//! The write path. A batch is judged a chunk ahead of this thread (the core crate's
//! [`backend::judge_ahead`]); this thread locks the log head, admits each judged chunk
//! against what is stored (read a chunk at a time: one query for the tips, one for the
//! lineage parents), and writes the whole batch at the end in five statements, whatever its
//! size: records, lineage edges, tips, children counts, and the head. Round trips per
//! batch are then about twice the chunks, not several per record.

use std::collections::{HashMap, HashSet};

use agritrace::store::backend::{self, Candidate, Lookup};
use agritrace::{ChainTip, RecordId, SignedRecord, StoreError, SubjectId, Timestamp};
use postgres::Transaction;

use crate::read::{col, position, record_id, subject, tip_of, tip_row};
use crate::{Conn, PgStore, Statements, as_i64, backend as pg_error};

impl PgStore {
    /// Admits `records` in one transaction, under the trust as known when it starts; if
    /// another writer changed the trust meanwhile, judges them again under the new trust.
    pub(crate) fn admit_all(&self, records: &[SignedRecord]) -> Result<u64, StoreError> {
        loop {
            let (known, trust) = self.known_trust();
            let placed = backend::judge_ahead(records, &trust, self.policy(), |judged| {
                let mut conn = self.lock();
                let Conn { client, st } = &mut *conn;
                let mut tx = client.transaction().map_err(pg_error)?;
                let head = tx.query_one(&st.lock_head, &[]).map_err(pg_error)?;
                let first = position(col(&head, 0)?)?;
                let stored: i64 = col(&tx.query_one(&st.trust_count, &[]).map_err(pg_error)?, 0)?;
                if usize::try_from(stored).ok() != Some(known) {
                    return Ok(None); // the transaction rolls back as it drops
                }
                let mut batch = Batch::new(&mut tx, st, first);
                let mut index = 0;
                for chunk in judged {
                    batch.prefetch(&chunk)?;
                    for (i, c) in chunk.iter().enumerate() {
                        if let Err(conflict) = backend::admit(c, &mut batch)? {
                            return Err(c.refused(index + i, conflict));
                        }
                        batch.place(c);
                    }
                    index += chunk.len();
                }
                batch.flush()?;
                tx.commit().map_err(pg_error)?;
                Ok(Some(first))
            })?;
            match placed {
                Some(first) => return Ok(first),
                None => self.reload_trust()?,
            }
        }
    }
}

/// A batch being placed: admission's view of the store (what is stored, read a chunk at a
/// time, and what this batch placed before), and the rows to write.
struct Batch<'a, 't, 'r> {
    tx: &'a mut Transaction<'t>,
    st: &'a Statements,
    /// The next log position.
    next: u64,
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

/// The records table's columns, one entry per placed record.
#[derive(Default)]
struct Rows<'r> {
    pos: Vec<i64>,
    id: Vec<Vec<u8>>,
    subject: Vec<String>,
    seq: Vec<i64>,
    time: Vec<i64>,
    ends: Vec<bool>,
    body: Vec<&'r [u8]>,
    sig: Vec<&'r [u8]>,
}

/// The lineage table's columns.
#[derive(Default)]
struct Edges {
    child_subject: Vec<String>,
    child_id: Vec<Vec<u8>>,
    parent_subject: Vec<String>,
    parent_id: Vec<Vec<u8>>,
    child_pos: Vec<i64>,
    n: Vec<i32>,
}

impl<'a, 't, 'r> Batch<'a, 't, 'r> {
    fn new(tx: &'a mut Transaction<'t>, st: &'a Statements, first: u64) -> Self {
        Self {
            tx,
            st,
            next: first,
            tips: HashMap::new(),
            known: HashMap::new(),
            placed: HashMap::new(),
            children: HashMap::new(),
            rows: Rows::default(),
            edges: Edges::default(),
            seen: HashSet::new(),
        }
    }

    /// Reads, in one query each, the tips and lineage parents `chunk` needs that this batch
    /// has not read or placed yet.
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
                .query(&self.st.tips, &[&subjects])
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
        let pos_i64 = i64::try_from(pos).unwrap_or(i64::MAX);
        for (n, l) in body.event().lineage().iter().enumerate() {
            if !self.seen.insert((id, l.record)) {
                continue;
            }
            self.edges.child_subject.push(text.clone());
            self.edges.child_id.push(id.as_bytes().to_vec());
            self.edges.parent_subject.push(l.subject.to_string());
            self.edges.parent_id.push(l.record.as_bytes().to_vec());
            self.edges.child_pos.push(pos_i64);
            self.edges.n.push(i32::try_from(n).unwrap_or(i32::MAX));
            *self.children.entry(l.subject.clone()).or_insert(0) += 1;
        }
        let rows = &mut self.rows;
        rows.pos.push(pos_i64);
        rows.id.push(id.as_bytes().to_vec());
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

    /// Writes the placed rows: records, lineage, tips (before the children counts, as a
    /// parent's row may be new in this batch), children counts, and the head.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.rows.pos.is_empty() {
            return Ok(());
        }
        let r = &self.rows;
        self.tx
            .execute(
                &self.st.insert_records,
                &[
                    &r.pos, &r.id, &r.subject, &r.seq, &r.time, &r.ends, &r.body, &r.sig,
                ],
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
                        &e.child_pos,
                        &e.n,
                    ],
                )
                .map_err(pg_error)?;
        }
        let mut t: (Vec<String>, Vec<i64>, Vec<Vec<u8>>, Vec<i64>, Vec<bool>) = Default::default();
        for (s, (tip, dirty)) in &self.tips {
            if let (Some(tip), true) = (tip, dirty) {
                t.0.push(s.to_string());
                t.1.push(as_i64(tip.seq)?);
                t.2.push(tip.id.as_bytes().to_vec());
                t.3.push(tip.time.as_millis());
                t.4.push(tip.ended);
            }
        }
        self.tx
            .execute(&self.st.upsert_tips, &[&t.0, &t.1, &t.2, &t.3, &t.4])
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
        self.tx
            .execute(&self.st.set_head, &[&as_i64(self.next)?])
            .map_err(pg_error)?;
        Ok(())
    }
}

impl Lookup for Batch<'_, '_, '_> {
    fn tip(&mut self, subject: &SubjectId) -> Result<Option<ChainTip>, StoreError> {
        if let Some((tip, _)) = self.tips.get(subject) {
            return Ok(*tip);
        }
        let tip = tip_of(self.tx, self.st, subject)?;
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
