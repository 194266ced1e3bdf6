//! Tracing one ID through a store: gather its chain with everything it came from and
//! everything made from it, verify them together, and summarise them for a person.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use thiserror::Error;

use crate::error::{Reason, VerifyErrors};
use crate::event::{Event, Sex};
use crate::id::SubjectId;
use crate::record::{RecordBody, RecordId, SignedRecord};
use crate::store::{Store, StoreError};
use crate::time::Day;
use crate::trust::{Policy, TrustStore};
use crate::verify::{LedgerVerifier, VerifiedChain, VerifiedSet};

/// Daily steps at or above this count are a "15,000-step day".
pub const STEP_GOAL: u32 = 15_000;

/// Most subjects one trace gathers (ancestors and descendants together).
pub const MAX_TRACE_SUBJECTS: usize = 10_000;

/// Why a trace failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The store has no records for the ID.
    #[error("no records for {0}")]
    NotFound(SubjectId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The records did not verify: the store was tampered with or holds bad records. Each
    /// failure names the record as the store knows it (subject, seq, log position).
    #[error("verification failed: {} chain(s) rejected; first: {}", .0.len(), first_failure(.0))]
    Verify(Vec<TraceFailure>),
    /// What the store returned disagrees with its own bookkeeping (a damaged index, or rows
    /// removed behind its back): the history cannot be shown as verified.
    #[error("the store is damaged around {subject}: {what}")]
    Damaged {
        /// The subject whose records or lineage disagree.
        subject: SubjectId,
        /// What disagrees.
        what: String,
    },
    /// The lineage around the ID is larger than [`MAX_TRACE_SUBJECTS`].
    #[error("lineage of {0} spans more than {MAX_TRACE_SUBJECTS} subjects")]
    TooLarge(SubjectId),
}

/// A record of a trace that failed verification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceFailure {
    /// The record's subject, when its body decoded.
    pub subject: Option<SubjectId>,
    /// Its seq in its chain, when its body decoded.
    pub seq: Option<u64>,
    /// Its log position in the store.
    pub position: Option<u64>,
    /// Its ID (the hash of its body bytes).
    pub record: Option<RecordId>,
    /// Why it was rejected.
    pub reason: Reason,
}

impl std::fmt::Display for TraceFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.seq, &self.subject) {
            (Some(seq), Some(s)) => write!(f, "seq {seq} of {s}")?,
            (None, Some(s)) => write!(f, "a record of {s}")?,
            _ => f.write_str("a record")?,
        }
        let mut sep = " (";
        if let Some(p) = self.position {
            write!(f, "{sep}log position {p}")?;
            sep = ", ";
        }
        if let Some(r) = &self.record {
            write!(f, "{sep}id {}", r.short())?;
            sep = ", ";
        }
        if sep == ", " {
            f.write_str(")")?;
        }
        write!(f, ": {}", self.reason)
    }
}

fn first_failure(failures: &[TraceFailure]) -> String {
    failures
        .first()
        .map_or_else(String::new, ToString::to_string)
}

/// Everything a person reads about one ID, built from verified records only.
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    /// The ID traced, in text form.
    pub id: String,
    /// What the ID's digits mean.
    pub meaning: Vec<(String, String)>,
    /// The animal: the one traced, or the one a product came from.
    pub animal: Option<AnimalSummary>,
    /// For a product or lot: what it is and where it came from, newest first (each
    /// subject once, following the first parent of each).
    pub product_path: Vec<ProductSummary>,
    /// What was made from the animal (trace forward), in tree order with
    /// [`ProductSummary::depth`]: every descendant once, however many paths lead to it (a
    /// blend of several lots) and even when lineage loops back between subjects.
    pub products: Vec<ProductSummary>,
    /// The verification verdict.
    pub verification: VerificationSummary,
}

