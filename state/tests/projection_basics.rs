//! The LMDB projection: persistence, atomic apply, and every query.

mod contract_support;

use contract_support::*;
use state::contract::{MemLedger, Outcome, Reject};
use state::projection::{AccountState, ProjectionOptions, TransferQuery};
use state::{LogRecord, Projection, StateError, TokenConfig};

fn open(dir: &std::path::Path, config: &TokenConfig) -> Projection {
    Projection::open_with(
        dir,
        config,
        &ProjectionOptions {
            map_size: 1 << 30,
            ..Default::default()
        },
    )
    .expect("opens")
}

/// The accounts of a rich-list or by-name page, in order.
fn names(entries: &[state::projection::RichEntry]) -> Vec<String> {
    entries.iter().map(|e| e.account.clone()).collect()
}

fn apply(p: &Projection, records: &[LogRecord]) {
    let after = p.meta().expect("meta").log_records + records.len() as u64;
    p.apply(records, after).expect("applies");
}

#[test]
fn a_new_projection_holds_the_genesis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), &config());
    let meta = p.meta().expect("meta");
    let mem = MemLedger::new(&config()).meta();
    assert_eq!(meta, mem);
    assert_eq!(
        (
            meta.supply,
            meta.holders,
            meta.accounts,
            meta.log_records,
            meta.cursor
        ),
        (1700, 3, 3, 0, None)
    );
    assert_eq!(meta.contract_version, state::contract::CONTRACT_VERSION);
    let (bob, cursor) = p.account("bob").expect("account");
    assert_eq!((bob.power, cursor), (500, None));
    assert_eq!(
        p.account("nobody").expect("account").0,
        AccountState::default()
    );
    assert_eq!(
        p.account(&"x".repeat(600)).expect("account").0,
        AccountState::default()
    );
}

#[test]
fn reopening_keeps_everything_and_does_not_reapply_genesis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = LogBuilder::new();
    log.at(7)
        .op("send", "alice", r#"{"to":"dave","amount":100}"#)
        .end();
    let (meta, transfers) = {
        let p = open(dir.path(), &config());
        apply(&p, &log.take());
        (
            p.meta().expect("meta"),
            p.transfers(&TransferQuery {
                limit: 10,
                ..Default::default()
            })
            .expect("page"),
        )
    };
    let p = open(dir.path(), &config());
    assert_eq!(p.meta().expect("meta"), meta);
    assert_eq!(meta.cursor.as_ref().map(|c| c.num), Some(7));
    assert_eq!(meta.log_records, 2);
    assert_eq!(p.account("alice").expect("account").0.balance, 900);
    assert_eq!(
        p.transfers(&TransferQuery {
            limit: 10,
            ..Default::default()
        })
        .expect("page"),
        transfers
    );
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _p = open(dir.path(), &config());
    let err = Projection::open(dir.path(), &config()).expect_err("already open");
    assert!(matches!(err, StateError::Lmdb { .. }), "{err}");
}

