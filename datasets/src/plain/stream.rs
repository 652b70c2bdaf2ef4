//! The plain backend's send stream: a tar archive whose first entry is a
//! JSON header, followed by the snapshot's contents under `data/`.
//!
//! An incremental stream holds the whole snapshot too (directories have no
//! cheap way to compute a difference); it is flagged incremental and names
//! its base, so receiving it checks the same things `zfs receive -i` does.

use std::io::{Read, Write};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::error::DatasetError;

/// Name of the header entry.
const HEADER: &str = "honeygraph-stream.json";
/// What the header's `format` field must say.
const FORMAT: &str = "honeygraph-plain-send";
/// Where the contents go in the archive.
pub(crate) const DATA: &str = "data";

/// The first entry of a plain send stream.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct StreamHeader {
    /// Always [`FORMAT`].
    pub(crate) format: String,
    /// Stream layout version.
    pub(crate) version: u32,
    /// The dataset it was sent from.
    pub(crate) dataset: String,
    /// The snapshot it holds.
    pub(crate) snapshot: String,
    /// The base snapshot of an incremental stream.
    pub(crate) incremental_from: Option<String>,
}

impl StreamHeader {
    pub(crate) fn new(dataset: &str, snapshot: &str, from: Option<&str>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: 1,
            dataset: dataset.to_owned(),
            snapshot: snapshot.to_owned(),
            incremental_from: from.map(str::to_owned),
        }
    }
}

fn write_err(source: std::io::Error) -> DatasetError {
    DatasetError::Stream {
        action: "writing the send stream",
        source,
    }
}

/// Writes `header` and the tree at `data` to `out`.
pub(crate) fn write(
    header: &StreamHeader,
    data: &Path,
    out: &mut dyn Write,
) -> Result<(), DatasetError> {
    let json = serde_json::to_vec(header).map_err(|e| write_err(std::io::Error::other(e)))?;
    let mut builder = tar::Builder::new(out);
    builder.follow_symlinks(false);
    let mut entry = tar::Header::new_gnu();
    entry.set_size(json.len() as u64);
    entry.set_mode(0o644);
    entry.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut entry, HEADER, json.as_slice())
        .map_err(write_err)?;
    builder.append_dir_all(DATA, data).map_err(|e| {
        if crate::error::is_out_of_space(&e) {
            write_err(e)
        } else {
            DatasetError::io("archiving", data, e)
        }
    })?;
    builder.finish().map_err(write_err)
}

fn invalid(reason: impl Into<String>) -> DatasetError {
    DatasetError::InvalidStream {
        reason: reason.into(),
    }
}

/// Reads a stream into `scratch` (contents land in `scratch/data`) and
/// returns its header. Entries outside `data/`, absolute paths, `..` and
/// anything else `tar` would unpack outside `scratch` are rejected.
pub(crate) fn read(input: &mut dyn Read, scratch: &Path) -> Result<StreamHeader, DatasetError> {
    let read_err = |source| DatasetError::Stream {
        action: "reading the send stream",
        source,
    };
    let mut archive = tar::Archive::new(input);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(false);
    let mut entries = archive.entries().map_err(read_err)?;
    let mut first = entries
        .next()
        .ok_or_else(|| invalid("empty stream"))?
        .map_err(read_err)?;
    if first.path().map_err(read_err)?.as_ref() != Path::new(HEADER) {
        return Err(invalid(
            "not a honeygraph plain send stream (no header first)",
        ));
    }
    let mut json = Vec::new();
    first.read_to_end(&mut json).map_err(read_err)?;
    let header: StreamHeader =
        serde_json::from_slice(&json).map_err(|e| invalid(format!("unreadable header: {e}")))?;
    if header.format != FORMAT || header.version != 1 {
        return Err(invalid(format!(
            "unknown stream format {:?} version {}",
            header.format, header.version
        )));
    }
    for entry in entries {
        let mut entry = entry.map_err(read_err)?;
        let path = entry.path().map_err(read_err)?.into_owned();
        let mut components = path.components();
        let under_data = components.next() == Some(Component::Normal(DATA.as_ref()))
            && components.all(|c| matches!(c, Component::Normal(_)));
        if !under_data {
            return Err(invalid(format!("entry {path:?} is outside data/")));
        }
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir() || kind.is_symlink()) {
            return Err(invalid(format!(
                "entry {path:?} is not a file, directory or symlink"
            )));
        }
        let unpacked = entry
            .unpack_in(scratch)
            .map_err(|e| DatasetError::io("unpacking into", scratch, e))?;
        if !unpacked {
            return Err(invalid(format!(
                "entry {path:?} would land outside the target"
            )));
        }
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("log"))?;
        std::fs::write(src.join("log/f"), b"hello")?;
        let header = StreamHeader::new("A", "s1", Some("s0"));
        let mut bytes = Vec::new();
        write(&header, &src, &mut bytes)?;
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch)?;
        let got = read(&mut bytes.as_slice(), &scratch)?;
        assert_eq!(got, header);
        assert_eq!(std::fs::read(scratch.join("data/log/f"))?, b"hello");
        Ok(())
    }

    fn archive(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            // set_path refuses "..", so write the raw name like a hostile tool would.
            let name = path.as_bytes();
            header.as_old_mut().name[..name.len()].copy_from_slice(name);
            header.set_cksum();
            builder.append(&header, *data)?;
        }
        Ok(builder.into_inner()?)
    }

    #[test]
    fn rejects_foreign_and_hostile_streams() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let header = serde_json::to_vec(&StreamHeader::new("A", "s1", None))?;
        let cases = [
            archive(&[("other.txt", b"x")])?,
            archive(&[(HEADER, b"{not json")])?,
            archive(&[(HEADER, &header), ("data/../../escape", b"x")])?,
            archive(&[(HEADER, &header), ("elsewhere/f", b"x")])?,
            b"definitely not a tar archive, just some bytes that are long enough to fill a block"
                .repeat(8),
        ];
        for (i, bytes) in cases.iter().enumerate() {
            let scratch = dir.path().join(format!("s{i}"));
            std::fs::create_dir(&scratch)?;
            assert!(
                read(&mut bytes.as_slice(), &scratch).is_err(),
                "case {i} accepted"
            );
        }
        assert!(!dir.path().join("escape").exists());
        Ok(())
    }
}