/// An animal's life, from its verified chain.
#[derive(Clone, Debug, Serialize)]
pub struct AnimalSummary {
    /// Ear tag or ISO code.
    pub id: String,
    /// Breed.
    pub breed: String,
    /// Sex.
    pub sex: String,
    /// Date of birth.
    pub birth_date: String,
    /// Age in days at its last record (at slaughter, for a slaughtered animal).
    pub age_days: i64,
    /// Date of its last record.
    pub last_record: String,
    /// Farm of birth.
    pub origin: String,
    /// Weighings: (date, grams).
    pub weights: Vec<(String, u32)>,
    /// Daily steps.
    pub steps: StepSummary,
    /// Total feed recorded, in grams, and the feed kinds.
    pub feed_grams: u64,
    /// Feed kinds, in order of first use.
    pub feed_kinds: Vec<String>,
    /// Feed per calendar month (`YYYY-MM`, grams), in order.
    pub feed_by_month: Vec<(String, u64)>,
    /// Vaccinations and medications.
    pub treatments: Vec<TreatmentSummary>,
    /// Inspections and quarantine: (date, description).
    pub inspections: Vec<(String, String)>,
    /// Moves: (date, from, to).
    pub moves: Vec<(String, String, String)>,
    /// Custody transfers: (date, to party).
    pub custodians: Vec<(String, String)>,
    /// Slaughter: (date, carcass grams).
    pub slaughter: Option<(String, u32)>,
}

/// Daily step counts over an animal's life.
#[derive(Clone, Debug, Serialize)]
pub struct StepSummary {
    /// Days with a count.
    pub days_recorded: u32,
    /// Mean steps per recorded day.
    pub average: u32,
    /// Recorded days at or above [`STEP_GOAL`].
    pub days_at_goal: u32,
    /// Days between the first and last count with no count.
    pub missing_days: u32,
    /// (date, steps) for every recorded day.
    pub series: Vec<(String, u32)>,
}

/// One treatment and its withdrawal period.
#[derive(Clone, Debug, Serialize)]
pub struct TreatmentSummary {
    /// Date given.
    pub date: String,
    /// Vaccination or medication.
    pub kind: String,
    /// Product.
    pub product: String,
    /// Withdrawal period in days.
    pub withdrawal_days: u16,
    /// Last day of the withdrawal period.
    pub withdrawal_ends: String,
    /// For a slaughtered animal: whether slaughter came after the withdrawal period.
    pub respected: Option<bool>,
}

/// A product or lot: what it is, what it came from, its custody and sale.
#[derive(Clone, Debug, Serialize)]
pub struct ProductSummary {
    /// Lot ID.
    pub id: String,
    /// Product description (transformation) or crop (harvest).
    pub product: String,
    /// Net grams.
    pub grams: u64,
    /// Date made or harvested.
    pub date: String,
    /// Parent IDs.
    pub made_from: Vec<String>,
    /// Custody transfers: (date, party).
    pub custodians: Vec<(String, String)>,
    /// Sale: (date, buyer, price in yuan).
    pub sale: Option<(String, String, String)>,
    /// In [`Trace::products`]: 1 for a product made from the animal, 2 for one made from
    /// such a product, and so on (the list is in tree order, each product once, under the
    /// first of its parents). In [`Trace::product_path`]: 0.
    pub depth: u32,
}

/// How the trace was verified.
#[derive(Clone, Debug, Serialize)]
pub struct VerificationSummary {
    /// Always "verified": a trace exists only for records that verified.
    pub verdict: String,
    /// Records verified.
    pub records: usize,
    /// Chains verified.
    pub chains: usize,
    /// Signers: (party, role, records signed).
    pub signers: Vec<(String, String, usize)>,
    /// Time to read and verify, in milliseconds.
    pub millis: f64,
    /// What the verdict covers: the chains shown, and that descendants are only those the
    /// holder of the records chose to list (see the crate's security model).
    pub coverage: String,
}

/// Traces `id` in `store`: gathers its chain, its ancestors and descendants through lineage
/// edges, verifies them as one set, and summarises them.
///
/// # Errors
/// [`TraceError::NotFound`] when the store has no records for `id`;
/// [`TraceError::Verify`] naming every bad record when the records do not verify;
/// [`TraceError::Damaged`] when what the store returned disagrees with its bookkeeping;
/// [`TraceError::Store`] or [`TraceError::TooLarge`].
pub fn trace<S: Store>(
    store: &S,
    trust: &TrustStore,
    policy: &Policy,
    id: &SubjectId,
) -> Result<Trace, TraceError> {
    let started = crate::par::Stopwatch::start();
    let subjects = lineage_closure(store, id)?;
    let mut records = Vec::new();
    for s in &subjects {
        let chain = store.chain(s)?;
        check_against_bookkeeping(store, s, &chain)?;
        records.extend(chain);
    }
    if !subjects.contains(id) || records.is_empty() {
        return Err(TraceError::NotFound(id.clone()));
    }
    let set = LedgerVerifier::new(trust, policy)
        .verify_set(&records)
        .map_err(|e| TraceError::Verify(name_failures(store, &records, e)))?;
    let millis = started.millis();
    Ok(summarise(&set, trust, id, millis))
}

