//! The registry routes: reads, the admin token, and writes through a fake
//! `Control`.

mod support;

use serde_json::json;
use support::*;

const ADMIN: &str = "s3cret-admin";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_need_no_token() {
    let f = Fixture::start(Some(ADMIN)).await;
    let (status, body) = f.get("/registry/tokens").await;
    assert_eq!(status, 200, "{body}");
    let tokens = body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0]["symbol"], "TEST");
    for key in [
        "contractAddress",
        "opPrefix",
        "startBlock",
        "powerDownInterval",
        "features",
        "genesis",
        "decimals",
    ] {
        assert!(tokens[0].get(key).is_some(), "missing {key}: {}", tokens[0]);
    }
    let (status, body) = f.get("/registry/tokens/zero").await;
    assert_eq!((status, body["decimals"].as_u64()), (200, Some(0)));
    let (status, body) = f.get("/registry/tokens/NOPE").await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_the_admin_token() {
    let f = Fixture::start(Some(ADMIN)).await;
    let spec = json!({"symbol": "NEW"});
    let (status, body) = send(
        &f,
        reqwest::Method::POST,
        "/registry/tokens",
        None,
        Some(&spec),
    )
    .await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    let (status, body) = send(
        &f,
        reqwest::Method::POST,
        "/registry/tokens",
        Some("wrong"),
        Some(&spec),
    )
    .await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (status, body) = send(
        &f,
        reqwest::Method::PUT,
        "/registry/tokens/TEST",
        Some(&format!("{ADMIN}x")),
        Some(&json!({"name": "x"})),
    )
    .await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (status, body) = send(
        &f,
        reqwest::Method::DELETE,
        "/registry/tokens/TEST",
        None,
        None,
    )
    .await;
    assert_error(status, &body, 401, "UNAUTHORIZED");
    assert_eq!(
        f.control.tokens.lock().unwrap().len(),
        2,
        "nothing was written"
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_writes_are_disabled() {
    let f = Fixture::start(None).await;
    let (status, body) = send(
        &f,
        reqwest::Method::POST,
        "/registry/tokens",
        Some("anything"),
        Some(&json!({"symbol": "NEW"})),
    )
    .await;
    assert_error(status, &body, 403, "FORBIDDEN");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{body}"
    );
    let (status, body) = send(
        &f,
        reqwest::Method::DELETE,
        "/registry/tokens/TEST",
        None,
        None,
    )
    .await;
    assert_error(status, &body, 403, "FORBIDDEN");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_update_and_delete() {
    let f = Fixture::start(Some(ADMIN)).await;
    let spec = json!({"symbol": "NEW", "decimals": 2, "genesis": {"balances": {"alice": "100"}}});
    let (status, body) = send(
        &f,
        reqwest::Method::POST,
        "/registry/tokens",
        Some(ADMIN),
        Some(&spec),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            body["symbol"].as_str(),
            body["opPrefix"].as_str(),
            body["startBlock"].as_u64()
        ),
        (Some("NEW"), Some("new_"), Some(100))
    );
    let (status, body) = send(
        &f,
        reqwest::Method::POST,
        "/registry/tokens",
        Some(ADMIN),
        Some(&spec),
    )
    .await;
    assert_error(status, &body, 409, "CONFLICT");
    let (status, body) = send(
        &f,
        reqwest::Method::POST,
        "/registry/tokens",
        Some(ADMIN),
        Some(&json!({"symbol": "x"})),
    )
    .await;
    assert_error(status, &body, 400, "INVALID_FIELD");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("symbol"),
        "{body}"
    );
    let (status, body) = send(
        &f,
        reqwest::Method::POST,
        "/registry/tokens",
        Some(ADMIN),
        Some(&json!({"symbol": "ABC", "colour": 1})),
    )
    .await;
    assert_error(status, &body, 400, "INVALID_JSON");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );

    let (status, body) = send(
        &f,
        reqwest::Method::PUT,
        "/registry/tokens/new",
        Some(ADMIN),
        Some(&json!({"name": "Brand New", "features": {"staking": false}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["name"].as_str(), body["features"]["staking"].as_bool()),
        (Some("Brand New"), Some(false))
    );
    assert_eq!(body["genesis"]["balances"]["alice"], 100);
    for field in ["opPrefix", "symbol", "startBlock"] {
        let (status, body) = send(
            &f,
            reqwest::Method::PUT,
            "/registry/tokens/NEW",
            Some(ADMIN),
            Some(&json!({field: "x"})),
        )
        .await;
        assert_error(status, &body, 400, "INVALID_FIELD");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{body}"
        );
    }
    let (status, body) = send(
        &f,
        reqwest::Method::PUT,
        "/registry/tokens/NEW",
        Some(ADMIN),
        Some(&json!({"decimals": 12})),
    )
    .await;
    assert_error(status, &body, 400, "INVALID_FIELD");
    let (status, body) = send(
        &f,
        reqwest::Method::PUT,
        "/registry/tokens/NONE",
        Some(ADMIN),
        Some(&json!({"name": "x"})),
    )
    .await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");

    let (status, body) = send(
        &f,
        reqwest::Method::DELETE,
        "/registry/tokens/new?purge=true",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"symbol": "NEW", "removed": true, "purged": true})
    );
    assert_eq!(
        f.control.removed.lock().unwrap().as_slice(),
        [("NEW".to_string(), true)]
    );
    let (status, body) = send(
        &f,
        reqwest::Method::DELETE,
        "/registry/tokens/NEW",
        Some(ADMIN),
        None,
    )
    .await;
    assert_error(status, &body, 404, "TOKEN_NOT_FOUND");
    let (status, body) = send(
        &f,
        reqwest::Method::DELETE,
        "/registry/tokens/TEST?purge=maybe",
        Some(ADMIN),
        None,
    )
    .await;
    assert_error(status, &body, 400, "INVALID_PARAMETER");
    let (status, _) = f.get("/registry/tokens/NEW").await;
    assert_eq!(status, 404);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_checked() {
    let f = Fixture::start(Some(ADMIN)).await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        f.client
            .post(f.url("/registry/tokens"))
            .bearer_auth(ADMIN)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = post("application/json", b"{\"symbol\": ".to_vec())
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(status, &response.json().await.unwrap(), 400, "INVALID_JSON");
    let response = post("text/plain", b"{}".to_vec()).await.unwrap();
    let status = response.status().as_u16();
    assert_error(
        status,
        &response.json().await.unwrap(),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    );
    // The server answers 413 as soon as it sees the Content-Length and
    // closes without reading the body, so the client may still be writing
    // and see the connection cut instead of the answer. Neither is ever an
    // acceptance; at least one of a few tries must read the 413 itself.
    let big = format!("{{\"description\": \"{}\"}}", "x".repeat((1 << 20) + 1024));
    let mut answered = 0;
    for _ in 0..5 {
        match post("application/json; charset=utf-8", big.clone().into_bytes()).await {
            Ok(response) => {
                let status = response.status().as_u16();
                assert_error(
                    status,
                    &response.json().await.unwrap(),
                    413,
                    "PAYLOAD_TOO_LARGE",
                );
                answered += 1;
            }
            Err(e) => assert!(
                e.is_request(),
                "only a cut connection may replace the 413: {e}"
            ),
        }
    }
    assert!(answered > 0, "no try read the 413 answer");
    f.stop().await;
}
