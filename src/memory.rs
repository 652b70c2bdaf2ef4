//! How the long-running commands (`serve`, `demo`) use glibc's malloc.
//!
//! The live heap of a server following the head under query load stays
//! near 9 MiB (heaptrack over the soak: 9.26 MiB live after 30 s, 9.33 MiB
//! after 174 s), yet with glibc's defaults its anonymous resident memory
//! climbs for minutes (17 MiB to 59 MiB in 5 minutes of the soak, near
//! 70 MiB after 10) before levelling off.
//! None of that is ours: glibc hands each thread that finds an arena locked
//! an arena of its own, up to eight per core, and gives a non-main arena's
//! free pages back only from the top of its heap, once the free space there
//! passes a trim threshold that rises with every large block freed (up to
//! 64 MiB). Tokio's workers and blocking threads spread request buffers and
//! fetched block ranges over a dozen arenas, each keeping megabytes of free
//! pages it may never use again (`malloc_stats` after 200 s of the soak:
//! 13 arenas, 43 MiB taken from the system, 9 MiB of it in use).
//!
//! So, on glibc, [`limit_arenas`] caps the arenas at one per core (at least
//! two) before any thread starts, unless the operator chose a number with
//! `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`; and [`release_free_memory`] runs
//! every [`RELEASE_EVERY`] to hand whole free pages inside the arenas back
//! to the system (`malloc_trim`). Elsewhere both do nothing. Either alone
//! is not enough (the soak still grows by 10 MiB in 3 minutes); together
//! they hold it between 13 and 21 MiB for 10 minutes.
//!
//! The same round also gives back the projections' LMDB pages that queries
//! have read ([`state::Projection::release_pages`]): file pages, not heap,
//! but they count in resident memory all the same. Applies release them
//! by themselves.

use std::time::Duration;

/// How often free pages inside the arenas go back to the system.
pub(crate) const RELEASE_EVERY: Duration = Duration::from_secs(10);

/// The glibc tunable that `MALLOC_ARENA_MAX` stands for.
const ARENA_TUNABLE: &str = "glibc.malloc.arena_max";

/// Caps glibc's malloc arenas at one per core (at least two). Call it
/// before the first thread is spawned: threads that already have an arena
/// keep it. Returns the cap set, `None` when it was left alone (the
/// operator set one, or this is not glibc).
pub(crate) fn limit_arenas() -> Option<usize> {
    let chosen = std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains(ARENA_TUNABLE));
    if chosen {
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let arenas = cores.max(2);
    glibc::set_arena_max(arenas).then_some(arenas)
}

/// Hands the whole free pages inside malloc's arenas back to the system,
/// and drops the process's mappings of the projections' pages that queries
/// have read (they stay in the page cache). Walks every arena under its
/// lock, so call it from a blocking thread.
pub(crate) fn release_free_memory(catalog: &state::Catalog) {
    glibc::trim();
    for projection in catalog.list().iter().filter_map(|entry| entry.projection()) {
        if let Err(e) = projection.release_pages() {
            tracing::debug!(error = %e, "could not release a projection's mapped pages");
        }
    }
}

/// Runs [`release_free_memory`] every [`RELEASE_EVERY`] until `stop` turns true.
pub(crate) async fn release_periodically(
    catalog: std::sync::Arc<state::Catalog>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(RELEASE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {
                // A failed blocking task only means this round was skipped.
                let catalog = catalog.clone();
                let _ = tokio::task::spawn_blocking(move || release_free_memory(&catalog)).await;
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// `mallopt(M_ARENA_MAX, arenas)`; false when glibc refused it.
    pub(super) fn set_arena_max(arenas: usize) -> bool {
        let Ok(arenas) = libc::c_int::try_from(arenas) else {
            return false;
        };
        // SAFETY: mallopt only stores the parameter (glibc checks its value)
        // and is safe to call at any time, from any thread.
        #[allow(unsafe_code)]
        let status = unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) };
        status == 1
    }

    /// `malloc_trim(0)`: every arena releases its free whole pages.
    pub(super) fn trim() {
        // SAFETY: malloc_trim takes each arena's lock while it walks the
        // free chunks and only releases pages no allocation uses.
        #[allow(unsafe_code)]
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    /// Not glibc: nothing to set.
    pub(super) fn set_arena_max(_arenas: usize) -> bool {
        false
    }

    /// Not glibc: nothing to trim.
    pub(super) fn trim() {}
}