/// Most failures a trace names with their log position (one store lookup each).
const MAX_NAMED_FAILURES: usize = 100;

/// The verifier's errors, with each record named by subject, seq and log position instead
/// of its index in the trace's own list.
fn name_failures<S: Store>(
    store: &S,
    records: &[SignedRecord],
    errors: VerifyErrors,
) -> Vec<TraceFailure> {
    errors
        .errors
        .into_iter()
        .enumerate()
        .map(|(n, e)| {
            let record = records.get(e.index);
            let seq = record
                .and_then(|r| RecordBody::decode(r.body()).ok())
                .map(|b| b.seq());
            let position = match (&e.record, n < MAX_NAMED_FAILURES) {
                (Some(id), true) => store.get(id).ok().flatten().map(|(p, _)| p),
                _ => None,
            };
            TraceFailure {
                subject: e.subject,
                seq,
                position,
                record: e.record,
                reason: e.reason,
            }
        })
        .collect()
}

/// A chain as read must end at the tip the store's bookkeeping holds, and the lineage index
/// must list as many edges as the bookkeeping counted: otherwise records or edges were
/// lost or hidden (a damaged index, rows deleted behind the store's back).
fn check_against_bookkeeping<S: Store>(
    store: &S,
    subject: &SubjectId,
    chain: &[SignedRecord],
) -> Result<(), TraceError> {
    let damaged = |what: String| TraceError::Damaged {
        subject: subject.clone(),
        what,
    };
    let tip = store.tip(subject)?;
    match (tip, chain.last()) {
        (None, None) => {}
        (Some(t), Some(last)) if t.id == last.id() && chain.len() as u64 == t.seq + 1 => {}
        (Some(t), _) => {
            return Err(damaged(format!(
                "the store's tip is seq {} ({}), but reading the chain gave {} record(s)",
                t.seq,
                t.id.short(),
                chain.len()
            )));
        }
        (None, Some(_)) => return Err(damaged("the chain has records but no tip".to_owned())),
    }
    let listed = store.children(subject)?.len() as u64;
    let counted = store.children_count(subject)?;
    if listed != counted {
        return Err(damaged(format!(
            "the lineage index lists {listed} edge(s) from it, the bookkeeping counts {counted}"
        )));
    }
    Ok(())
}

/// The subjects a trace of `id` reads: `id`, everything it came from (ancestors, up
/// through lineage parents) and everything made from it (descendants), each once, whatever
/// the shape of the lineage. At most [`MAX_TRACE_SUBJECTS`].
///
/// # Errors
/// [`TraceError::NotFound`] when `id` has no records; [`TraceError::TooLarge`];
/// [`TraceError::Store`].
pub fn lineage_closure<S: Store>(
    store: &S,
    id: &SubjectId,
) -> Result<BTreeSet<SubjectId>, TraceError> {
    let mut seen = BTreeSet::new();
    if store.tip(id)?.is_none() {
        return Err(TraceError::NotFound(id.clone()));
    }
    let mut up = vec![id.clone()];
    let mut down = vec![id.clone()];
    seen.insert(id.clone());
    while let Some(s) = up.pop() {
        for e in store.parents(&s)? {
            if seen.insert(e.parent.clone()) {
                up.push(e.parent.clone());
                down.push(e.parent);
            }
        }
        if seen.len() > MAX_TRACE_SUBJECTS {
            return Err(TraceError::TooLarge(id.clone()));
        }
    }
    while let Some(s) = down.pop() {
        for e in store.children(&s)? {
            if seen.insert(e.child.clone()) {
                down.push(e.child);
            }
        }
        if seen.len() > MAX_TRACE_SUBJECTS {
            return Err(TraceError::TooLarge(id.clone()));
        }
    }
    Ok(seen)
}

