//! The admin routes for checkpoints, rollback and replay: the admin token,
//! body checks, and what reaches `Control`.

mod support;

use serde_json::{json, Value};
use support::*;

const ADMIN: &str = "s3cret-admin";

async fn post(f: &Fixture, path: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    send(f, reqwest::Method::POST, path, token, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_needs_the_admin_token() {
    let f = Fixture::start(Some(ADMIN)).await;
    for path in [
        "/admin/tokens/TEST/snapshot",
        "/admin/tokens/TEST/rollback",
        "/admin/tokens/TEST/replay",
    ] {
        let (status, body) = post(&f, path, None, Some(&json!({"toBlock": 1}))).await;
        assert_error(status, &body, 401, "UNAUTHORIZED");
        let (status, body) = post(&f, path, Some("wrong"), Some(&json!({"toBlock": 1}))).await;
        assert_error(status, &body, 403, "FORBIDDEN");
    }
    let response = f
        .client
        .get(f.url("/admin/tokens/TEST/snapshots"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        f.control.admin_calls.lock().unwrap().is_empty(),
        "nothing may run without the token"
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_rollback_and_replay_reach_control() {
    let f = Fixture::start(Some(ADMIN)).await;
    let (status, body) = post(&f, "/admin/tokens/test/snapshot", Some(ADMIN), None).await;
    assert_eq!((status, &body["name"]), (201, &json!("b45")), "{body}");

    let response = f
        .client
        .get(f.url("/admin/tokens/TEST/snapshots"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["snapshots"][0]["name"], "b45");

    let (status, body) = post(
        &f,
        "/admin/tokens/TEST/rollback",
        Some(ADMIN),
        Some(&json!({"toBlock": 20})),
    )
    .await;
    assert_eq!((status, &body["block"]), (200, &json!(20)), "{body}");
    let (status, body) = post(
        &f,
        "/admin/tokens/TEST/rollback",
        Some(ADMIN),
        Some(&json!({"toBlock": 10, "fromCheckpoint": true})),
    )
    .await;
    assert_eq!((status, &body["block"]), (200, &json!(10)), "{body}");

    // Replay takes an optional body: none, or either field.
    let (status, _) = post(&f, "/admin/tokens/TEST/replay", Some(ADMIN), None).await;
    assert_eq!(status, 200);
    let body = json!({"fromSnapshot": "b45", "toBlock": 40});
    let (status, answer) = post(&f, "/admin/tokens/TEST/replay", Some(ADMIN), Some(&body)).await;
    assert_eq!(status, 200, "{answer}");

    let calls = f.control.admin_calls.lock().unwrap().clone();
    let calls: Vec<(&str, &str, &str)> = calls
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("checkpoint", "TEST", ""),
            ("rollback", "TEST", "20"),
            ("rollback", "TEST", "10 from a checkpoint"),
            ("replay", "TEST", "None None"),
            ("replay", "TEST", "Some(\"b45\") Some(40)"),
        ]
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_admin_requests_get_clear_errors() {
    let f = Fixture::start(Some(ADMIN)).await;
    let cases = [
        (
            "/admin/tokens/TEST/rollback",
            Some(json!({})),
            400,
            "INVALID_JSON",
        ),
        (
            "/admin/tokens/TEST/rollback",
            Some(json!({"toBlock": -1})),
            400,
            "INVALID_JSON",
        ),
        (
            "/admin/tokens/TEST/rollback",
            Some(json!({"toBlock": "ten"})),
            400,
            "INVALID_JSON",
        ),
        (
            "/admin/tokens/TEST/rollback",
            Some(json!({"toBlock": 5, "extra": 1})),
            400,
            "INVALID_JSON",
        ),
        (
            "/admin/tokens/TEST/rollback",
            Some(json!({"toBlock": 5, "fromCheckpoint": "yes"})),
            400,
            "INVALID_JSON",
        ),
        (
            "/admin/tokens/TEST/rollback",
            Some(json!({"toBlock": 99})),
            400,
            "INVALID_FIELD",
        ),
        (
            "/admin/tokens/NOPE/rollback",
            Some(json!({"toBlock": 5})),
            404,
            "TOKEN_NOT_FOUND",
        ),
        ("/admin/tokens/NOPE/snapshot", None, 404, "TOKEN_NOT_FOUND"),
        (
            "/admin/tokens/TEST/replay",
            Some(json!({"toBlock": 1.5})),
            400,
            "INVALID_JSON",
        ),
    ];
    for (path, body, want_status, want_code) in cases {
        let (status, answer) = post(&f, path, Some(ADMIN), body.as_ref()).await;
        assert_error(status, &answer, want_status, want_code);
    }
    // A body that is not JSON is refused by its content type.
    let response = f
        .client
        .post(f.url("/admin/tokens/TEST/rollback"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/plain")
        .body("toBlock=5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    assert!(f.control.admin_calls.lock().unwrap().is_empty());
    f.stop().await;
}
