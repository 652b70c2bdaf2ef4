//! The ZFS backend against a fake `zfs` that records every call: bad names
//! never reach it, and its failures come back with the command line and
//! stderr. Runs everywhere (no ZFS needed).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::TestResult;
use datasets::{
    ensure_token_layout, DatasetBackend, DatasetError, NameKind, StreamKind, ZfsBackend,
};

/// Writes a fake `zfs` that appends its arguments to `calls` and fails the
/// way `zfs` does.
fn fake_zfs(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let calls = dir.join("calls");
    let program = dir.join("zfs");
    fs::write(
        &program,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\necho \"cannot open '$3': permission denied (fake zfs)\" >&2\nexit 2\n",
            calls.display()
        ),
    )?;
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755))?;
    Ok((program, calls))
}

fn calls(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[test]
fn bad_names_never_reach_the_command() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (program, log) = fake_zfs(dir.path())?;
    let b = ZfsBackend::with_programs("tank/honeygraph", &program, &program)?;
    let bad = [
        "", "..", "../x", "x/..", "-o", "-rf", "x y", "x;reboot", "x|y", "x&y", "$(id)", "`id`",
        "x\ny", "x@y", "/x", "x/", ".hidden", "x\\y", "é",
    ];
    for name in bad {
        let invalid =
            |r: Result<(), DatasetError>| matches!(r, Err(DatasetError::InvalidName { .. }));
        assert!(invalid(b.create(name, &[]).map(|_| ())), "create {name:?}");
        assert!(
            invalid(b.create("OK", &[name]).map(|_| ())),
            "create child {name:?}"
        );
        assert!(invalid(b.destroy(name)), "destroy {name:?}");
        assert!(invalid(b.exists(name).map(|_| ())), "exists {name:?}");
        assert!(
            invalid(b.mountpoint(name).map(|_| ())),
            "mountpoint {name:?}"
        );
        assert!(invalid(b.snapshot("OK", name)), "snapshot {name:?}");
        assert!(invalid(b.snapshot(name, "s")), "snapshot of {name:?}");
        assert!(
            invalid(b.list_snapshots(name).map(|_| ())),
            "list_snapshots {name:?}"
        );
        assert!(
            invalid(b.destroy_snapshot("OK", name)),
            "destroy_snapshot {name:?}"
        );
        assert!(
            invalid(b.rollback("OK", name).map(|_| ())),
            "rollback {name:?}"
        );
        assert!(
            invalid(b.clone_snapshot("OK", "s", name).map(|_| ())),
            "clone to {name:?}"
        );
        assert!(
            invalid(b.send("OK", "s", Some(name), &mut Vec::new())),
            "send from {name:?}"
        );
        assert!(
            invalid(b.receive(name, StreamKind::Full, &mut [0u8; 0].as_slice())),
            "receive {name:?}"
        );
        assert!(invalid(b.set_quota(name, Some(1))), "set_quota {name:?}");
        assert!(
            invalid(b.property("OK", name).map(|_| ())),
            "property {name:?}"
        );
        assert!(
            invalid(ensure_token_layout(&b, name).map(|_| ())),
            "layout {name:?}"
        );
    }
    // Names too long once the parent is in front are refused too.
    let long = [
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(60),
        "d".repeat(60),
    ]
    .join("/");
    let err = ZfsBackend::with_programs(&"p".repeat(60), &program, &program)?.exists(&long[..200]);
    assert!(
        matches!(err, Err(DatasetError::InvalidName { .. })),
        "{err:?}"
    );
    assert_eq!(
        calls(&log),
        Vec::<String>::new(),
        "no call may run for an invalid name"
    );

    for parent in ["", "tank/../x", "tank/ x", "-tank", "1tank", "tank@snap"] {
        let err = ZfsBackend::with_programs(parent, &program, &program).expect_err("bad parent");
        assert!(
            matches!(
                err,
                DatasetError::InvalidName {
                    kind: NameKind::ZfsParent,
                    ..
                }
            ),
            "{parent:?}: {err}"
        );
    }
    assert_eq!(calls(&log), Vec::<String>::new());
    Ok(())
}

#[test]
fn a_failed_command_carries_its_command_line_and_stderr() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (program, log) = fake_zfs(dir.path())?;
    let b = ZfsBackend::with_programs("tank/honeygraph", &program, &program)?;
    let err = b.snapshot("HIVE", "b100").expect_err("the fake fails");
    match &err {
        DatasetError::Command {
            command,
            status,
            stderr,
        } => {
            assert_eq!(command, "zfs snapshot -r tank/honeygraph/HIVE@b100");
            assert!(status.contains('2'), "{status}");
            assert_eq!(
                stderr,
                "cannot open 'tank/honeygraph/HIVE@b100': permission denied (fake zfs)"
            );
        }
        other => panic!("expected a command error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("zfs snapshot -r tank/honeygraph/HIVE@b100")
            && text.contains("permission denied"),
        "{text}"
    );
    // Arguments are passed one by one, not through a shell.
    assert_eq!(calls(&log), ["snapshot -r tank/honeygraph/HIVE@b100"]);
    Ok(())
}

#[test]
fn a_missing_zfs_program_is_reported() -> TestResult {
    let b = ZfsBackend::with_programs("tank/honeygraph", "/nonexistent/zfs", "/nonexistent/zpool")?;
    let err = b.exists("HIVE").expect_err("no program");
    assert!(
        matches!(&err, DatasetError::Spawn { command, .. } if command == "zfs list -H -o name tank/honeygraph/HIVE"),
        "{err}"
    );
    Ok(())
}
