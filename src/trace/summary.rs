//! Filling in the report: what an ID means, an animal's life, a product's story.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{Event, Sex};
use crate::id::SubjectId;
use crate::time::Day;
use crate::trust::TrustStore;
use crate::verify::VerifiedChain;
use crate::verify::VerifiedSet;

use super::STEP_GOAL;
use super::report::{
    AnimalSummary, ProductSummary, StepSummary, Trace, TreatmentSummary, VerificationSummary,
};

/// What each part of an ID means.
pub(super) fn meaning(id: &SubjectId) -> Vec<(String, String)> {
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
pub(super) fn animal(chain: &VerifiedChain) -> AnimalSummary {
    let mut a = AnimalSummary {
        id: chain.subject().clone(),
        breed: String::new(),
        sex: String::new(),
        birth_date: None,
        age_days: 0,
        last_record: chain
            .records()
            .last()
            .map_or(Day::from_days_since_epoch(0), |r| r.body().time().day()),
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
                a.birth_date = Some(reg.birth_date);
                a.origin = reg.origin_site.to_string();
                birth = Some(reg.birth_date);
            }
            Event::Weighing { grams } => a.weights.push((d, *grams)),
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
                a.inspections.push((d, format!("{what}{cert}")));
            }
            Event::Move { from_site, to_site } => {
                a.moves
                    .push((d, from_site.to_string(), to_site.to_string()));
            }
            Event::CustodyTransfer { to_party } => {
                a.custodians.push((d, to_party.to_string()));
            }
            Event::Slaughter { carcass_grams } => {
                a.slaughter = Some((d, *carcass_grams));
                slaughter_day = Some(d);
            }
            _ => {}
        }
    }
    if let Some(last) = chain.records().last() {
        let last_day = last.body().time().day();
        a.last_record = last_day;
        a.age_days = birth.map_or(0, |b| b.days_until(slaughter_day.unwrap_or(last_day)));
    }
    a.treatments = treatments
        .into_iter()
        .map(|(d, kind, product, w)| {
            let ends =
                Day::from_days_since_epoch(d.days_since_epoch().saturating_add(i32::from(w)));
            TreatmentSummary {
                date: d,
                kind,
                product,
                withdrawal_days: w,
                withdrawal_ends: ends,
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
        series: steps.to_vec(),
    }
}

/// A product chain's summary; with `deep`, the products made from it too.
pub(super) fn product(chain: &VerifiedChain, depth: u32) -> ProductSummary {
    let mut p = ProductSummary {
        id: chain.subject().clone(),
        product: String::new(),
        grams: 0,
        date: None,
        made_from: Vec::new(),
        custodians: Vec::new(),
        sale: None,
        depth,
    };
    for r in chain.records() {
        let d = r.body().time().day();
        match r.body().event() {
            Event::Transformation {
                parents,
                product,
                grams,
            } => {
                p.product = product.to_string();
                p.grams = *grams;
                p.date = Some(d);
                p.made_from = parents.iter().map(|l| l.subject.clone()).collect();
            }
            Event::Harvest { crop, site, grams } => {
                p.product = format!("{crop}, {site}");
                p.grams = *grams;
                p.date = Some(d);
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
        id: id.clone(),
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

impl crate::tlog::VerifiedBundle {
    /// A readable summary, as [`trace()`](crate::trace()) gives from a store (its time is
    /// the bundle's verification time).
    #[must_use]
    pub fn trace(&self) -> Trace {
        summarise(self.set(), self.trust(), self.subject(), self.millis())
    }
}
