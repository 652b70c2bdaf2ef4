//! Giving back the pages of the LMDB map a process has read.
//!
//! LMDB reads through a shared, read-only map of `data.mdb`. Every page a
//! read touches stays mapped into the process and counts in its resident
//! memory, so after a long catch-up a process "holds" about the size of its
//! projections (1.5 GB for three tokens after a million blocks), although
//! those are page-cache pages that belong to the file. Dropping the
//! process's mappings of them from time to time keeps resident memory
//! bounded by what recent work needs. The file's pages stay in the kernel's
//! page cache (reclaimable as always); the next read of one maps it again.

use std::path::Path;
use std::time::Duration;

/// Least time between two releases of one projection's pages: a release
/// makes the next reads fault the B-tree's upper pages back in.
pub(crate) const RELEASE_EVERY: Duration = Duration::from_secs(1);

/// Drops this process's mappings of `file`'s pages (the shared maps of it
/// whose path and inode match), leaving the file and the page cache as they
/// are. Returns the bytes of map advised. Does nothing off Linux.
pub(crate) fn release_mapped(file: &Path) -> std::io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        linux::release_mapped(file)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        Ok(0)
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    pub(super) fn release_mapped(file: &Path) -> std::io::Result<u64> {
        let path = std::fs::canonicalize(file)?;
        let inode = std::fs::metadata(&path)?.ino();
        let Some(path) = path.to_str() else {
            return Ok(0);
        };
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        let mut advised = 0;
        for (start, end) in maps
            .lines()
            .filter_map(|line| shared_map_of(line, path, inode))
        {
            advise_dontneed(start, end)?;
            advised += (end - start) as u64;
        }
        Ok(advised)
    }

    /// The address range of a `/proc/self/maps` line if it is a shared map
    /// of the file at `path` with `inode`.
    fn shared_map_of(line: &str, path: &str, inode: u64) -> Option<(usize, usize)> {
        let mut fields = line.splitn(6, ' ');
        let range = fields.next()?;
        let perms = fields.next()?;
        let _offset = fields.next()?;
        let _device = fields.next()?;
        let line_inode: u64 = fields.next()?.parse().ok()?;
        let line_path = fields.next()?.trim_start();
        if line_inode != inode || line_path != path || perms.as_bytes().get(3) != Some(&b's') {
            return None;
        }
        let (start, end) = range.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        (end > start).then_some((start, end))
    }

    #[allow(unsafe_code)]
    fn advise_dontneed(start: usize, end: usize) -> std::io::Result<()> {
        // SAFETY: the range is exactly one mapping listed by the kernel, page
        // aligned, and it is a *shared* file mapping (checked above): for
        // those MADV_DONTNEED only drops this process's page-table entries;
        // the data stays in the page cache and the file, and any later access
        // (another thread reading through LMDB included) faults the same
        // bytes back in. LMDB maps data.mdb shared and, without WRITEMAP
        // (never set here), read-only, so there is no private copy to lose.
        // No Rust reference is invalidated: the memory stays mapped and valid.
        let done =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if done == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::shared_map_of;

        #[test]
        fn only_shared_maps_of_the_same_file_and_inode_match() {
            let line =
                "7f0000000000-7f1000000000 r--s 00000000 00:2a 1234 /data/SPK/state/data.mdb";
            let path = "/data/SPK/state/data.mdb";
            assert_eq!(
                shared_map_of(line, path, 1234),
                Some((0x7f00_0000_0000, 0x7f10_0000_0000))
            );
            assert_eq!(shared_map_of(line, path, 99), None);
            assert_eq!(shared_map_of(line, "/data/DLUX/state/data.mdb", 1234), None);
            let private = line.replace("r--s", "r--p");
            assert_eq!(shared_map_of(&private, path, 1234), None);
            let deleted = format!("{line} (deleted)");
            assert_eq!(shared_map_of(&deleted, path, 1234), None);
            assert_eq!(shared_map_of("garbage", path, 1234), None);
        }
    }
}
