//! `patchbay auth NAME`: the OAuth2 device authorization grant, the flow that suits an
//! operator on SSH: open the URL anywhere, type the code, and patchbay gets the tokens.

use std::process::ExitCode;
use std::sync::Arc;

use super::{CliError, CliResult, Context};
use crate::connectors::oauth;

pub async fn run(context: &Context, name: &str) -> CliResult {
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
    let code = oauth::start_device_flow(&client, &integration.auth)
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
    let tokens = oauth::finish_device_flow(&client, &integration.auth, &code)
        .await
        .map_err(CliError::runtime)?;
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
