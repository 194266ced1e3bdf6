//! Parallelism (and the clock) in one place. With the `native` feature the verifiers run on rayon; without
//! it (WebAssembly in a browser, where there are no threads) the same steps run in order on
//! the calling thread. Callers state *what* may run in parallel; the verdict never depends on
//! whether it did, nor on the thread count.
//!
//! Installing into a pool from a worker of another pool makes the waiting worker steal
//! jobs of its own pool meanwhile; when those jobs install again (a verifier with
//! `threads(n)` called from inside a parallel iterator), the stack grows without bound. So
//! a caller that is a rayon worker runs in its own pool: the thread count is a speed
//! setting, not part of the verdict.

#[cfg(feature = "native")]
mod imp {

    /// Native builds draw batch randomness from the operating system; a seed is not needed.
    pub(crate) fn provide_entropy(_seed: [u8; 32]) {}

    /// The operating system's randomness, always there.
    pub(crate) fn has_entropy() -> bool {
        true
    }

    /// A dedicated thread pool.
    pub(crate) type Pool = rayon::ThreadPool;

    /// A pool of exactly `threads` threads, or `None` for the caller's pool: rayon's global
    /// pool, or the pool of the rayon worker that calls (see the module docs). Also `None`
    /// when the operating system refuses the threads.
    pub(crate) fn build(threads: Option<usize>) -> Option<Pool> {
        if rayon::current_thread_index().is_some() {
            return None;
        }
        threads.and_then(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok())
    }

    /// Runs `f` in `pool`, or here (in the caller's pool) when `pool` is `None`.
    pub(crate) fn run<T: Send>(pool: Option<&Pool>, f: impl FnOnce() -> T + Send) -> T {
        match pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }

    /// Threads of the pool the caller runs in.
    pub(crate) fn threads() -> usize {
        rayon::current_num_threads()
    }

    /// Runs `work` on `pool` (or the caller's pool) while `here` runs on this thread;
    /// returns both results.
    pub(crate) fn overlap<T: Send, R>(
        pool: Option<&Pool>,
        work: impl Fn() -> T + Sync,
        here: impl FnOnce() -> R,
    ) -> (T, R) {
        let mut out = None;
        let r = in_place_scope(pool, |s| {
            let (slot, work) = (&mut out, &work);
            s.spawn(move |_| *slot = Some(work()));
            here()
        });
        // The scope joins its job before it returns (and re-raises a job's panic), so the
        // slot is filled; `work` again is only a total answer for the impossible case.
        (out.unwrap_or_else(work), r)
    }

    /// [`rayon::in_place_scope`] in `pool`, or in the caller's pool: `op` runs on this
    /// thread, the jobs it spawns on the pool.
    fn in_place_scope<'scope, R>(
        pool: Option<&Pool>,
        op: impl FnOnce(&rayon::Scope<'scope>) -> R,
    ) -> R {
        match pool {
            Some(p) => p.in_place_scope(op),
            None => rayon::in_place_scope(op),
        }
    }

    /// Milliseconds since `start()`, from the monotonic clock.
    pub(crate) struct Stopwatch(std::time::Instant);

    impl Stopwatch {
        pub(crate) fn start() -> Self {
            Self(std::time::Instant::now())
        }

        pub(crate) fn millis(&self) -> f64 {
            self.0.elapsed().as_secs_f64() * 1000.0
        }
    }
}

#[cfg(not(feature = "native"))]
mod imp {
    use std::cell::RefCell;

    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    thread_local! {
        /// Batch-verification randomness the caller provided, if any.
        static ENTROPY: RefCell<Option<StdRng>> = const { RefCell::new(None) };
    }

    /// See [`crate::provide_entropy`].
    pub(crate) fn provide_entropy(seed: [u8; 32]) {
        ENTROPY.set(Some(StdRng::from_seed(seed)));
    }

    /// `f` with the provided randomness; `None` when there is none.
    pub(crate) fn with_entropy<T>(f: impl FnOnce(&mut StdRng) -> T) -> Option<T> {
        ENTROPY.with_borrow_mut(|rng| rng.as_mut().map(f))
    }