#[test]
fn a_refused_batch_leaves_state_cursor_and_position_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), &config());
    let mut log = LogBuilder::new();
    log.at(7)
        .op("send", "alice", r#"{"to":"dave","amount":100}"#)
        .end();
    apply(&p, &log.take());
    let before = p.meta().expect("meta");
    let books_before = p.books().expect("books");

    // valid operations first, then one that goes back in the chain
    let mut bad = LogBuilder::new();
    bad.at(8)
        .op("send", "alice", r#"{"to":"dave","amount":100}"#)
        .op("power_up", "alice", r#"{"amount":5}"#);
    let mut records = bad.take();
    records.push(LogRecord::Op(op_at(
        6,
        0,
        0,
        "send",
        "alice",
        Auth::Active,
        r#"{"to":"dave","amount":1}"#,
    )));
    records.push(end(8));
    let err = p.apply(&records, 99).expect_err("out of order");
    assert!(matches!(err, StateError::InvalidArgument(_)), "{err}");
    assert_eq!(p.meta().expect("meta"), before);
    assert_eq!(p.books().expect("books"), books_before);
    assert_eq!(p.account("alice").expect("account").0.balance, 900);
    assert_eq!(
        p.transfers(&TransferQuery {
            limit: 10,
            ..Default::default()
        })
        .expect("page")
        .transfers
        .len(),
        1
    );
    assert!(p.ops(&trx_id(8, 0)).expect("ops").is_empty());

    // the same records without the bad one apply
    records.remove(2);
    p.apply(&records, 5).expect("in order now");
    assert_eq!(p.meta().expect("meta").log_records, 5);
    assert_eq!(
        p.account("alice").expect("account").0,
        AccountState {
            balance: 795,
            power: 5,
            ..Default::default()
        }
    );
}

/// A token with many transfers between four accounts over blocks 10..=29.
fn busy() -> (tempfile::TempDir, Projection, MemLedger) {
    let (dir, p, mem, _) = busy_until(30);
    (dir, p, mem)
}

/// [`busy`] over blocks `10..end`, with its log.
fn busy_until(end: u64) -> (tempfile::TempDir, Projection, MemLedger, Vec<LogRecord>) {
    let cfg = config_with(
        genesis(&[
            ("alice", 10_000, 0),
            ("bob", 10_000, 0),
            ("carol", 10_000, 0),
        ]),
        10,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), &cfg);
    let mut mem = MemLedger::new(&cfg);
    let mut log = LogBuilder::new();
    let names = ["alice", "bob", "carol", "dave"];
    for block in 10..end {
        log.at(block);
        for i in 0..3u64 {
            let from = names[((block + i) % 3) as usize];
            let to = names[((block * 7 + i) % 4) as usize];
            log.op(
                "send",
                from,
                &format!(r#"{{"to":"{to}","amount":{}}}"#, block + i),
            );
        }
        log.end();
    }
    let records = log.take();
    apply(&p, &records);
    mem.apply(&records).expect("in order");
    (dir, p, mem, records)
}

fn all_pages(p: &Projection, query: TransferQuery) -> Vec<state::projection::Transfer> {
    let mut out = Vec::new();
    let mut q = query;
    loop {
        let page = p.transfers(&q).expect("page");
        assert!(page.transfers.len() <= q.limit);
        out.extend(page.transfers);
        match page.next {
            Some(next) => q.cursor = Some(next),
            None => return out,
        }
    }
}

#[test]
fn transfers_newest_first_with_every_filter_and_page_size() {
    let (_dir, p, mem) = busy();
    let all: Vec<_> = mem.transfers().values().rev().cloned().collect();
    assert!(all.len() > 30);
    type Filter = fn(&state::projection::Transfer) -> bool;
    let cases: Vec<(TransferQuery, Filter)> = vec![
        (TransferQuery::default(), |_| true),
        (
            TransferQuery {
                account: Some("dave".into()),
                ..Default::default()
            },
            |t| t.from == "dave" || t.to == "dave",
        ),
        (
            TransferQuery {
                account: Some("alice".into()),
                ..Default::default()
            },
            |t| t.from == "alice" || t.to == "alice",
        ),
        (
            TransferQuery {
                from: Some("bob".into()),
                ..Default::default()
            },
            |t| t.from == "bob",
        ),
        (
            TransferQuery {
                to: Some("carol".into()),
                ..Default::default()
            },
            |t| t.to == "carol",
        ),
        (
            TransferQuery {
                from: Some("bob".into()),
                to: Some("dave".into()),
                ..Default::default()
            },
            |t| t.from == "bob" && t.to == "dave",
        ),
        (
            TransferQuery {
                account: Some("alice".into()),
                to: Some("bob".into()),
                ..Default::default()
            },
            |t| t.from == "alice" && t.to == "bob",
        ),
        (
            TransferQuery {
                from_block: Some(15),
                to_block: Some(20),
                ..Default::default()
            },
            |t| (15..=20).contains(&t.block),
        ),
        (
            TransferQuery {
                account: Some("bob".into()),
                from_block: Some(12),
                ..Default::default()
            },
            |t| t.block >= 12 && (t.from == "bob" || t.to == "bob"),
        ),
        (
            TransferQuery {
                to: Some("alice".into()),
                to_block: Some(18),
                ..Default::default()
            },
            |t| t.block <= 18 && t.to == "alice",
        ),
        (
            TransferQuery {
                from_block: Some(40),
                ..Default::default()
            },
            |_| false,
        ),
        (
            TransferQuery {
                from_block: Some(20),
                to_block: Some(19),
                ..Default::default()
            },
            |_| false,
        ),
        (
            TransferQuery {
                account: Some("nobody".into()),
                ..Default::default()
            },
            |_| false,
        ),
        (
            TransferQuery {
                account: Some("Not Valid".into()),
                ..Default::default()
            },
            |_| false,
        ),
    ];
    for (query, keep) in cases {
        let expected: Vec<_> = all.iter().filter(|t| keep(t)).cloned().collect();
        for limit in [1, 2, 7, 1000] {
            let got = all_pages(
                &p,
                TransferQuery {
                    limit,
                    ..query.clone()
                },
            );
            assert_eq!(got, expected, "{query:?} limit {limit}");
        }
    }
}

/// The per-account transfer index keeps an account's entries in chunks of
/// 64: pages, filters and block ranges that start, end or cut across
/// chunks answer as a scan of every transfer would, and so do an
/// account's figures as of each block.
#[test]
fn accounts_with_hundreds_of_transfers_page_filter_and_travel_in_time_like_a_scan() {
    let (_dir, p, mem, records) = busy_until(130);
    let all: Vec<_> = mem.transfers().values().rev().cloned().collect();
    let count = |name: &str| {
        all.iter()
            .filter(|t| t.from == name || t.to == name)
            .count()
    };
    assert!(count("dave") > 64 && count("alice") > 2 * 64);
    for name in ["alice", "bob", "carol", "dave"] {
        for (from_block, to_block) in [
            (None, None),
            (Some(40), Some(95)),
            (Some(57), None),
            (None, Some(64)),
        ] {
            let in_range = |t: &state::projection::Transfer| {
                from_block.is_none_or(|b| t.block >= b) && to_block.is_none_or(|b| t.block <= b)
            };
            let queries = [
                (
                    TransferQuery {
                        account: Some(name.into()),
                        ..Default::default()
                    },
                    0,
                ),
                (
                    TransferQuery {
                        from: Some(name.into()),
                        ..Default::default()
                    },
                    1,
                ),
                (
                    TransferQuery {
                        to: Some(name.into()),
                        ..Default::default()
                    },
                    2,
                ),
            ];
            for (query, kind) in queries {
                let expected: Vec<_> = all
                    .iter()
                    .filter(|t| in_range(t))
                    .filter(|t| match kind {
                        0 => t.from == name || t.to == name,
                        1 => t.from == name,
                        _ => t.to == name,
                    })
                    .cloned()
                    .collect();
                for limit in [1, 7, 64, 65, 1000] {
                    let query = TransferQuery {
                        limit,
                        from_block,
                        to_block,
                        ..query.clone()
                    };
                    assert_eq!(all_pages(&p, query.clone()), expected, "{query:?}");
                }
            }
        }
    }
    // Figures as of every block: a ledger fed the log up to that block.
    let mut upto = MemLedger::new(p.config());
    let mut at = 0;
    for block in 10..130u64 {
        while at < records.len() && records[at].block() <= block {
            at += 1;
        }
        upto = MemLedger::new(p.config());
        upto.apply(&records[..at]).expect("in order");
        for name in ["alice", "dave"] {
            assert_eq!(
                p.account_at(name, block).expect("as of"),
                upto.account_state(name),
                "{name} as of {block}"
            );
        }
    }
    assert_eq!(upto.account_state("dave"), mem.account_state("dave"));
}

#[test]
fn the_last_page_has_no_next_and_limit_zero_is_empty() {
    let (_dir, p, mem) = busy();
    let n = mem.transfers().len();
    let page = p
        .transfers(&TransferQuery {
            limit: n,
            ..Default::default()
        })
        .expect("page");
    assert_eq!((page.transfers.len(), page.next), (n, None));
    let page = p
        .transfers(&TransferQuery {
            limit: n - 1,
            ..Default::default()
        })
        .expect("page");
    assert!(page.next.is_some());
    let page = p
        .transfers(&TransferQuery {
            limit: 0,
            ..Default::default()
        })
        .expect("page");
    assert!(page.transfers.is_empty());
}

#[test]
fn foreign_cursors_are_invalid_arguments() {
    let (_dir, p, _) = busy();
    for bad in ["", "zz", "00", &"0".repeat(34), "not a cursor"] {
        let q = TransferQuery {
            limit: 5,
            cursor: Some(bad.to_string()),
            ..Default::default()
        };
        assert!(
            matches!(p.transfers(&q), Err(StateError::InvalidArgument(_))),
            "transfers {bad:?}"
        );
        assert!(
            matches!(
                p.richlist(5, Some(bad)),
                Err(StateError::InvalidArgument(_))
            ),
            "richlist {bad:?}"
        );
    }
}

/// An account left with nothing is no longer stored: it leaves the
/// accounts, the rich list and the holder count, and reads as empty.
#[test]
fn an_account_that_sends_everything_leaves_every_listing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), &config());
    let mut log = LogBuilder::new();
    log.at(7)
        .op("send", "alice", r#"{"to":"dave","amount":1000}"#)
        .end();
    apply(&p, &log.take());
    let by_name = p.accounts_by_name(100, None).expect("page");
    assert_eq!(names(&by_name.entries), ["bob", "carol", "dave"]);
    let rich = p.richlist(100, None).expect("page");
    assert_eq!(names(&rich.entries), ["dave", "bob", "carol"]);
    let meta = p.meta().expect("meta");
    assert_eq!((meta.supply, meta.holders, meta.accounts), (1700, 3, 3));
    assert_eq!(
        p.account("alice").expect("account").0,
        AccountState::default()
    );
}

