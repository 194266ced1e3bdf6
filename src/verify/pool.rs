//! Thread pools for the verifiers: one place that builds a dedicated pool and runs work in
//! it, safely even when the caller is itself a rayon worker.
//!
//! Installing into a pool from a worker of another pool makes the waiting worker steal
//! jobs of its own pool meanwhile; when those jobs install again (a verifier with
//! `threads(n)` called from inside a parallel iterator), the stack grows without bound. So
//! a caller that is a rayon worker runs in its own pool: the thread count is a speed
//! setting, and the verdict never depends on it.

use rayon::ThreadPool;

/// A pool of exactly `threads` threads, or `None` for the caller's pool: rayon's global
/// pool, or the pool of the rayon worker that calls (see the module docs). Also `None` when
/// the operating system refuses the threads.
pub(crate) fn build(threads: Option<usize>) -> Option<ThreadPool> {
    if rayon::current_thread_index().is_some() {
        return None;
    }
    threads.and_then(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok())
}

/// Runs `f` in `pool`, or here (in the caller's pool) when `pool` is `None`.
pub(crate) fn run<T: Send>(pool: Option<&ThreadPool>, f: impl FnOnce() -> T + Send) -> T {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// [`rayon::in_place_scope`] in `pool`, or in the caller's pool: `op` runs on this thread,
/// the jobs it spawns on the pool.
pub(crate) fn in_place_scope<'scope, R>(
    pool: Option<&ThreadPool>,
    op: impl FnOnce(&rayon::Scope<'scope>) -> R,
) -> R {
    match pool {
        Some(p) => p.in_place_scope(op),
        None => rayon::in_place_scope(op),
    }
}
