//! The smoke version of the bench (`honeygraph bench --quick`) that CI
//! runs: every figure is measured on small sizes, with a baseline where the
//! issue names one. No timing is asserted: CI machines are shared.

use bench::{BenchOptions, Report};

#[test]
fn quick_bench_measures_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let report: Report = bench::run(&BenchOptions {
        quick: true,
        dir: Some(dir.path().to_path_buf()),
        only: Vec::new(),
    })
    .unwrap();
    for id in 1..=6 {
        let figure = report
            .figure(id)
            .unwrap_or_else(|| panic!("figure {id} missing"));
        assert!(
            figure.value.is_finite() && figure.value > 0.0,
            "figure {id} has no value: {figure}"
        );
        assert!(!figure.target.is_empty());
    }
    for id in [1, 2, 3] {
        let ratio = report.figure(id).unwrap().ratio();
        assert!(
            ratio.is_some_and(|r| r.is_finite() && r > 0.0),
            "figure {id} has no ratio to its baseline"
        );
    }
    // The rollback figure covers three history sizes and how they compare.
    let rollback = report.figure(4).unwrap();
    assert_eq!(rollback.details.len(), 4, "{rollback}");
    assert!(rollback.details[3].contains("the fastest's"), "{rollback}");
    // Everything the bench wrote was thrown away.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
