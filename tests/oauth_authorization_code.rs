//! `patchbay auth NAME` for `oauth2_authorization_code`, end to end: the real binary
//! prints the authorization URL, a browser (here reqwest) follows it to the sandbox's
//! authorization server, which checks PKCE and hands back a code and the state; the
//! address it redirects to is pasted back (or caught with `--listen`), the tokens land
//! in the vault, and `patchbay run` then uses and refreshes them.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

use common::{Home, free_port};
use patchbay::sandbox::Sandbox;

fn config(sandbox: &str, redirect_port: u16) -> String {
    format!(
        "[[integration]]\nname = \"app\"\nkind = \"http\"\nevery = \"1h\"\n\
         [integration.auth]\ntype = \"oauth2_authorization_code\"\n\
         authorize_url = \"{sandbox}/oauth/authorize\"\ntoken_url = \"{sandbox}/oauth/token\"\n\
         client_id = \"patchbay-demo\"\nscopes = [\"read\"]\n\
         redirect_uri = \"http://127.0.0.1:{redirect_port}/callback\"\n\
         [integration.request]\nurl = \"{sandbox}/api/secure\"\n[integration.records]\npath = \"$.data[*]\"\n"
    )
}

struct Authorizing {
    child: Child,
    /// The authorization URL the command printed.
    url: String,
}

/// Starts `patchbay auth app` and reads up to the URL it prints.
fn start_auth(mut patchbay: Command, extra: &[&str]) -> Authorizing {
    let mut child = patchbay
        .args(["auth", "app"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the command printed the URL before it ended")
            .unwrap();
        if let Some(url) = line.trim().strip_prefix("http")
            && url.contains("/oauth/authorize")
        {
            break format!("http{url}");
        }
    };
    // The rest of stdout is read when the command ends.
    std::thread::spawn(move || lines.for_each(drop));
    Authorizing { child, url }
}

/// A sandbox, a home whose config authorizes `app` against it (redirecting to
/// `127.0.0.1:port`), and `patchbay auth app` started there with `extra`.
async fn authorizing(port: u16, extra: &'static [&'static str]) -> (Sandbox, Home, Authorizing) {
    let sandbox = Sandbox::start(0).await.unwrap();
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&sandbox.url(), port)).unwrap();
    let patchbay = home.patchbay_process();
    let auth = tokio::task::spawn_blocking(move || start_auth(patchbay, extra))
        .await
        .unwrap();
    (sandbox, home, auth)
}

/// `patchbay run app` in `home`: whether it succeeded, and what it printed.
async fn run_app_in(home: &Home) -> (bool, String) {
    let patchbay = home.patchbay_process();
    tokio::task::spawn_blocking(move || run_app(patchbay))
        .await
        .unwrap()
}

/// What the browser does: open the URL; the authorization server approves and
/// redirects. Returns the address it redirects to.
async fn browse(url: &str) -> String {
    patchbay::runtime::http::install_tls_provider();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302, "the sandbox approves at once");
    answer.headers()["location"].to_str().unwrap().to_owned()
}

fn finish(mut auth: Authorizing, pasted: Option<&str>) -> (bool, String) {
    if let Some(pasted) = pasted {
        let mut stdin = auth.child.stdin.take().unwrap();
        writeln!(stdin, "{pasted}").unwrap();
    }
    let output = auth.child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn run_app(mut patchbay: Command) -> (bool, String) {
    let output = patchbay.args(["run", "app", "--json"]).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_redirect_address_authorizes_and_the_tokens_are_used() {
    let (sandbox, home, auth) = authorizing(free_port(), &[]).await;
    assert!(
        auth.url.contains("code_challenge_method=S256"),
        "{}",
        auth.url
    );
    let redirected = browse(&auth.url).await;
    assert!(
        redirected.contains("code=") && redirected.contains("state="),
        "{redirected}"
    );
    let (ok, stderr) = tokio::task::spawn_blocking(move || finish(auth, Some(&redirected)))
        .await
        .unwrap();
    assert!(ok, "{stderr}");
    let (ok, output) = run_app_in(&home).await;
    assert!(ok, "the stored tokens open /api/secure: {output}");
    assert!(output.contains("\"records_in\":20"), "{output}");
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_address_with_another_state_is_refused_and_nothing_is_stored() {
    let (sandbox, home, auth) = authorizing(free_port(), &[]).await;
    let redirected = browse(&auth.url).await;
    let (before, _) = redirected.split_once("state=").unwrap();
    let forged = format!("{before}state=forged-by-someone-else");
    let (ok, stderr) = tokio::task::spawn_blocking(move || finish(auth, Some(&forged)))
        .await
        .unwrap();
    assert!(!ok);
    assert!(
        stderr.contains("`state`") && stderr.contains("nothing was stored"),
        "{stderr}"
    );
    let (ok, output) = run_app_in(&home).await;
    assert!(!ok);
    assert!(output.contains("has no token yet"), "{output}");
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_catches_the_redirect_on_the_loopback_by_itself() {
    let port = free_port();
    let (sandbox, home, auth) = authorizing(port, &["--listen"]).await;
    let redirected = browse(&auth.url).await;
    // The browser follows the redirect to the listener, which may still be binding.
    let mut delivered = false;
    for _ in 0..50 {
        if let Ok(answer) = reqwest::get(&redirected).await {
            assert!(answer.status().is_success());
            delivered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered, "the listener answered on 127.0.0.1:{port}");
    let (ok, stderr) = tokio::task::spawn_blocking(move || finish(auth, None))
        .await
        .unwrap();
    assert!(ok, "{stderr}");
    let (ok, output) = run_app_in(&home).await;
    assert!(ok, "{output}");
    sandbox.stop().await;
}
