//! The report a person reads: typed summaries of one ID, built from verified records only.

use serde::Serialize;

use crate::id::SubjectId;
use crate::time::Day;

/// A day as text, or "unknown" when the records do not say.
pub(crate) fn day_text(d: Option<Day>) -> String {
    d.map_or_else(|| "unknown".to_owned(), |d| d.to_string())
}

/// IDs as one comma-separated line.
pub(crate) fn ids_text(ids: &[SubjectId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything a person reads about one ID, built from verified records only.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Trace {
    /// The ID traced, in text form.
    pub id: SubjectId,
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
#[non_exhaustive]
pub struct AnimalSummary {
    /// Ear tag or ISO code.
    pub id: SubjectId,
    /// Breed.
    pub breed: String,
    /// Sex.
    pub sex: String,
    /// Date of birth.
    pub birth_date: Option<Day>,
    /// Age in days at its last record (at slaughter, for a slaughtered animal).
    pub age_days: i64,
    /// Date of its last record.
    pub last_record: Day,
    /// Farm of birth.
    pub origin: String,
    /// Weighings: (date, grams).
    pub weights: Vec<(Day, u32)>,
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
    pub inspections: Vec<(Day, String)>,
    /// Moves: (date, from, to).
    pub moves: Vec<(Day, String, String)>,
    /// Custody transfers: (date, to party).
    pub custodians: Vec<(Day, String)>,
    /// Slaughter: (date, carcass grams).
    pub slaughter: Option<(Day, u32)>,
}

/// Daily step counts over an animal's life.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct StepSummary {
    /// Days with a count.
    pub days_recorded: u32,
    /// Mean steps per recorded day.
    pub average: u32,
    /// Recorded days at or above [`STEP_GOAL`](crate::STEP_GOAL).
    pub days_at_goal: u32,
    /// Days between the first and last count with no count.
    pub missing_days: u32,
    /// (date, steps) for every recorded day.
    pub series: Vec<(Day, u32)>,
}

/// One treatment and its withdrawal period.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct TreatmentSummary {
    /// Date given.
    pub date: Day,
    /// Vaccination or medication.
    pub kind: String,
    /// Product.
    pub product: String,
    /// Withdrawal period in days.
    pub withdrawal_days: u16,
    /// Last day of the withdrawal period.
    pub withdrawal_ends: Day,
    /// For a slaughtered animal: whether slaughter came after the withdrawal period.
    pub respected: Option<bool>,
}

/// A product or lot: what it is, what it came from, its custody and sale.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ProductSummary {
    /// Lot ID.
    pub id: SubjectId,
    /// Product description (transformation) or crop (harvest).
    pub product: String,
    /// Net grams.
    pub grams: u64,
    /// Date made or harvested.
    pub date: Option<Day>,
    /// Parent IDs.
    pub made_from: Vec<SubjectId>,
    /// Custody transfers: (date, party).
    pub custodians: Vec<(Day, String)>,
    /// Sale: (date, buyer, price in yuan).
    pub sale: Option<(Day, String, String)>,
    /// In [`Trace::products`]: 1 for a product made from the animal, 2 for one made from
    /// such a product, and so on (the list is in tree order, each product once, under the
    /// first of its parents). In [`Trace::product_path`]: 0.
    pub depth: u32,
}

/// How the trace was verified.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
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
