//! `patchbay secret ...`: set, list, remove and rotate vault secrets. Values come from
//! stdin or a no-echo prompt, never from the command line, and are never printed.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use super::{CliError, CliResult, Context, table};
use crate::control::Hub;
use crate::control::protocol as q;
use crate::redact::MIN_REDACTED_LEN;
use crate::secrets::VaultError;
use crate::secrets::identity::PASSPHRASE_ENV;
use crate::store::SecretMeta;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret; the value is read from stdin or a no-echo prompt
    Set {
        name: String,
        /// Date after which the secret should be rotated (YYYY-MM-DD)
        #[arg(long, value_name = "DATE")]
        expires: Option<NaiveDate>,
    },
    /// List secret names and metadata (never values)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a secret
    Rm { name: String },
    /// Replace the vault identity and re-encrypt every secret
    RotateKey,
    /// Protect the identity file with a passphrase (read from PATCHBAY_PASSPHRASE or a prompt)
    Protect,
}

pub async fn run(context: &Context, command: SecretCommand) -> CliResult {
    if let Some(hub) = context.service().await? {
        return through_service(context, &hub, command).await;
    }
    let store = context.open_store()?;
    let vault = context.vault(store);
    match command {
        SecretCommand::Set { name, expires } => {
            context.ensure_writable("secret set")?;
            let value = read_value(&name)?;
            warn_if_short(&value);
            vault.set(&name, &value, expires).map_err(vault_error)?;
            eprintln!("secret `{name}` stored");
        }
        SecretCommand::List { json } => print_list(&vault.list().map_err(vault_error)?, json),
        SecretCommand::Rm { name } => {
            context.ensure_writable("secret rm")?;
            vault.remove(&name).map_err(vault_error)?;
            eprintln!("secret `{name}` removed");
        }
        SecretCommand::RotateKey => {
            context.ensure_writable("secret rotate-key")?;
            let rotation = vault.rotate_key().map_err(vault_error)?;
            eprintln!(
                "new identity at {}; {} secret(s) re-encrypted; old identity kept at {}",
                vault.identity_path().display(),
                rotation.secrets,
                rotation.backup.display()
            );
        }
        SecretCommand::Protect => {
            context.ensure_writable("secret protect")?;
            let passphrase = new_passphrase()?;
            vault.protect(&passphrase).map_err(vault_error)?;
            eprintln!(
                "identity {} is now protected by a passphrase",
                vault.identity_path().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Names and metadata, never values.
fn print_list(secrets: &[(String, SecretMeta)], json: bool) {
    if json {
        for (name, meta) in secrets {
            let line = serde_json::json!({ "name": name, "meta": meta });
            println!("{line}");
        }
    } else if secrets.is_empty() {
        eprintln!("the vault is empty; add a secret with: patchbay secret set NAME");
    } else {
        let date = |d: Option<chrono::DateTime<chrono::Utc>>| {
            d.map_or("-".to_owned(), |d| d.format("%Y-%m-%d %H:%M").to_string())
        };
        let rows: Vec<Vec<String>> = secrets
            .iter()
            .map(|(name, meta)| {
                vec![
                    name.clone(),
                    date(Some(meta.created_at)),
                    date(Some(meta.updated_at)),
                    meta.expires_at.map_or("-".to_owned(), |d| d.to_string()),
                    date(meta.last_used_at),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(
                &["NAME", "CREATED", "UPDATED", "EXPIRES", "LAST USED"],
                &rows
            )
        );
    }
}

/// `secret set|list|rm` on the running service, audited as this user; rotating the
/// key and protecting the identity rewrite the vault, so they need the service stopped.
async fn through_service(context: &Context, hub: &Hub, command: SecretCommand) -> CliResult {
    match command {
        SecretCommand::Set { name, expires } => {
            context.ensure_writable("secret set")?;
            let value = read_value(&name)?;
            warn_if_short(&value);
            let request = q::SetSecret {
                name: name.clone(),
                value: q::SecretValue(value.expose_secret().to_owned()),
                expires_at: expires,
            };
            hub.ask(request).await.map_err(super::run::command_error)?;
            eprintln!("secret `{name}` stored");
        }
        SecretCommand::List { json } => {
            let secrets = hub
                .ask(q::SecretMetas {})
                .await
                .map_err(CliError::runtime)?;
            print_list(&secrets, json);
        }
        SecretCommand::Rm { name } => {
            context.ensure_writable("secret rm")?;
            let request = q::RemoveSecret { name: name.clone() };
            hub.ask(request).await.map_err(super::run::command_error)?;
            eprintln!("secret `{name}` removed");
        }
        SecretCommand::RotateKey | SecretCommand::Protect => {
            return Err(CliError::usage(
                "a patchbay service holds the vault: stop it (systemctl stop patchbay), then run this again",
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn warn_if_short(value: &SecretString) {
    if value.expose_secret().len() < MIN_REDACTED_LEN {
        eprintln!(
            "warning: values shorter than {MIN_REDACTED_LEN} characters are not redacted from logs"
        );
    }
}

fn vault_error(error: VaultError) -> CliError {
    match error {
        VaultError::InvalidName { .. } => CliError::usage(error),
        other => CliError::runtime(other),
    }
}

/// The secret's value: all of stdin when it is piped (one trailing newline dropped),
/// else a no-echo prompt.
fn read_value(name: &str) -> Result<SecretString, CliError> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Value for secret `{name}`: "))
            .map_err(CliError::runtime)?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(CliError::runtime)?;
        let trimmed = text.strip_suffix('\n').unwrap_or(&text);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_owned()
    };
    if value.is_empty() {
        return Err(CliError::usage(format!(
            "no value given for secret `{name}`"
        )));
    }
    Ok(SecretString::from(value))
}

fn new_passphrase() -> Result<SecretString, CliError> {
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(SecretString::from(value));
    }
    let first = rpassword::prompt_password("New passphrase: ").map_err(CliError::runtime)?;
    let second = rpassword::prompt_password("Repeat it: ").map_err(CliError::runtime)?;
    if first != second {
        return Err(CliError::usage(
            "the passphrases differ; nothing was changed",
        ));
    }
    if first.is_empty() {
        return Err(CliError::usage(
            "an empty passphrase protects nothing; nothing was changed",
        ));
    }
    Ok(SecretString::from(first))
}