pub(crate) fn summarise(
    set: &VerifiedSet,
    trust: &TrustStore,
    id: &SubjectId,
    millis: f64,
) -> Trace {
    let graph = Lineage::of(set);
    // Walk back from the traced ID to the animal through first parents, each subject once.
    let mut product_path = Vec::new();
    let mut at = id.clone();
    let mut visited = BTreeSet::new();
    while let Some(chain) = set.chain(&at) {
        if is_animal(&at) || !visited.insert(at.clone()) {
            break;
        }
        product_path.push(product(chain, 0));
        match graph.parents.get(&at).and_then(|p| p.first()) {
            Some(p) => at = (*p).clone(),
            None => break,
        }
    }
    let animal_chain = set.chain(&at).filter(|_| is_animal(&at));
    let products = animal_chain
        .map(|c| graph.descendants(set, c.subject()))
        .unwrap_or_default();
    let mut by_signer: BTreeMap<(String, String), usize> = BTreeMap::new();
    for c in set.chains() {
        for r in c.records() {
            let (party, role) = trust.grant(r.body().signer()).map_or_else(
                || (r.body().signer().key_id().to_string(), "?".to_owned()),
                |g| (g.party.to_string(), g.role.to_string()),
            );
            *by_signer.entry((party, role)).or_default() += 1;
        }
    }
    let coverage = format!(
        "each chain from its first record to the tip the store holds; {} product(s) made from the animal, {} on the way back to it; products are those the holder of the records lists, and a holder can withhold some",
        products.len(),
        product_path.len()
    );
    Trace {
        id: id.to_string(),
        meaning: meaning(id),
        animal: animal_chain.map(animal),
        product_path,
        products,
        verification: VerificationSummary {
            verdict: "verified".to_owned(),
            records: set.record_count(),
            chains: set.len(),
            signers: by_signer.into_iter().map(|((p, r), n)| (p, r, n)).collect(),
            millis,
            coverage,
        },
    }
}

fn is_animal(s: &SubjectId) -> bool {
    s.species().is_some() || matches!(s, SubjectId::Iso11784(_))
}

/// The lineage graph between the subjects of a verified set, built once in
/// O(records + references): each subject's parent and child subjects, in record order,
/// each once.
struct Lineage<'s> {
    parents: BTreeMap<&'s SubjectId, Vec<&'s SubjectId>>,
    children: BTreeMap<&'s SubjectId, Vec<&'s SubjectId>>,
}

impl<'s> Lineage<'s> {
    fn of(set: &'s VerifiedSet) -> Self {
        let mut parents: BTreeMap<&SubjectId, Vec<&SubjectId>> = BTreeMap::new();
        let mut children: BTreeMap<&SubjectId, Vec<&SubjectId>> = BTreeMap::new();
        let mut edges: BTreeSet<(&SubjectId, &SubjectId)> = BTreeSet::new();
        for c in set.chains() {
            for r in c.records() {
                for l in r.body().event().lineage() {
                    if edges.insert((&l.subject, c.subject())) {
                        parents.entry(c.subject()).or_default().push(&l.subject);
                        children.entry(&l.subject).or_default().push(c.subject());
                    }
                }
            }
        }
        Self { parents, children }
    }

    /// Everything made from `root`, depth first in record order, each subject once (so a
    /// cycle between subjects or a diamond of blends costs one visit per subject and edge).
    fn descendants(&self, set: &VerifiedSet, root: &SubjectId) -> Vec<ProductSummary> {
        let mut out = Vec::new();
        let mut visited: BTreeSet<&SubjectId> = BTreeSet::new();
        visited.insert(root);
        let mut stack: Vec<(&SubjectId, u32)> = self.children_of(root).map(|c| (c, 1)).collect();
        stack.reverse();
        while let Some((s, depth)) = stack.pop() {
            if !visited.insert(s) {
                continue;
            }
            if let Some(chain) = set.chain(s) {
                out.push(product(chain, depth));
            }
            let before = stack.len();
            stack.extend(
                self.children_of(s)
                    .filter(|c| !visited.contains(c))
                    .map(|c| (c, depth.saturating_add(1))),
            );
            stack[before..].reverse();
        }
        out
    }

