//! `patchbay auth NAME`: authorize an OAuth2 integration once, from a terminal that
//! may be an SSH session. The device grant shows a URL and a code to enter anywhere;
//! the authorization-code grant (with PKCE) shows a URL to open in the operator's own
//! browser and takes back the address the browser was sent to. Either way the tokens
//! go to the vault and refresh from then on.

use std::io::{BufRead, Read};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::{CliError, CliResult, Context};
use crate::config::Auth;
use crate::config::credential::Credential;
use crate::connectors::oauth::{self, GrantedTokens};
use crate::connectors::oauth_code::{Authorization, MAX_PASTE};
use crate::secrets::Vault;

/// How long `--listen` waits for the browser's redirect.
const REDIRECT_WAIT: Duration = Duration::from_secs(10 * 60);

pub async fn run(context: &Context, name: &str, listen: bool) -> CliResult {
    context.ensure_writable("auth")?;
    let config = context.load_config()?;
    let integration = config.integration(name).ok_or_else(|| {
        CliError::usage(format!(
            "no integration named `{name}` in {}",
            config.source.path.display()
        ))
    })?;
    let store = context.open_store()?;
    let vault = context.vault(Arc::clone(&store));
    crate::runtime::http::install_tls_provider();
    let client = reqwest::Client::new();
    let tokens = match &integration.auth {
        Auth::OAuth2AuthorizationCode { client_secret, .. } => {
            let secret = client_secret
                .as_ref()
                .map(|c| resolve(&vault, c))
                .transpose()?;
            authorization_code(&client, name, &integration.auth, secret, listen).await?
        }
        auth => device(&client, name, auth).await?,
    };
    vault
        .cache(&oauth::refresh_secret(name), &tokens.refresh)
        .map_err(CliError::runtime)?;
    vault
        .cache(&oauth::access_secret(name), &tokens.access)
        .map_err(CliError::runtime)?;
    store
        .record_audit(&crate::domain::AuditEntry::now(
            "integration.authorize",
            Some(name),
        ))
        .map_err(CliError::runtime)?;
    println!("Authorized: `{name}` will use these tokens from now on.");
    Ok(ExitCode::SUCCESS)
}

async fn device(
    client: &reqwest::Client,
    name: &str,
    auth: &Auth,
) -> Result<GrantedTokens, CliError> {
    let code = oauth::start_device_flow(client, auth)
        .await
        .map_err(CliError::runtime)?;
    println!(
        "To authorize `{name}`, open:\n\n    {}\n\nand enter the code:\n\n    {}\n",
        code.verification_uri, code.user_code
    );
    println!(
        "Waiting for approval (the code expires in {})...",
        humantime::format_duration(code.expires_in)
    );
    oauth::finish_device_flow(client, auth, &code)
        .await
        .map_err(CliError::runtime)
}

async fn authorization_code(
    client: &reqwest::Client,
    name: &str,
    auth: &Auth,
    client_secret: Option<SecretString>,
    listen: bool,
) -> Result<GrantedTokens, CliError> {
    let flow = Authorization::start(auth).map_err(CliError::usage)?;
    println!(
        "To authorize `{name}`, open this address in your browser (on any machine):\n\n    {}\n",
        flow.url
    );
    let answer = if listen {
        println!(
            "Waiting for the browser to come back to {} ...",
            flow.redirect_uri()
        );
        flow.catch_redirect(REDIRECT_WAIT)
            .await
            .map_err(CliError::runtime)?
    } else {
        println!(
            "After you approve, the browser is sent to {} ; the page may not load, which is fine.\nPaste the address from its address bar here (or just the code) and press Enter:",
            flow.redirect_uri()
        );
        tokio::task::spawn_blocking(read_pasted)
            .await
            .map_err(CliError::runtime)?
            .map_err(|e| CliError::runtime(format!("cannot read what was pasted: {e}")))?
    };
    let code = flow.code_from(&answer).map_err(CliError::usage)?;
    flow.exchange(client, auth, client_secret, &code)
        .await
        .map_err(CliError::runtime)
}

/// One line from stdin, at most `MAX_PASTE` bytes of it.
fn read_pasted() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_PASTE as u64 + 1)
        .read_line(&mut line)?;
    Ok(line)
}

/// The client secret's value, known to the redactor before anything can print it.
fn resolve(vault: &Vault, credential: &Credential) -> Result<SecretString, CliError> {
    let value = match credential {
        Credential::Vault(secret) => vault.get(secret).map_err(|e| {
            CliError::usage(format!(
                "client_secret: {e}; set it with: patchbay secret set {secret}"
            ))
        }),
        Credential::Env(var) => std::env::var(var).map(SecretString::from).map_err(|_| {
            CliError::usage(format!(
                "client_secret: environment variable {var} is not set"
            ))
        }),
        Credential::Literal(value) => Ok(value.clone()),
    }?;
    crate::redact::global().add(&value);
    Ok(value)
}
