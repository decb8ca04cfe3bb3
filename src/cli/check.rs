//! `patchbay check`: validate the config and show what it will do.

use std::collections::BTreeSet;
use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{CliError, CliResult, Context, table};
use crate::config::{Config, Integration, Problem, Severity};
use crate::store::{STORE_FILE, Store, StoreError};

const NEXT_FIRES: usize = 3;

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    valid: bool,
    integrations: Vec<Row<'a>>,
    alerts: Vec<AlertRow<'a>>,
    problems: Vec<crate::config::problem::ProblemJson>,
}

/// An alert rule and the integrations it watches now.
#[derive(Serialize)]
struct AlertRow<'a> {
    name: &'a str,
    when: String,
    severity: &'static str,
    watches: Vec<&'a str>,
    notify: &'a [String],
    repeat: Option<String>,
}

fn alert_rows(config: &Config) -> Vec<AlertRow<'_>> {
    config
        .alerts
        .iter()
        .map(|rule| AlertRow {
            name: &rule.name,
            when: rule.when.to_string(),
            severity: rule.severity.as_str(),
            watches: config
                .integrations
                .iter()
                .filter(|i| rule.watches(&i.name))
                .map(|i| i.name.as_str())
                .collect(),
            notify: &rule.notify,
            repeat: rule.repeat.map(|r| r.to_string()),
        })
        .collect()
}

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    kind: &'a str,
    /// The blueprint it `uses`, and what that expanded to (credentials masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    blueprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expanded: Option<&'a serde_json::Value>,
    enabled: bool,
    schedule: Option<String>,
    timezone: &'a str,
    next_fires: Vec<String>,
    outputs: &'a [String],
    secrets: Vec<SecretStatus<'a>>,
}

#[derive(Serialize)]
struct SecretStatus<'a> {
    name: &'a str,
    /// `None` when the vault could not be read.
    exists: Option<bool>,
}

pub fn run(context: &Context, json: bool) -> CliResult {
    let config = context.load_config()?;
    let (vault_names, vault_note) = vault_names(context);
    let mut problems = config.problems.clone();
    if let Some(names) = &vault_names {
        problems.extend(missing_secrets(&config, names));
    }
    problems.sort_by_key(|p| p.span.as_ref().map_or(usize::MAX, |s| s.start));
    let now = Utc::now();
    let rows: Vec<Row> = config
        .integrations
        .iter()
        .map(|integration| {
            let expanded = config.expanded.get(&integration.name);
            row(integration, expanded, now, vault_names.as_ref())
        })
        .collect();
    let valid = config.is_valid();
    if json {
        let report = Report {
            file: config.source.path.display().to_string(),
            valid,
            integrations: rows,
            alerts: alert_rows(&config),
            problems: problems.iter().map(|p| p.to_json(&config.source)).collect(),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(CliError::runtime)?
        );
    } else {
        print_text(&config, &rows, &problems, vault_note.as_deref());
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The names in the vault, or why they could not be read. A store that does not exist
/// yet holds no secrets; `check` never creates one.
fn vault_names(context: &Context) -> (Option<BTreeSet<String>>, Option<String>) {
    let path = context.data_dir().join(STORE_FILE);
    if !path.exists() {
        return (Some(BTreeSet::new()), None);
    }
    match Store::open(&path).and_then(|store| store.secret_metas()) {
        Ok(metas) => (
            Some(metas.into_iter().map(|(name, _)| name).collect()),
            None,
        ),
        Err(error @ StoreError::InUse { .. }) => {
            (None, Some(format!("secrets not checked: {error}")))
        }
        Err(error) => (None, Some(format!("secrets not checked: {error}"))),
    }
}

fn missing_secrets(config: &Config, names: &BTreeSet<String>) -> Vec<Problem> {
    config
        .integrations
        .iter()
        .flat_map(|integration| {
            integration
                .secrets
                .iter()
                .filter(|secret| !names.contains(&secret.name))
                .map(|secret| {
                    Problem::warning(
                        format!("secret `{}` is not in the vault", secret.name),
                        Some(secret.span.clone()),
                    )
                    .with_help(format!("set it with: patchbay secret set {}", secret.name))
                    .in_integration(Some(&integration.name))
                })
        })
        .collect()
}

fn row<'a>(
    integration: &'a Integration,
    expanded: Option<&'a serde_json::Value>,
    now: DateTime<Utc>,
    vault: Option<&BTreeSet<String>>,
) -> Row<'a> {
    let zone = integration.timezone;
    let mut next_fires = Vec::new();
    if let Some(schedule) = &integration.schedule {
        let mut after = now.with_timezone(&zone);
        for _ in 0..NEXT_FIRES {
            match schedule.next_after(&after) {
                Some(next) => {
                    next_fires.push(next.to_rfc3339_opts(SecondsFormat::Secs, true));
                    after = next;
                }
                None => break,
            }
        }
    }
    Row {
        name: &integration.name,
        kind: integration.kind.name,
        blueprint: integration.blueprint.as_deref(),
        expanded,
        enabled: integration.enabled,
        schedule: integration.schedule.as_ref().map(|s| s.describe()),
        timezone: zone.name(),
        next_fires,
        outputs: &integration.outputs,
        secrets: integration
            .secrets
            .iter()
            .map(|s| SecretStatus {
                name: &s.name,
                exists: vault.map(|names| names.contains(&s.name)),
            })
            .collect(),
    }
}