    fn children_of(&self, s: &SubjectId) -> impl Iterator<Item = &'s SubjectId> + '_ {
        self.children.get(s).into_iter().flatten().copied()
    }
}

/// What each part of an ID means.
fn meaning(id: &SubjectId) -> Vec<(String, String)> {
    let kv = |k: &str, v: String| (k.to_owned(), v);
    match id {
        SubjectId::EarTag(t) => vec![
            kv("scheme", "China livestock ear tag (15 digits)".to_owned()),
            kv(
                "species",
                format!("{} ({})", t.species().code(), t.species()),
            ),
            kv(
                "county",
                format!("{:06}{}", t.county(), county_name(t.county())),
            ),
            kv("serial", format!("{:08}", t.serial())),
        ],
        SubjectId::Iso11784(c) => vec![
            kv("scheme", "ISO 11784 animal code".to_owned()),
            kv(
                if c.is_manufacturer_code() {
                    "manufacturer"
                } else {
                    "country"
                },
                format!(
                    "{:03}{}",
                    c.country(),
                    if c.country() == 156 { " (China)" } else { "" }
                ),
            ),
            kv("national ID", format!("{:012}", c.national_id())),
        ],
        SubjectId::Lot(l) => vec![
            kv("scheme", "GS1 GTIN-14 + lot (AI 01 + AI 10)".to_owned()),
            kv("GTIN", format!("{:014}", l.gtin())),
            kv("lot", l.lot().to_owned()),
        ],
    }
}

fn county_name(code: u32) -> &'static str {
    match code {
        610_830 => " (Qingjian county, Yulin, Shaanxi)",
        _ => "",
    }
}

fn day(d: Day) -> String {
    d.to_string()
}

#[allow(
    clippy::too_many_lines,
    reason = "one arm per event kind; splitting it scatters the summary"
)]
fn animal(chain: &VerifiedChain) -> AnimalSummary {
    let mut a = AnimalSummary {
        id: chain.subject().to_string(),
        breed: String::new(),
        sex: String::new(),
        birth_date: String::new(),
        age_days: 0,
        last_record: String::new(),
        origin: String::new(),
        weights: Vec::new(),
        steps: StepSummary {
            days_recorded: 0,
            average: 0,
            days_at_goal: 0,
            missing_days: 0,
            series: Vec::new(),
        },
        feed_grams: 0,
        feed_kinds: Vec::new(),
        feed_by_month: Vec::new(),
        treatments: Vec::new(),
        inspections: Vec::new(),
        moves: Vec::new(),
        custodians: Vec::new(),
        slaughter: None,
    };
    let mut birth = None;
    let mut slaughter_day = None;
    let mut steps: Vec<(Day, u32)> = Vec::new();
    let mut treatments = Vec::new();
    for r in chain.records() {
        let d = r.body().time().day();
        match r.body().event() {
            Event::Registration(reg) => {
                a.breed = reg.breed.to_string();
                let sex = match reg.sex {
                    Sex::Female => "female",
                    Sex::Male => "male",
                    _ => "castrated male",
                };
                sex.clone_into(&mut a.sex);
                a.birth_date = day(reg.birth_date);
                a.origin = reg.origin_site.to_string();
                birth = Some(reg.birth_date);
            }
            Event::Weighing { grams } => a.weights.push((day(d), *grams)),
            Event::DailyActivity {
                day: sd, steps: n, ..
            } => steps.push((*sd, *n)),
            Event::Feeding { feed, grams } => {
                a.feed_grams += u64::from(*grams);
                let month = day(d).get(..7).unwrap_or_default().to_owned();
                match a.feed_by_month.last_mut() {
                    Some((m, g)) if *m == month => *g += u64::from(*grams),
                    _ => a.feed_by_month.push((month, u64::from(*grams))),
                }
                if !a.feed_kinds.iter().any(|k| k == feed.as_str()) {
                    a.feed_kinds.push(feed.to_string());
                }
            }
            Event::Treatment {
                kind,
                product,
                withdrawal_days,
            } => treatments.push((
                d,
                format!("{kind:?}").to_lowercase(),
                product.to_string(),
                *withdrawal_days,
            )),
            Event::Inspection {
                kind,
                result,
                certificate,
            } => {
                let what = format!("{kind:?}: {result:?}").to_lowercase();
                let cert = certificate
                    .as_ref()
                    .map_or_else(String::new, |c| format!(", certificate {c}"));
                a.inspections.push((day(d), format!("{what}{cert}")));
            }
            Event::Move { from_site, to_site } => {
                a.moves
                    .push((day(d), from_site.to_string(), to_site.to_string()));
            }
            Event::CustodyTransfer { to_party } => {
                a.custodians.push((day(d), to_party.to_string()));
            }
            Event::Slaughter { carcass_grams } => {
                a.slaughter = Some((day(d), *carcass_grams));
                slaughter_day = Some(d);
            }
            _ => {}
        }
    }
    if let Some(last) = chain.records().last() {
        let last_day = last.body().time().day();
        a.last_record = day(last_day);
        a.age_days = birth.map_or(0, |b| b.days_until(slaughter_day.unwrap_or(last_day)));
    }
    a.treatments = treatments
        .into_iter()
        .map(|(d, kind, product, w)| {
            let ends =
                Day::from_days_since_epoch(d.days_since_epoch().saturating_add(i32::from(w)));
            TreatmentSummary {
                date: day(d),
                kind,
                product,
                withdrawal_days: w,
                withdrawal_ends: day(ends),
                respected: slaughter_day.map(|s| s > ends),
            }
        })
        .collect();
    a.steps = step_summary(&steps);
    a
}

