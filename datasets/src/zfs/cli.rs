//! Runs `zfs` and `zpool` with [`std::process::Command`] (no shell: every
//! argument is passed as-is, and every name in them was validated first).
//! A failed command becomes an error carrying its command line and stderr.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{stderr_says_out_of_space, DatasetError};

/// How long a command that failed with "dataset is busy" is retried.
/// zfs-fuse reports a freshly created or just-unmounted dataset as busy for a
/// fraction of a second; real ZFS rarely does.
const BUSY_RETRY_FOR: Duration = Duration::from_secs(30);

/// The `zfs` and `zpool` programs to run.
#[derive(Debug, Clone)]
pub(crate) struct Cli {
    zfs: PathBuf,
    zpool: PathBuf,
}

impl Cli {
    pub(crate) fn new(zfs: PathBuf, zpool: PathBuf) -> Self {
        Self { zfs, zpool }
    }

    /// Runs `zfs args...` and returns its stdout.
    pub(crate) fn zfs(&self, args: &[&str]) -> Result<String, DatasetError> {
        run(self.command(&self.zfs, args), &display(&self.zfs, args))
    }

    /// Runs `zpool args...` and returns its stdout.
    pub(crate) fn zpool(&self, args: &[&str]) -> Result<String, DatasetError> {
        run(self.command(&self.zpool, args), &display(&self.zpool, args))
    }

    /// Runs `zfs args...`, retrying while it fails with "dataset is busy".
    pub(crate) fn zfs_retrying_busy(&self, args: &[&str]) -> Result<String, DatasetError> {
        let deadline = Instant::now() + BUSY_RETRY_FOR;
        let mut pause = Duration::from_millis(25);
        loop {
            match self.zfs(args) {
                Err(DatasetError::Command { ref stderr, .. })
                    if stderr.contains("dataset is busy") && Instant::now() < deadline =>
                {
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    /// Runs `zfs args...` (a `zfs send`), copying its stdout into `out`.
    pub(crate) fn zfs_to_writer(
        &self,
        args: &[&str],
        out: &mut dyn Write,
    ) -> Result<(), DatasetError> {
        let line = display(&self.zfs, args);
        let mut command = self.command(&self.zfs, args);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|source| DatasetError::Spawn {
            command: line.clone(),
            source,
        })?;
        let stderr = collect_stderr(&mut child);
        let copied = match child.stdout.take() {
            Some(mut stdout) => std::io::copy(&mut stdout, out).map(|_| ()),
            None => Ok(()),
        };
        if let Err(source) = copied {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DatasetError::Stream {
                action: "writing the send stream",
                source,
            });
        }
        finish(child, stderr, &line).map(|_| ())
    }

    /// Runs `zfs args...` (a `zfs receive`), feeding it `input`.
    pub(crate) fn zfs_from_reader(
        &self,
        args: &[&str],
        input: &mut dyn Read,
    ) -> Result<(), DatasetError> {
        let line = display(&self.zfs, args);
        let mut command = self.command(&self.zfs, args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|source| DatasetError::Spawn {
            command: line.clone(),
            source,
        })?;
        let stderr = collect_stderr(&mut child);
        let mut write_error = None;
        if let Some(mut stdin) = child.stdin.take() {
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(DatasetError::Stream {
                            action: "reading the send stream",
                            source,
                        });
                    }
                };
                if let Err(e) = stdin.write_all(&buf[..n]) {
                    // zfs stopped reading: its exit status and stderr say why.
                    write_error = Some(e);
                    break;
                }
            }
        }
        finish(child, stderr, &line)?;
        match write_error {
            Some(source) => Err(DatasetError::Stream {
                action: "feeding the stream to zfs receive",
                source,
            }),
            None => Ok(()),
        }
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        // Messages are matched in English ("does not exist", "dataset is busy").
        command.args(args).env("LC_ALL", "C").stdin(Stdio::null());
        command
    }
}

fn display(program: &Path, args: &[&str]) -> String {
    let name = program.file_name().map_or_else(
        || program.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    std::iter::once(name.as_str())
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(mut command: Command, line: &str) -> Result<String, DatasetError> {
    let output = command.output().map_err(|source| DatasetError::Spawn {
        command: line.to_owned(),
        source,
    })?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(failure(line, output.status.to_string(), stderr))
    }
}

fn collect_stderr(child: &mut Child) -> Option<thread::JoinHandle<String>> {
    child.stderr.take().map(|mut pipe| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    })
}

fn finish(
    mut child: Child,
    stderr: Option<thread::JoinHandle<String>>,
    line: &str,
) -> Result<(), DatasetError> {
    let status = child.wait().map_err(|source| DatasetError::Spawn {
        command: line.to_owned(),
        source,
    })?;
    let stderr = stderr
        .and_then(|h| h.join().ok())
        .unwrap_or_default()
        .trim()
        .to_owned();
    if status.success() {
        Ok(())
    } else {
        Err(failure(line, status.to_string(), stderr))
    }
}

fn failure(line: &str, status: String, stderr: String) -> DatasetError {
    if stderr_says_out_of_space(&stderr) {
        DatasetError::OutOfSpace {
            location: line.to_owned(),
            detail: stderr,
        }
    } else {
        DatasetError::Command {
            command: line.to_owned(),
            status,
            stderr,
        }
    }
}

/// Whether a failed command said the dataset or snapshot does not exist.
pub(crate) fn is_missing(err: &DatasetError) -> bool {
    matches!(err, DatasetError::Command { stderr, .. } if stderr.contains("does not exist"))
}
