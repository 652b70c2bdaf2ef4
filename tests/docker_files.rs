//! `docker/` without a Docker engine: every YAML and JSON file parses and
//! wires what it should, every metric the Grafana dashboard queries is one
//! the real server exports (after a run against the simulated chain that
//! makes every kind of event happen), and `promtool check config` accepts
//! the Prometheus configuration when promtool is installed.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{wait_until, Server};
use hivesim::{Faults, SimConfig, SimNode};
use serde_json::{json, Value};

fn docker(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docker")
        .join(path)
}

fn yaml(path: &str) -> serde_norway::Value {
    let text = std::fs::read_to_string(docker(path)).expect("read YAML");
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("docker/{path} is not YAML: {e}"))
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(docker("grafana/dashboards/honeygraph.json"))
        .expect("read the dashboard");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every PromQL expression of the dashboard (panels, rows' panels, variables).
fn expressions(dashboard: &Value) -> Vec<String> {
    fn panels(list: &Value, out: &mut Vec<String>) {
        for panel in list.as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push(expr.to_string());
                }
            }
            panels(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&dashboard["panels"], &mut out);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(query) = variable["query"]["query"].as_str() {
            out.push(query.to_string());
        }
    }
    out
}

/// The metric names an expression reads: ours all start with `honeygraph_`.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("honeygraph_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn compose_prometheus_and_grafana_files_parse_and_are_wired_together() {
    let compose = yaml("docker-compose.yml");
    let services = &compose["services"];
    let honeygraph = &services["honeygraph"];
    assert_eq!(honeygraph["build"]["context"].as_str(), Some(".."));
    assert_eq!(
        honeygraph["build"]["dockerfile"].as_str(),
        Some("docker/Dockerfile")
    );
    assert!(docker("Dockerfile").exists());
    assert!(services["prometheus"].is_mapping(), "no prometheus service");
    assert!(services["grafana"].is_mapping(), "no grafana service");
    let mounts: Vec<&str> = services["grafana"]["volumes"]
        .as_sequence()
        .expect("grafana volumes")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for (host, _) in mounts.iter().filter_map(|m| m.split_once(':')) {
        if host.starts_with("./") {
            assert!(docker(host).exists(), "grafana mounts missing {host}");
        }
    }

    let prometheus = yaml("prometheus/prometheus.yml");
    let job = prometheus["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs")
        .iter()
        .find(|j| j["job_name"].as_str() == Some("honeygraph"))
        .expect("a honeygraph scrape job");
    assert_eq!(job["metrics_path"].as_str(), Some("/metrics"));
    assert_eq!(
        job["static_configs"][0]["targets"][0].as_str(),
        Some("honeygraph:4000")
    );

    let datasources = yaml("grafana/provisioning/datasources/prometheus.yml");
    let source = &datasources["datasources"][0];
    assert_eq!(source["type"].as_str(), Some("prometheus"));
    assert_eq!(source["url"].as_str(), Some("http://prometheus:9090"));
    let providers = yaml("grafana/provisioning/dashboards/honeygraph.yml");
    assert_eq!(
        providers["providers"][0]["options"]["path"].as_str(),
        Some("/var/lib/grafana/dashboards")
    );

    // Every panel queries the provisioned datasource.
    let dashboard = dashboard();
    let uid = source["uid"].as_str().expect("datasource uid");
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] != "row" {
            assert_eq!(panel["datasource"]["uid"], uid, "{}", panel["title"]);
        }
    }
    assert!(expressions(&dashboard).len() > 10);
}

#[test]
fn promtool_accepts_the_prometheus_config() {
    let config = docker("prometheus/prometheus.yml");
    match Command::new("promtool")
        .args(["check", "config"])
        .arg(&config)
        .output()
    {
        Err(_) => eprintln!("promtool is not installed: skipped `promtool check config`"),
        Ok(output) => assert!(
            output.status.success(),
            "promtool check config failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

fn metrics_text(server: &Server) -> String {
    reqwest::blocking::get(server.url("/metrics"))
        .and_then(|r| r.text())
        .expect("GET /metrics")
}

/// The dashboard's metric names that `/metrics` does not show.
fn missing(wanted: &BTreeSet<String>, text: &str) -> Vec<String> {
    wanted
        .iter()
        .filter(|name| {
            !text.lines().any(|line| {
                line.strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            })
        })
        .cloned()
        .collect()
}

#[test]
fn every_metric_the_dashboard_plots_is_exported_by_the_server() {
    let dashboard = dashboard();
    let mut wanted = BTreeSet::new();
    for expr in expressions(&dashboard) {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "no honeygraph metric in `{expr}`");
        wanted.extend(names);
    }

    // Head mode, checkpoints, a fork, RPC errors and an operator rollback:
    // every event the dashboard plots happens at least once.
    let sim = SimNode::start_in_background(SimConfig {
        seed: 31,
        history: 400,
        block_interval: None,
        irreversible_lag: 30,
        prefixes: vec!["dash_".to_string()],
        token_ops_per_block: 4.0,
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        dir.path(),
        &sim.url(),
        &[
            ("HONEYGRAPH_FOLLOW", "head"),
            ("HONEYGRAPH_CHECKPOINT_EVERY", "50"),
        ],
    );
    let balances: serde_json::Map<String, Value> = sim
        .accounts()
        .into_iter()
        .map(|a| (a, json!(1_000_000)))
        .collect();
    let (status, answer) = server.post(
        "/registry/tokens",
        &json!({"symbol": "DASH", "opPrefix": "dash_", "startBlock": sim.first_block(),
                "genesis": {"balances": balances}}),
    );
    assert_eq!(status, 201, "{answer}");
    let at_head = |server: &Server| {
        let (status, state) = server.get("/DASH/state");
        status == 200 && state["lastBlock"] == sim.head()
    };
    wait_until("DASH at the head", Duration::from_secs(120), || {
        at_head(&server).then_some(())
    });

    sim.fork(5).expect("fork");
    sim.advance(1);
    sim.set_faults(Faults {
        rpc_error_rate: 0.3,
        ..Faults::default()
    });
    sim.advance(3);
    wait_until("a reorg and an RPC error", Duration::from_secs(60), || {
        let text = metrics_text(&server);
        (text.contains("honeygraph_reorgs_total{") && text.contains("honeygraph_rpc_errors_total{"))
            .then_some(())
    });
    sim.set_faults(Faults::default());
    wait_until("DASH back at the head", Duration::from_secs(60), || {
        at_head(&server).then_some(())
    });
    let (status, report) = server.post(
        "/admin/tokens/DASH/rollback",
        &json!({"toBlock": sim.head() - 3}),
    );
    assert_eq!(status, 200, "{report}");
    let (status, report) = server.post("/admin/tokens/DASH/replay", &json!({}));
    assert_eq!(status, 200, "{report}");
    // A request of every kind the HTTP panels break down.
    let _ = server.get("/DASH/balance/nobody-here");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let absent = missing(&wanted, &metrics_text(&server));
        if absent.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dashboard queries metrics the server does not export: {absent:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