fn step_summary(steps: &[(Day, u32)]) -> StepSummary {
    let days_recorded = u32::try_from(steps.len()).unwrap_or(u32::MAX);
    let total: u64 = steps.iter().map(|(_, n)| u64::from(*n)).sum();
    let span = match (steps.first(), steps.last()) {
        (Some((a, _)), Some((b, _))) => a.days_until(*b) + 1,
        _ => 0,
    };
    StepSummary {
        days_recorded,
        average: u32::try_from(total.checked_div(u64::from(days_recorded)).unwrap_or(0))
            .unwrap_or(u32::MAX),
        days_at_goal: u32::try_from(steps.iter().filter(|(_, n)| *n >= STEP_GOAL).count())
            .unwrap_or(u32::MAX),
        missing_days: u32::try_from((span - i64::from(days_recorded)).max(0)).unwrap_or(u32::MAX),
        series: steps.iter().map(|(d, n)| (day(*d), *n)).collect(),
    }
}

/// A product chain's summary; with `deep`, the products made from it too.
fn product(chain: &VerifiedChain, depth: u32) -> ProductSummary {
    let mut p = ProductSummary {
        id: chain.subject().to_string(),
        product: String::new(),
        grams: 0,
        date: String::new(),
        made_from: Vec::new(),
        custodians: Vec::new(),
        sale: None,
        depth,
    };
    for r in chain.records() {
        let d = day(r.body().time().day());
        match r.body().event() {
            Event::Transformation {
                parents,
                product,
                grams,
            } => {
                p.product = product.to_string();
                p.grams = *grams;
                p.date = d;
                p.made_from = parents.iter().map(|l| l.subject.to_string()).collect();
            }
            Event::Harvest { crop, site, grams } => {
                p.product = format!("{crop}, {site}");
                p.grams = *grams;
                p.date = d;
            }
            Event::CustodyTransfer { to_party } => p.custodians.push((d, to_party.to_string())),
            Event::Sale { buyer, price_fen } => {
                p.sale = Some((
                    d,
                    buyer.to_string(),
                    format!("{}.{:02}", price_fen / 100, price_fen % 100),
                ));
            }
            _ => {}
        }
    }
    p
}

