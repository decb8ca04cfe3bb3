//! The sandbox's behaviours, through real HTTP: what the demo and the tests rely on.

use patchbay::connectors::webhook::{SIGNATURE_HEADER, signature};
use patchbay::sandbox::{Sandbox, credentials};
use serde_json::Value;

fn client() -> reqwest::Client {
    patchbay::runtime::http::install_tls_provider();
    reqwest::Client::new()
}

async fn get(client: &reqwest::Client, url: String) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn collections_paginate_in_each_style() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let client = client();
    let base = sandbox.url();

    let (status, _, _) = get(&client, format!("{base}/api/users")).await;
    assert_eq!(status, 401, "users need the API key");
    let users: Value = client
        .get(format!("{base}/api/users?limit=2&cursor=10"))
        .header("X-Api-Key", credentials::API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(users["users"][0]["id"], 11);
    assert_eq!(users["next_cursor"], "12");

    let (_, _, body) = get(&client, format!("{base}/api/orders?page=2&per_page=50")).await;
    let orders: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(orders["data"].as_array().unwrap().len(), 50);
    assert_eq!(orders["total_pages"], 60);
    let (_, _, body) = get(
        &client,
        format!("{base}/api/orders?updated_since=2999-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let (_, headers, _) = get(&client, format!("{base}/api/events?page=1")).await;
    assert_eq!(headers["link"], "</api/events?page=2>; rel=\"next\"");
    let (_, headers, _) = get(&client, format!("{base}/api/events?page=12")).await;
    assert!(
        headers.get("link").is_none(),
        "the last page has no next link"
    );

    let (status, _, _) = get(&client, format!("{base}/api/tickets")).await;
    assert_eq!(status, 401);
    let tickets: Value = client
        .get(format!("{base}/api/tickets?offset=790&limit=50"))
        .basic_auth(credentials::BASIC_USER, Some(credentials::BASIC_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tickets["tickets"].as_array().unwrap().len(), 10);
    sandbox.stop().await;
}

#[tokio::test]
async fn trouble_endpoints_fail_for_their_reasons() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let client = client();
    let base = sandbox.url();
    assert_eq!(get(&client, format!("{base}/api/private")).await.0, 401);
    let ok = client
        .get(format!("{base}/api/private"))
        .bearer_auth(credentials::PRIVATE_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get(&client, format!("{base}/api/flaky")).await.0);
    }
    assert_eq!(statuses, [200, 200, 503, 200, 200, 500]);
    let mut limited = Vec::new();
    for _ in 0..6 {
        limited.push(get(&client, format!("{base}/api/limited")).await);
    }
    assert!(limited[..5].iter().all(|(s, _, _)| *s == 200));
    assert_eq!(limited[5].0, 429);
    assert!(
        limited[5].1["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let (_, _, body) = get(&client, format!("{base}/api/broken")).await;
    assert!(serde_json::from_str::<Value>(&body).is_err());
    sandbox.stop().await;
}

#[tokio::test]
async fn the_webhook_sink_accepts_only_valid_signatures() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let client = client();
    let url = format!("{}/sink/webhook", sandbox.url());
    let body = br#"[{"id":1},{"id":2}]"#.to_vec();
    let now = chrono::Utc::now().timestamp();
    let good = signature(credentials::WEBHOOK_SIGNING_KEY.as_bytes(), now, &body);
    let bad = signature(b"wrong-key", now, &body);
    let stale = signature(
        credentials::WEBHOOK_SIGNING_KEY.as_bytes(),
        now - 3600,
        &body,
    );
    for (header, expected) in [(good, 204), (bad, 401), (stale, 401)] {
        let response = client
            .post(&url)
            .header(SIGNATURE_HEADER, header)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected);
    }
    let stats = sandbox.state.sink_stats();
    assert_eq!(
        (
            stats.webhook_deliveries,
            stats.webhook_records,
            stats.webhook_rejected
        ),
        (1, 2, 2)
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn oauth_rotates_refresh_tokens_and_approves_devices_after_polls() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let client = client();
    let token_url = format!("{}/oauth/token", sandbox.url());
    let refresh = |token: String| {
        let client = client.clone();
        let url = token_url.clone();
        async move {
            client
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let first: Value = refresh(credentials::INITIAL_REFRESH_TOKEN.into())
        .await
        .json()
        .await
        .unwrap();
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        refresh(credentials::INITIAL_REFRESH_TOKEN.into())
            .await
            .status(),
        400,
        "used once only"
    );
    assert_eq!(refresh(rotated.clone()).await.status(), 200);
    assert_eq!(refresh(rotated).await.status(), 400, "rotated away");

    let access = first["access_token"].as_str().unwrap();
    let secure = client
        .get(format!("{}/api/secure", sandbox.url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(secure.status(), 200);

    let device: Value = client
        .post(format!("{}/oauth/device", sandbox.url()))
        .form(&[("client_id", credentials::CLIENT_ID)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = device["device_code"].as_str().unwrap();
    let poll = || {
        client
            .post(&token_url)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", code),
            ])
            .send()
    };
    let pending: Value = poll().await.unwrap().json().await.unwrap();
    assert_eq!(pending["error"], "authorization_pending");
    poll().await.unwrap();
    let approved: Value = poll().await.unwrap().json().await.unwrap();
    assert!(approved["access_token"].is_string());
    sandbox.stop().await;
}

/// The guide that `patchbay sandbox` prints and `/` serves lists only routes that
/// exist, and `/` answers with it.
#[tokio::test]
async fn the_guide_names_real_routes_and_is_served_at_the_root() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    patchbay::runtime::http::install_tls_provider();
    let client = reqwest::Client::new();
    let index = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let text = index.text().await.unwrap();
    assert!(
        text.starts_with(&format!("patchbay sandbox at {base}")),
        "{text}"
    );
    for endpoint in patchbay::sandbox::guide::ENDPOINTS {
        let url = format!("{base}{}", endpoint.path);
        let request = match endpoint.method {
            "GET" => client.get(url),
            _ => client
                .post(url)
                .header("content-type", "application/json")
                .body("{}"),
        };
        let status = request.send().await.unwrap().status().as_u16();
        assert!(
            ![404, 405].contains(&status),
            "{} {} answered {status}",
            endpoint.method,
            endpoint.path
        );
        assert!(text.contains(endpoint.path));
    }
    sandbox.stop().await;
}
