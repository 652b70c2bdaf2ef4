//! CPU time spent by this process and by the calling thread, so a figure
//! can say whether it was held back by one busy thread or by both cores.
//! A wall-clock figure alone cannot tell the two apart.

use std::time::Duration;

/// CPU time (user and system) used so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpuTime {
    /// Every thread of the process, those already ended included.
    pub(crate) process: Duration,
    /// The calling thread alone.
    pub(crate) thread: Duration,
}

impl CpuTime {
    /// The CPU time used so far; `None` when the kernel does not say.
    pub(crate) fn now() -> Option<CpuTime> {
        Some(CpuTime {
            process: usage(libc::RUSAGE_SELF)?,
            thread: usage(libc::RUSAGE_THREAD)?,
        })
    }

    /// What was used between `earlier` and `self`.
    pub(crate) fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            process: self.process.saturating_sub(earlier.process),
            thread: self.thread.saturating_sub(earlier.thread),
        }
    }

    /// One line for a figure's details: cores busy on average over
    /// `wall_seconds`, and, given its role, how busy the calling thread was.
    pub(crate) fn describe(self, wall_seconds: f64, thread_role: Option<&str>) -> String {
        let wall = wall_seconds.max(f64::MIN_POSITIVE);
        let mut line = format!(
            "CPU: {:.2} s over {:.2} s, {:.2} of {} cores busy on average",
            self.process.as_secs_f64(),
            wall_seconds,
            self.process.as_secs_f64() / wall,
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
        if let Some(role) = thread_role {
            line.push_str(&format!(
                "; {role} {:.2} s ({:.0}% of the time)",
                self.thread.as_secs_f64(),
                100.0 * self.thread.as_secs_f64() / wall
            ));
        }
        line
    }
}

/// `getrusage(who)`'s user plus system time.
///
/// `getrusage` only writes into the struct it is given; the struct is
/// zeroed first, so it is valid whatever the kernel fills in.
#[allow(unsafe_code)]
fn usage(who: libc::c_int) -> Option<Duration> {
    // SAFETY: `rusage` is plain data, valid when zeroed; the pointer is to
    // a live local for the length of the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(who, &mut usage) };
    if rc != 0 {
        return None;
    }
    let time = |t: libc::timeval| {
        let secs = u64::try_from(t.tv_sec).ok()?;
        let micros = u64::try_from(t.tv_usec).ok()?;
        Some(Duration::from_secs(secs) + Duration::from_micros(micros))
    };
    Some(time(usage.ru_utime)? + time(usage.ru_stime)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Work done on this thread shows in both its own and the process's time,
    /// and work on another thread only in the process's.
    #[test]
    fn spinning_threads_are_counted_where_they_ran() {
        fn spin(for_cpu: Duration) {
            let start = CpuTime::now().expect("getrusage works on Linux");
            let mut x = 1u64;
            while CpuTime::now().expect("getrusage").since(start).thread < for_cpu {
                for i in 0..10_000u64 {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
                }
            }
        }
        let before = CpuTime::now().expect("getrusage works on Linux");
        spin(Duration::from_millis(100));
        let here = CpuTime::now().expect("getrusage").since(before);
        assert!(here.thread >= Duration::from_millis(100), "{here:?}");
        assert!(here.process >= here.thread, "{here:?}");

        let before = CpuTime::now().expect("getrusage");
        std::thread::spawn(|| spin(Duration::from_millis(100)))
            .join()
            .expect("the spinning thread ends");
        let elsewhere = CpuTime::now().expect("getrusage").since(before);
        assert!(
            elsewhere.process >= Duration::from_millis(100),
            "{elsewhere:?}"
        );
        assert!(
            elsewhere.thread < Duration::from_millis(100),
            "{elsewhere:?}"
        );
    }

    #[test]
    fn the_description_gives_cores_and_the_thread_share() {
        let used = CpuTime {
            process: Duration::from_millis(3_000),
            thread: Duration::from_millis(1_500),
        };
        let line = used.describe(2.0, Some("the applying thread"));
        assert!(line.contains("3.00 s over 2.00 s, 1.50 of"), "{line}");
        assert!(
            line.ends_with("; the applying thread 1.50 s (75% of the time)"),
            "{line}"
        );
        let line = used.describe(2.0, None);
        assert!(line.ends_with("cores busy on average"), "{line}");
    }
}
