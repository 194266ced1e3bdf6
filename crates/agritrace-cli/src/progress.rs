//! Progress bars on a terminal (records/s and ETA), none otherwise. Counting is batched so
//! that reporting costs the engine nothing measurable.

use std::cell::Cell;
use std::io::Read;
use std::time::Instant;

use agritrace::thousands;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Records between updates of the bar's message.
const EVERY: u64 = 1 << 14;

/// A bar over `len` units (bytes or records), hidden unless `shown`.
pub fn bar(shown: bool, len: u64) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{bar:28}] {percent:>3}%  {msg}  ETA {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Counts records as they pass and shows them with their rate on the bar.
pub struct Counter {
    bar: ProgressBar,
    started: Instant,
    records: Cell<u64>,
    pending: Cell<u64>,
    /// Advance the bar by records (for a store) rather than by bytes (for a file).
    by_records: bool,
}

impl Counter {
    pub fn new(bar: ProgressBar, by_records: bool) -> Self {
        Self {
            bar,
            started: Instant::now(),
            records: Cell::new(0),
            pending: Cell::new(0),
            by_records,
        }
    }

    /// One more record.
    pub fn tick(&self) {
        let pending = self.pending.get() + 1;
        self.pending.set(pending);
        if pending == EVERY {
            self.flush();
        }
    }

    fn flush(&self) {
        let pending = self.pending.replace(0);
        self.records.set(self.records.get() + pending);
        if self.by_records {
            self.bar.inc(pending);
        }
        if !self.bar.is_hidden() {
            self.bar.set_message(self.rate_text());
        }
    }

    fn rate_text(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a displayed rate"
        )]
        let rate = (self.records.get() as f64 / secs) as u64;
        format!(
            "{} records read, {}/s",
            thousands(self.records.get()),
            thousands(rate)
        )
    }

    /// Ends the bar with `verdict` and the records counted (each pass counted once).
    pub fn finish(self, verdict: &str, records: u64) {
        self.flush();
        let secs = self.started.elapsed().as_secs_f64();
        self.bar.finish_with_message(format!(
            "{verdict}: {} records in {secs:.1} s",
            thousands(records)
        ));
        self.end_line();
    }

    /// Moves what is printed next below the finished bar.
    fn end_line(&self) {
        if !self.bar.is_hidden() {
            eprintln!();
        }
    }

    pub fn abandon(self, message: &str) {
        self.flush();
        self.bar.abandon_with_message(message.to_owned());
        self.end_line();
    }

    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }
}

/// An iterator that ticks `counter` for each item.
pub struct Counted<'c, I> {
    pub inner: I,
    pub counter: &'c Counter,
}

impl<I: Iterator> Iterator for Counted<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.counter.tick();
        Some(item)
    }
}

/// A reader that advances a bar by the bytes it reads.
pub struct BytesRead<R> {
    pub inner: R,
    pub bar: ProgressBar,
}

impl<R: Read> Read for BytesRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}
