//! The report's chart: weight and daily steps over the animal's life, as SVG.

use std::fmt::Write as _;

use crate::time::Day;

use super::STEP_GOAL;
use super::report::Trace;

impl Trace {
    /// An SVG chart of the animal's weight (line, kg) and daily steps (bars) over its life;
    /// `None` when the trace has no animal.
    #[must_use]
    pub fn svg(&self) -> Option<String> {
        let a = self.animal.as_ref()?;
        let birth = a.birth_date?;
        let end = a.last_record;
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
            xml(&a.id.to_string()),
            xml(&a.breed),
            birth
        );
        for &(day, n) in &a.steps.series {
            let bh = plot_h * f64::from(n) / max_steps;
            let colour = if n >= STEP_GOAL { "#4c9a6a" } else { "#a7c7b4" };
            let _ = writeln!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"2\" height=\"{bh:.1}\" fill=\"{colour}\"/>",
                x(day),
                top + plot_h - bh
            );
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
            .map(|&(day, g)| {
                format!(
                    "{:.1},{:.1}",
                    x(day),
                    top + plot_h - plot_h * (f64::from(g) / 1000.0) / max_kg
                )
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
            birth,
            width - right,
            height - 20.0,
            end,
            a.age_days
        );
        Some(s)
    }
}

/// Escapes text for XML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