    /// Whether batches can be checked (entropy was provided on this thread).
    pub(crate) fn has_entropy() -> bool {
        ENTROPY.with_borrow(Option::is_some)
    }

    /// No threads: a pool is never built.
    pub(crate) enum Pool {}

    /// Always `None`: everything runs on the calling thread.
    pub(crate) fn build(_threads: Option<usize>) -> Option<Pool> {
        None
    }

    /// Runs `f` here.
    pub(crate) fn run<T>(_pool: Option<&Pool>, f: impl FnOnce() -> T) -> T {
        f()
    }

    /// One thread.
    pub(crate) fn threads() -> usize {
        1
    }

    /// `work`, then `here`.
    pub(crate) fn overlap<T, R>(
        _pool: Option<&Pool>,
        work: impl Fn() -> T,
        here: impl FnOnce() -> R,
    ) -> (T, R) {
        let t = work();
        (t, here())
    }

    /// No clock: reports 0 ms (a browser times the call itself, with `performance.now()`).
    pub(crate) struct Stopwatch;

    impl Stopwatch {
        pub(crate) fn start() -> Self {
            Self
        }

        #[allow(clippy::unused_self, reason = "the same API as the native stopwatch")]
        pub(crate) fn millis(&self) -> f64 {
            0.0
        }
    }
}

pub(crate) use imp::*;
#[cfg(feature = "native")]
use rayon::prelude::*;

// The data-parallel steps: rayon's iterators with `native`, the standard ones without; the
// same adapters, so each step is written once.

/// `f(chunk_index, chunk)` over `items` in chunks of `size`, results in order.
pub(crate) fn map_chunks<'a, T: Sync, U: Send>(
    items: &'a [T],
    size: usize,
    f: impl Fn(usize, &'a [T]) -> U + Sync,
) -> Vec<U> {
    #[cfg(feature = "native")]
    let chunks = items.par_chunks(size);
    #[cfg(not(feature = "native"))]
    let chunks = items.chunks(size);
    chunks.enumerate().map(|(c, chunk)| f(c, chunk)).collect()
}

/// `f` over `items`, keeping the `Some` results in order.
pub(crate) fn filter_map<'a, T: Sync, U: Send>(
    items: &'a [T],
    f: impl Fn(&'a T) -> Option<U> + Sync,
) -> Vec<U> {
    #[cfg(feature = "native")]
    let iter = items.par_iter();
    #[cfg(not(feature = "native"))]
    let iter = items.iter();
    iter.filter_map(&f).collect()
}

/// `f(index, item)` over `items`, each giving an iterator; all their items, in order.
pub(crate) fn flat_map<'a, T: Sync, U: Send, I: Iterator<Item = U>>(
    items: &'a [T],
    f: impl Fn(usize, &'a T) -> I + Sync,
) -> Vec<U> {
    #[cfg(feature = "native")]
    return items
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, t)| f(i, t))
        .collect();
    #[cfg(not(feature = "native"))]
    items
        .iter()
        .enumerate()
        .flat_map(|(i, t)| f(i, t))
        .collect()
}

/// `f` over an owned list, results in order.
pub(crate) fn map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    #[cfg(feature = "native")]
    let iter = items.into_par_iter();
    #[cfg(not(feature = "native"))]
    let iter = items.into_iter();
    iter.map(f).collect()
}

/// Gives the signature verifiers on this thread randomness where the platform has none.
///
/// Checking many Ed25519 signatures as one batch is about twice as fast as one by one, but
/// needs coefficients the signer cannot predict. Native builds (the `native` feature) take
/// them from the operating system and ignore this call. Without `native` (WebAssembly in a
/// browser), the verifiers check signatures one by one until this is called, and in
/// batches afterwards, with coefficients from a `ChaCha12` stream of `seed`; pass 32 bytes
/// from a cryptographic source such as the browser's `crypto.getRandomValues`. Verdicts
/// are the same either way: under ZIP-215 a batch holds exactly when each signature does.
///
/// # Example
/// ```
/// agritrace::provide_entropy([7; 32]); // use real randomness; a fixed seed is for tests
/// ```
pub fn provide_entropy(seed: [u8; 32]) {
    imp::provide_entropy(seed);
}
