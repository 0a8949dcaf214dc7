//! Threads: how many rbag starts by default, and the one place a pool of
//! them is built (the block workers, and the sort of a merged result).

use crate::error::Error;

/// Threads when `-j` is not given: the cores, capped, since more counting
/// threads than cores only adds merge work and memory.
pub fn default_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(64)
}

/// A pool of `threads` threads (at least one) named `rbag-worker-N`.
///
/// # Errors
/// The operating system refused to start them.
pub(crate) fn pool(threads: usize) -> Result<rayon::ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("rbag-worker-{i}"))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))
}