fn print_text(config: &Config, rows: &[Row], problems: &[Problem], vault_note: Option<&str>) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let schedule = match (&row.schedule, row.enabled) {
                (Some(s), true) => s.clone(),
                (Some(s), false) => format!("{s} (disabled)"),
                (None, _) => "when records arrive".to_owned(),
            };
            let next = if row.next_fires.is_empty() {
                "-".to_owned()
            } else {
                let times: Vec<_> = row
                    .next_fires
                    .iter()
                    .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.format("%m-%d %H:%M:%S").to_string())
                    .collect();
                format!("{} {}", times.join(", "), row.timezone)
            };
            let secrets = row
                .secrets
                .iter()
                .map(|s| match s.exists {
                    Some(true) => format!("{} (ok)", s.name),
                    Some(false) => format!("{} (MISSING)", s.name),
                    None => format!("{} (?)", s.name),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let kind = match row.blueprint {
                Some(blueprint) => format!("{} ({blueprint})", row.kind),
                None => row.kind.to_owned(),
            };
            vec![
                row.name.to_owned(),
                kind,
                schedule,
                next,
                or_dash(row.outputs.join(", ")),
                or_dash(secrets),
            ]
        })
        .collect();
    if !cells.is_empty() {
        print!(
            "{}",
            table::render(
                &[
                    "NAME",
                    "KIND",
                    "SCHEDULE",
                    "NEXT FIRES",
                    "OUTPUTS",
                    "SECRETS"
                ],
                &cells
            )
        );
    }
    let alerts: Vec<Vec<String>> = alert_rows(config)
        .into_iter()
        .map(|rule| {
            let watches = match rule.watches.len() {
                n if n == config.integrations.len() && n > 1 => format!("all {n}"),
                _ => rule.watches.join(", "),
            };
            vec![
                rule.name.to_owned(),
                rule.when,
                rule.severity.to_owned(),
                or_dash(watches),
                or_dash(rule.notify.join(", ")),
                rule.repeat.unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    if !alerts.is_empty() {
        print!(
            "\n{}",
            table::render(
                &["ALERT", "WHEN", "SEVERITY", "WATCHES", "NOTIFY", "REPEAT"],
                &alerts
            )
        );
    }
    for problem in problems {
        eprintln!("\n{}", problem.render(&config.source).trim_end());
    }
    if let Some(note) = vault_note {
        eprintln!("\nnote: {note}");
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    let declared = config.declared;
    let broken = |all: usize, fine: usize| match all - fine.min(all) {
        0 => String::new(),
        n => format!(" ({n} with errors)"),
    };
    eprintln!(
        "\n{}: {}{}, {}{}, {}, {}",
        config.source.path.display(),
        count(declared.integrations, "integration"),
        broken(declared.integrations, config.integrations.len()),
        count(declared.alerts, "alert rule"),
        broken(declared.alerts, config.alerts.len()),
        count(errors, "error"),
        count(warnings, "warning"),
    );
}

fn or_dash(text: String) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text
    }
}

/// "1 error", "2 errors".
fn count(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}
