//! Servers that misbehave, as runs meet them: an endless body, a slow drip, a gzip
//! bomb, JSON nested past reason, bytes that are not UTF-8. Each run ends, bounded in
//! time and memory, as a classified failure with a fitting hint.

mod common;

use std::io::Write;
use std::time::Duration;

use common::harness::{Harness, run_once};
use patchbay::domain::run::{ErrorClass, RunRecord, RunStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn source(name: &str, url: &str) -> String {
    format!(
        "[settings]\nmax_response_bytes = 1048576\n\
         [[integration]]\nname = \"{name}\"\nkind = \"http\"\nevery = \"1h\"\nrequest_timeout = \"2s\"\nretry = {{ max_attempts = 1 }}\n\
         [integration.request]\nurl = \"{url}\"\n"
    )
}

async fn run_against(url: &str) -> RunRecord {
    let harness = Harness::new(&source("hostile", url));
    let engine = harness.start(false).await;
    let run = run_once(&engine, "hostile").await;
    engine.shutdown(Duration::ZERO).await;
    (*run).clone()
}

/// A raw HTTP server that answers every connection with `head`, then calls `body` to
/// write the rest, for answers no mock library sends.
async fn raw_server<F, Fut>(head: &'static str, body: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let body = std::sync::Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = std::sync::Arc::clone(&body);
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                if stream.write_all(head.as_bytes()).await.is_ok() {
                    body(stream).await;
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn an_endless_body_stops_at_max_response_bytes() {
    let url = raw_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        |mut stream| async move {
            let chunk = format!("{:x}\r\n{}\r\n", 65536, "[".repeat(65536));
            // Bounded so that the test ends whatever happens: 64 MiB, 64 times the limit.
            for _ in 0..1024 {
                if stream.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
        },
    )
    .await;
    let run = run_against(&url).await;
    assert_eq!(run.error_class, Some(ErrorClass::Decode), "{run:?}");
    assert!(
        run.error_message
            .as_deref()
            .unwrap()
            .contains("larger than 1048576 bytes"),
        "{run:?}"
    );
    assert!(run.hint.as_deref().unwrap().contains("max_response_bytes"));
}

#[tokio::test]
async fn a_slow_drip_ends_at_the_request_timeout() {
    let url = raw_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
        |mut stream| async move {
            for _ in 0..100 {
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        },
    )
    .await;
    let run = run_against(&url).await;
    assert_eq!(
        (run.status, run.error_class),
        (RunStatus::Failed, Some(ErrorClass::Timeout)),
        "{run:?}"
    );
}

#[tokio::test]
async fn a_gzip_bomb_is_cut_at_max_response_bytes() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 200_000, "64 MiB packed small: {}", bomb.len());
    let server = MockServer::start().await;
    Mock::given(path("/bomb"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .insert_header("content-type", "application/json")
                .set_body_bytes(bomb),
        )
        .mount(&server)
        .await;
    let run = run_against(&format!("{}/bomb", server.uri())).await;
    assert_eq!(run.error_class, Some(ErrorClass::Decode), "{run:?}");
    assert!(
        run.error_message
            .as_deref()
            .unwrap()
            .contains("larger than"),
        "{run:?}"
    );
}

#[tokio::test]
async fn json_nested_past_reason_and_bytes_that_are_not_utf8_fail_as_decode() {
    let server = MockServer::start().await;
    Mock::given(path("/deep"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            "{}{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        )))
        .mount(&server)
        .await;
    Mock::given(path("/latin1"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"[\"caf\xe9\"]".to_vec()))
        .mount(&server)
        .await;
    for route in ["deep", "latin1"] {
        let run = run_against(&format!("{}/{route}", server.uri())).await;
        assert_eq!(
            run.error_class,
            Some(ErrorClass::Decode),
            "{route}: {run:?}"
        );
        assert!(
            run.error_message
                .as_deref()
                .unwrap()
                .contains("not valid JSON"),
            "{route}: {run:?}"
        );
    }
}

/// A token endpoint that answers nonsense (HTML, the wrong types): the run fails,
/// classified, naming the token endpoint; no panic, no token.
#[tokio::test]
async fn a_token_endpoint_answering_nonsense_fails_the_run_plainly() {
    let server = MockServer::start().await;
    Mock::given(path("/html/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&server)
        .await;
    Mock::given(path("/typed/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": 5, "expires_in": "soon"})),
        )
        .mount(&server)
        .await;
    for endpoint in ["html", "typed"] {
        let config = format!(
            "[[integration]]\nname = \"hostile\"\nkind = \"http\"\nevery = \"1h\"\nretry = {{ max_attempts = 1 }}\n\
             [integration.auth]\ntype = \"oauth2_client_credentials\"\ntoken_url = \"{0}/{endpoint}/token\"\nclient_id = \"c\"\nclient_secret = \"secret:cs\"\n\
             [integration.request]\nurl = \"{0}/data\"\n",
            server.uri()
        );
        let harness = Harness::new(&config);
        harness.set_secret("cs", "client-secret-hostile");
        let engine = harness.start(false).await;
        let run = run_once(&engine, "hostile").await;
        engine.shutdown(Duration::ZERO).await;
        assert_eq!(run.status, RunStatus::Failed, "{endpoint}: {run:?}");
        assert!(
            run.error_class.is_some() && run.hint.is_some(),
            "{endpoint}: {run:?}"
        );
        assert!(
            run.error_message.as_deref().unwrap().contains("token"),
            "{endpoint}: {run:?}"
        );
    }
}

/// A certificate issued by nobody the client trusts (and for `localhost`, not the
/// address asked for): a TLS failure that says so, not "could not connect".
#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_failure_that_says_so() {
    let (addr, _ca) = common::tls::tls_server(30).await;
    let run = run_against(&format!("https://{addr}/items")).await;
    assert_eq!(run.error_class, Some(ErrorClass::Client), "{run:?}");
    let message = run.error_message.as_deref().unwrap();
    assert!(
        message.starts_with("TLS with https://127.0.0.1"),
        "{message}"
    );
    assert!(
        run.hint.as_deref().unwrap().contains("certificate"),
        "{run:?}"
    );
    assert_eq!(run.attempts, 1, "not retried");
}