/// The report as plain text, one fact per line: the ID and what its digits mean, the
/// product path back to the animal, the animal's life, what was made from it, and the
/// verdict with who signed and what it covers.
impl std::fmt::Display for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "ID {}", self.id)?;
        for (k, v) in &self.meaning {
            writeln!(f, "  {k:<12} {v}")?;
        }
        for p in &self.product_path {
            writeln!(
                f,
                "\nPRODUCT {}: {}, {} g, made {} from {}",
                p.id,
                p.product,
                p.grams,
                p.date,
                p.made_from.join(", ")
            )?;
            for (d, who) in &p.custodians {
                writeln!(f, "  custody    {d} → {who}")?;
            }
            if let Some((d, buyer, price)) = &p.sale {
                writeln!(f, "  sold       {d} to {buyer} for ¥{price}")?;
            }
        }
        if let Some(a) = &self.animal {
            if !self.product_path.is_empty() {
                writeln!(f, "\nTRACED BACK TO THE ANIMAL {}", a.id)?;
            }
            write_animal(f, a)?;
        }
        if !self.products.is_empty() {
            writeln!(f, "\nMADE FROM IT (trace forward)")?;
            for p in &self.products {
                if p.depth <= 1 {
                    writeln!(f, "  {} {}, {}, {}", p.id, p.product, kg(p.grams), p.date)?;
                } else {
                    let sold = p.sale.as_ref().map_or_else(
                        || "not sold yet".to_owned(),
                        |(d, _, price)| format!("sold {d} for ¥{price}"),
                    );
                    let indent = "  ".repeat(usize::try_from(p.depth).unwrap_or(1));
                    writeln!(f, "{indent}└ {} {}, {sold}", p.id, p.product)?;
                }
            }
        }
        let v = &self.verification;
        writeln!(
            f,
            "\nVERIFICATION: {} — {} records in {} chains, {:.1} ms",
            v.verdict.to_uppercase(),
            v.records,
            v.chains,
            v.millis
        )?;
        for (party, role, n) in &v.signers {
            writeln!(f, "  {n:>5} signed by {party} ({role})")?;
        }
        writeln!(f, "  covers: {}", v.coverage)
    }
}

/// Grams as kilograms to one decimal: `95.0 kg`.
fn kg(grams: impl Into<u64>) -> String {
    let tenths = grams.into().saturating_add(50) / 100;
    format!("{}.{} kg", tenths / 10, tenths % 10)
}

/// A count as reports print it: `15000` as `15,000`.
///
/// # Example
/// ```
/// assert_eq!(agritrace::thousands(10_094_843), "10,094,843");
/// assert_eq!(agritrace::thousands(999), "999");
/// ```
#[must_use]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn write_animal(f: &mut std::fmt::Formatter<'_>, a: &AnimalSummary) -> std::fmt::Result {
    writeln!(f, "\nANIMAL {}", a.id)?;
    writeln!(f, "  breed      {}", a.breed)?;
    writeln!(f, "  sex        {}", a.sex)?;
    writeln!(f, "  born       {} at {}", a.birth_date, a.origin)?;
    writeln!(f, "  age        {} days (at {})", a.age_days, a.last_record)?;
    if let (Some(first), Some(last)) = (a.weights.first(), a.weights.last()) {
        writeln!(
            f,
            "  weight     {} on {} → {} on {} ({} weighings)",
            kg(first.1),
            first.0,
            kg(last.1),
            last.0,
            a.weights.len()
        )?;
        let step = (a.weights.len() / 8).max(1);
        let line: Vec<String> = a
            .weights
            .iter()
            .step_by(step)
            .map(|(d, g)| format!("{d} {}", kg(*g)))
            .collect();
        writeln!(f, "             {}", line.join(" · "))?;
    }
    let s = &a.steps;
    writeln!(
        f,
        "  steps      {} a day on average; {} of {} recorded days at or above {}; {} days missing",
        s.average,
        s.days_at_goal,
        s.days_recorded,
        thousands(u64::from(STEP_GOAL)),
        s.missing_days
    )?;
    writeln!(
        f,
        "  feed       {} in all: {}",
        kg(a.feed_grams),
        a.feed_kinds.join(", ")
    )?;
    for tr in &a.treatments {
        let respected = match tr.respected {
            Some(true) => ", respected before slaughter",
            Some(false) => ", NOT respected before slaughter",
            None => "",
        };
        writeln!(
            f,
            "  treatment  {} {}: {} (withdrawal {} days, until {}{respected})",
            tr.date, tr.kind, tr.product, tr.withdrawal_days, tr.withdrawal_ends
        )?;
    }
    for (d, what) in &a.inspections {
        writeln!(f, "  inspection {d} {what}")?;
    }
    for (d, from, to) in &a.moves {
        writeln!(f, "  move       {d} {from} → {to}")?;
    }
    for (d, who) in &a.custodians {
        writeln!(f, "  custody    {d} → {who}")?;
    }
    if let Some((d, g)) = &a.slaughter {
        writeln!(f, "  slaughter  {d}, carcass {}", kg(*g))?;
    }
    Ok(())
}

