//! `patchbay blueprint list|show NAME`: the connector types an integration can `use`,
//! their params, and what they fetch, from the config's point of view (its own
//! `[[blueprint]]` tables and the blueprint dirs beside it and in the user's config).

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Subcommand;

use super::{CliError, CliResult, Context, table};
use crate::config::blueprint::BlueprintInfo;
use crate::config::{Config, SourceFile};
use crate::domain::did_you_mean;

#[derive(Debug, Subcommand)]
pub enum BlueprintCommand {
    /// Every blueprint: name, kind, auth, params (required ones marked *), source
    List {
        #[arg(long)]
        json: bool,
    },
    /// One blueprint: what it fetches, its params, its TOML, and an instance to copy
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(context: &Context, command: BlueprintCommand) -> CliResult {
    // Without a config, the shipped blueprints are still worth listing.
    let config = context
        .load_config()
        .unwrap_or_else(|_| Config::parse(SourceFile::new("(no config)", "")));
    let blueprints = &config.blueprints;
    match command {
        BlueprintCommand::List { json: true } => print_json(blueprints)?,
        BlueprintCommand::List { json: false } => print!("{}", list_text(blueprints)),
        BlueprintCommand::Show { name, json } => {
            let Some(blueprint) = blueprints.iter().find(|b| b.name == name) else {
                let help = match did_you_mean(&name, blueprints.iter().map(|b| b.name.as_str())) {
                    Some(close) => format!("; did you mean `{close}`?"),
                    None => "; `patchbay blueprint list` shows them".to_owned(),
                };
                return Err(CliError::usage(format!(
                    "no blueprint named `{name}`{help}"
                )));
            };
            if json {
                print_json(blueprint)?;
            } else {
                print!("{}", show_text(blueprint));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(CliError::runtime)?;
    println!("{text}");
    Ok(())
}

fn list_text(blueprints: &[BlueprintInfo]) -> String {
    let rows: Vec<Vec<String>> = blueprints
        .iter()
        .map(|b| {
            let params = b
                .params
                .iter()
                .map(|p| match p.default {
                    None => format!("{}*", p.name),
                    Some(_) => p.name.clone(),
                })
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                b.name.clone(),
                b.kind.clone().unwrap_or_else(|| "-".into()),
                b.auth.clone().unwrap_or_else(|| "none".into()),
                params,
                b.source.clone(),
            ]
        })
        .collect();
    let mut out = table::render(
        &["NAME", "KIND", "AUTH", "PARAMS (* required)", "SOURCE"],
        &rows,
    );
    out.push_str("\n`patchbay blueprint show NAME` describes one and gives an instance to copy.\n");
    out
}

fn show_text(blueprint: &BlueprintInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", blueprint.name);
    if let Some(description) = &blueprint.description {
        let _ = writeln!(out, "  {description}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "kind: {}   auth: {}",
        blueprint.kind.as_deref().unwrap_or("-"),
        blueprint.auth.as_deref().unwrap_or("none")
    );
    if let Some(fetches) = &blueprint.fetches {
        let _ = writeln!(out, "fetches: {fetches}");
    }
    for limit in &blueprint.limits {
        let _ = writeln!(out, "rate: {limit}");
    }
    if let Some(docs) = &blueprint.docs {
        let _ = writeln!(out, "written from: {docs}");
    }
    let _ = writeln!(out, "declared in: {}", blueprint.source);
    let _ = writeln!(out, "\nparams:");
    let rows: Vec<Vec<String>> = blueprint
        .params
        .iter()
        .map(|p| {
            vec![
                format!("  {}", p.name),
                p.ty.to_string(),
                p.default
                    .as_ref()
                    .map_or("required".to_owned(), |d| format!("default {d}")),
                p.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str(&table::render(&["  NAME", "TYPE", "", "WHAT"], &rows));
    let _ = writeln!(
        out,
        "\nan instance (every key of the blueprint may be overridden):\n"
    );
    out.push_str(&example_instance(blueprint));
    let _ = writeln!(out, "\nthe blueprint:\n\n{}", blueprint.text);
    out
}

/// An `[[integration]]` to paste into connectors.toml, required params first.
fn example_instance(blueprint: &BlueprintInfo) -> String {
    let mut params: Vec<String> = Vec::new();
    for param in blueprint.params.iter().filter(|p| p.default.is_none()) {
        let example = match param.ty {
            crate::config::blueprint::ParamType::Secret => {
                format!("\"secret:{}\"", param.name.replace('_', "-"))
            }
            crate::config::blueprint::ParamType::Url => "\"https://...\"".to_owned(),
            crate::config::blueprint::ParamType::Integer => "0".to_owned(),
            crate::config::blueprint::ParamType::Boolean => "false".to_owned(),
            crate::config::blueprint::ParamType::String => "\"...\"".to_owned(),
        };
        params.push(format!("{} = {example}", param.name));
    }
    format!(
        "[[integration]]\nname = \"my-{}\"\nuses = \"{}\"\nparams = {{ {} }}\n",
        blueprint.name,
        blueprint.name,
        params.join(", ")
    )
}