#[test]
fn richlist_by_holding_then_name_with_paging() {
    let cfg = config_with(
        genesis(&[
            ("alice", 50, 50),
            ("bob", 100, 0),
            ("carol", 0, 100),
            ("dave", 7, 0),
            ("erin", 300, 0),
        ]),
        10,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), &cfg);
    let mut log = LogBuilder::new();
    log.at(5)
        .op("power_grant", "carol", r#"{"to":"frank","amount":60}"#) // frank: grants only, not a holder
        .op("send", "erin", r#"{"to":"dave","amount":293}"#) // dave 300, erin 7
        .end();
    apply(&p, &log.take());
    let full = p.richlist(100, None).expect("page");
    assert_eq!(
        names(&full.entries),
        ["dave", "alice", "bob", "carol", "erin"]
    );
    assert_eq!(full.next, None);
    assert_eq!(
        full.entries[3].state,
        AccountState {
            power: 100,
            granted_out: 60,
            ..Default::default()
        }
    );
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = p.richlist(2, after.as_deref()).expect("page");
        paged.extend(names(&page.entries));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, names(&full.entries));
    // export order: every stored account by name, grant-only ones included
    let by_name = p.accounts_by_name(100, None).expect("page");
    assert_eq!(
        names(&by_name.entries),
        ["alice", "bob", "carol", "dave", "erin", "frank"]
    );
    let first = p.accounts_by_name(4, None).expect("page");
    let rest = p.accounts_by_name(4, first.next.as_deref()).expect("page");
    assert_eq!(names(&rest.entries), ["erin", "frank"]);
    assert_eq!(rest.next, None);
}

