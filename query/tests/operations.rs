//! `/health`, `/ready` and `/metrics`.

mod support;

use state::TokenStatus;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_ok() {
    let f = Fixture::start(None).await;
    let (status, body) = f.get("/health").await;
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_needs_every_token_live_and_caught_up() {
    let f = Fixture::start(None).await;
    let test = f.catalog.get("TEST").unwrap();
    let zero = f.catalog.get("ZERO").unwrap();

    // both backfilling
    let (status, body) = f.get("/ready").await;
    assert_error(status, &body, 503, "NOT_READY");
    assert_eq!(body["lagging"].as_array().unwrap().len(), 2, "{body}");

    // TEST live but 5 blocks behind its head (50 vs cursor 45)
    test.set_status(TokenStatus::Live, None);
    zero.set_status(TokenStatus::Live, None);
    let (status, body) = f.get("/ready").await;
    assert_eq!(status, 503, "{body}");
    let lagging = body["lagging"].as_array().unwrap();
    assert_eq!(lagging.len(), 1, "{body}");
    assert_eq!(
        (lagging[0]["symbol"].as_str(), lagging[0]["behind"].as_u64()),
        (Some("TEST"), Some(5))
    );

    test.set_chain_heads(47, 40);
    let (status, body) = f.get("/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");

    // a busy token is not ready
    let projection = test.take_projection().unwrap();
    let (status, _) = f.get("/ready").await;
    assert_eq!(status, 503);
    test.set_projection(projection);
    test.set_status(TokenStatus::Failed, Some("disk full".into()));
    let (status, body) = f.get("/ready").await;
    assert_eq!(status, 503);
    assert_eq!(body["lagging"][0]["error"], "disk full");
    let (_, state) = f.get("/test/state").await;
    assert_eq!(
        (state["status"].as_str(), state["error"].as_str()),
        (Some("failed"), Some("disk full"))
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_has_a_route_histogram() {
    let f = Fixture::start(None).await;
    for _ in 0..3 {
        let (status, _) = f.get("/test/state").await;
        assert_eq!(status, 200);
    }
    let (status, _) = f.get("/nope/state").await;
    assert_eq!(status, 404);
    let response = f.client.get(f.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("honeygraph_http_request_duration_seconds_bucket{")
                && l.contains(r#"route="/:token/state""#)
                && l.contains(r#"method="GET""#)
                && l.contains(r#"status="200""#)
        })
        .unwrap_or_else(|| panic!("no route histogram in:\n{text}"));
    assert!(line.contains("le="), "{line}");
    assert!(text.contains(r#"status="404""#), "{text}");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_server() {
    let f = Fixture::start(None).await;
    let url = f.url("/health");
    f.stop().await;
    assert!(reqwest::get(url).await.is_err(), "the port still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_answers_429_but_spares_probes() {
    // One request per second with bursts of 3: the burst passes, and a run
    // of immediate requests soon exhausts the quota.
    let f = Fixture::start_with(None, Some((1, 3))).await;
    for _ in 0..3 {
        let (status, body) = f.get("/test/state").await;
        assert_eq!(status, 200, "{body}");
    }
    let mut refused = None;
    for _ in 0..20 {
        let (status, body) = f.get("/test/state").await;
        if status != 200 {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("the limit never applied");
    assert_error(status, &body, 429, "RATE_LIMITED");
    let (status, _) = f.get("/health").await;
    assert_eq!(status, 200);
    let (status, _) = f.get("/ready").await;
    assert_eq!(status, 503, "probes are answered, not limited");
    f.stop().await;
}
