//! The report as plain text, one fact per line.

use super::STEP_GOAL;
use super::report::{AnimalSummary, Trace, day_text, ids_text};

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
                day_text(p.date),
                ids_text(&p.made_from)
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
                    writeln!(
                        f,
                        "  {} {}, {}, {}",
                        p.id,
                        p.product,
                        kg(p.grams),
                        day_text(p.date)
                    )?;
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
    writeln!(f, "  born       {} at {}", day_text(a.birth_date), a.origin)?;
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