#[test]
fn ops_by_transaction_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), &config());
    let trx = trx_id(9, 0);
    let ops = vec![
        LogRecord::Op(op_at(
            9,
            0,
            0,
            "send",
            "alice",
            Auth::Active,
            r#"{"to":"dave","amount":5}"#,
        )),
        LogRecord::Op(op_at(
            9,
            0,
            1,
            "send",
            "alice",
            Auth::Posting,
            r#"{"to":"dave","amount":5}"#,
        )),
        LogRecord::Op(op_at(9, 0, 3, "vote", "alice", Auth::Posting, r#"x"#)),
        LogRecord::Op(op_at(
            9,
            1,
            0,
            "send",
            "bob",
            Auth::Active,
            r#"{"to":"dave","amount":5}"#,
        )),
        end(9),
    ];
    apply(&p, &ops);
    let got = p.ops(&trx).expect("ops");
    let summary: Vec<(u32, &str, Outcome)> = got
        .iter()
        .map(|o| (o.op_index, o.name.as_str(), o.outcome))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, "send", Outcome::Applied),
            (
                1,
                "send",
                Outcome::Rejected(Reject::ActiveAuthorityRequired)
            ),
            (3, "vote", Outcome::Unsupported),
        ]
    );
    assert!(got
        .iter()
        .all(|o| o.trx_id == trx && o.block == 9 && o.sender.as_deref() == Some("alice")));
    assert_eq!(p.ops(&trx.to_uppercase()).expect("ops").len(), 3);
    let other = p.ops(&trx_id(9, 1)).expect("ops");
    assert_eq!(other.len(), 1);
    assert_eq!(
        other[0].outcome,
        Outcome::Rejected(Reject::InsufficientBalance)
    );
    assert!(p.ops("unknown").expect("ops").is_empty());
    assert!(p.ops(&"f".repeat(40)).expect("ops").is_empty());
}

#[test]
fn a_compacted_copy_opens_with_the_same_state() {
    let (_dir, p, mem) = busy();
    let copy_dir = tempfile::tempdir().expect("tempdir");
    p.copy_to(copy_dir.path()).expect("copies");
    assert!(p.disk_size().expect("size") > 0);
    let copy = open(copy_dir.path(), p.config());
    assert_eq!(copy.meta().expect("meta"), p.meta().expect("meta"));
    assert_eq!(copy.meta().expect("meta").state_hash, mem.meta().state_hash);
    assert_eq!(copy.env_path(), copy_dir.path());
    assert_eq!(
        all_pages(
            &copy,
            TransferQuery {
                limit: 50,
                ..Default::default()
            }
        ),
        all_pages(
            &p,
            TransferQuery {
                limit: 50,
                ..Default::default()
            }
        )
    );
}