impl Trace {
    /// An SVG chart of the animal's weight (line, kg) and daily steps (bars) over its life;
    /// `None` when the trace has no animal.
    #[must_use]
    pub fn svg(&self) -> Option<String> {
        let a = self.animal.as_ref()?;
        let birth = parse_day(&a.birth_date)?;
        let end = parse_day(&a.last_record)?;
        let span = f64::from(u32::try_from(birth.days_until(end).max(1)).unwrap_or(1));
        let (width, height, left, right, top, bottom) = (900.0, 420.0, 70.0, 70.0, 40.0, 50.0);
        let x = |d: Day| {
            left + (width - left - right)
                * f64::from(u32::try_from(birth.days_until(d).max(0)).unwrap_or(0))
                / span
        };
        let max_kg = a
            .weights
            .iter()
            .map(|(_, g)| f64::from(*g) / 1000.0)
            .fold(10.0_f64, f64::max)
            * 1.1;
        let max_steps = a
            .steps
            .series
            .iter()
            .map(|(_, n)| f64::from(*n))
            .fold(20_000.0_f64, f64::max)
            * 1.05;
        let plot_h = height - top - bottom;
        let mut s = String::new();
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n<text x=\"{left}\" y=\"24\" font-size=\"15\">{} — {}, born {}: weight (kg, line) and daily steps (bars)</text>\n",
            xml(&a.id),
            xml(&a.breed),
            xml(&a.birth_date)
        );
        for (d, n) in &a.steps.series {
            if let Some(day) = parse_day(d) {
                let bh = plot_h * f64::from(*n) / max_steps;
                let colour = if *n >= STEP_GOAL {
                    "#4c9a6a"
                } else {
                    "#a7c7b4"
                };
                let _ = writeln!(
                    s,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"2\" height=\"{bh:.1}\" fill=\"{colour}\"/>",
                    x(day),
                    top + plot_h - bh
                );
            }
        }
        let goal_y = top + plot_h - plot_h * f64::from(STEP_GOAL) / max_steps;
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{goal_y:.1}\" y2=\"{goal_y:.1}\" stroke=\"#4c9a6a\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#4c9a6a\">15,000 steps</text>",
            width - right,
            width - right + 4.0,
            goal_y + 4.0
        );
        let points: Vec<String> = a
            .weights
            .iter()
            .filter_map(|(d, g)| {
                parse_day(d).map(|day| {
                    format!(
                        "{:.1},{:.1}",
                        x(day),
                        top + plot_h - plot_h * (f64::from(*g) / 1000.0) / max_kg
                    )
                })
            })
            .collect();
        let _ = writeln!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#b3472d\" stroke-width=\"2.5\"/>",
            points.join(" ")
        );
        for k in 0..=4 {
            let frac = f64::from(k) / 4.0;
            let y = top + plot_h - plot_h * frac;
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{y:.1}\" text-anchor=\"end\" fill=\"#b3472d\">{:.0} kg</text><text x=\"{:.1}\" y=\"{y:.1}\" fill=\"#4c9a6a\">{:.0}</text>",
                left - 6.0,
                max_kg * frac,
                width - right + 6.0,
                max_steps * frac
            );
        }
        let _ = writeln!(
            s,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/><text x=\"{left}\" y=\"{:.1}\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} (age {} days)</text>\n</svg>",
            width - right,
            top + plot_h,
            top + plot_h,
            height - 20.0,
            xml(&a.birth_date),
            width - right,
            height - 20.0,
            xml(&a.last_record),
            a.age_days
        );
        Some(s)
    }
}

fn parse_day(s: &str) -> Option<Day> {
    let mut it = s.splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    Day::from_ymd(y, m, d)
}

/// Escapes text for XML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
