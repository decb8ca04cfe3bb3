//! Blueprints: a connector *type* (how to talk to Jira: auth, pagination, record paths,
//! rate limits) declared once with typed params, and integrations that are its
//! *instances*: `uses = "jira-issues"` plus `params = { ... }`, overriding any key.
//!
//! Expansion works on the spanned TOML tree, before an integration is decoded, so an
//! instance is checked exactly like a hand-written integration. What the instance wrote
//! keeps its own `file:line:column`; what comes from a blueprint in another file points
//! at the instance's `uses`, the line the operator can change.

mod expand;
mod library;
mod params;
mod placeholder;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use library::{BlueprintFile, Library, Origin};
pub use params::ParamType;

use super::de::{Value, unknown_key_help};
use super::load::{span_of, table_span};
use super::problem::{Problem, SourceFile};
use super::source_text::{mask_credentials, table_text};
use crate::domain::did_you_mean;

/// Keys of a `[[blueprint]]` table that describe it; every other key is an integration
/// key given to each instance.
const DESCRIPTIVE_KEYS: [&str; 4] = ["name", "description", "docs", "params"];
const PARAM_KEYS: [&str; 3] = ["type", "default", "description"];

/// What `patchbay blueprint list|show` and the console say about a blueprint.
#[derive(Debug, Clone, Serialize)]
pub struct BlueprintInfo {
    pub name: String,
    pub description: Option<String>,
    /// The vendor documentation it was written from.
    pub docs: Option<String>,
    /// "shipped", or the file that declares it.
    pub source: String,
    pub params: Vec<ParamInfo>,
    pub kind: Option<String>,
    pub auth: Option<String>,
    /// The request it makes, as templated: `GET ${params.site}/rest/api/3/search`.
    pub fetches: Option<String>,
    /// Its `rate_limit`, and the quota header it reads, in words.
    pub limits: Vec<String>,
    /// The blueprint's own TOML, literal credentials masked.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// The default as TOML, or `None` when the param is required.
    pub default: Option<String>,
    pub description: Option<String>,
}

/// A blueprint that passed its checks, borrowing the parsed file it came from.
struct Blueprint<'a> {
    info: BlueprintInfo,
    params: Vec<Param<'a>>,
    table: &'a DeTable<'a>,
    /// `None` when it is declared in the config file itself.
    file: Option<Arc<SourceFile>>,
}

struct Param<'a> {
    name: String,
    ty: ParamType,
    default: Option<&'a Value<'a>>,
}

/// The parsed `[[blueprint]]` tables of one file, and where they came from.
pub(super) struct ParsedFile<'a> {
    pub file: &'a BlueprintFile,
    pub tables: Vec<&'a Value<'a>>,
}

/// Every usable blueprint by name, the strongest declaration of each.
pub(super) struct Blueprints<'a> {
    by_name: BTreeMap<String, Blueprint<'a>>,
}

/// An `[[integration]]` table as the loader decodes it.
pub(super) enum Instance<'a> {
    /// Written out in full, without `uses`.
    Plain(&'a Value<'a>),
    /// `uses` a blueprint: the expanded table, and the one in the file.
    Expanded {
        value: Value<'a>,
        written: &'a Value<'a>,
        blueprint: String,
    },
    /// `uses` a blueprint, but the expansion failed; its problems are reported.
    Broken(&'a Value<'a>),
}

impl<'a> Instance<'a> {
    /// The table to decode and cross-check.
    pub fn table(&self) -> &Value<'a> {
        match self {
            Self::Plain(value) | Self::Broken(value) => value,
            Self::Expanded { value, .. } => value,
        }
    }

    /// The table as written in the config file.
    pub fn written(&self) -> &'a Value<'a> {
        match self {
            Self::Plain(value) | Self::Broken(value) | Self::Expanded { written: value, .. } => {
                value
            }
        }
    }
}

impl<'a> Blueprints<'a> {
    /// Checks every blueprint of the library files and of the config (`own`, in
    /// `config_text`), strongest last.
    pub fn decode(
        files: &[ParsedFile<'a>],
        own: &[&'a Value<'a>],
        config_text: &str,
        problems: &mut Vec<Problem>,
    ) -> Self {
        let mut by_name = BTreeMap::new();
        let library = files.iter().map(|parsed| {
            (
                parsed.file.origin,
                Some(&parsed.file.source),
                parsed.tables.as_slice(),
            )
        });
        let levels = library.chain([(Origin::ConfigFile, None, own)]);
        for (origin, file, tables) in levels {
            let text = file.map_or(config_text, |f| f.text.as_str());
            let mut declared_here = BTreeSet::new();
            for value in tables {
                let mut found = Vec::new();
                let decoded = decode_one(value, origin, file, text, &mut found);
                if let Some(blueprint) = decoded {
                    if !declared_here.insert(blueprint.info.name.clone()) {
                        found.push(Problem::error(
                            format!("blueprint `{}` is declared twice", blueprint.info.name),
                            span_of(blueprint.table, "name"),
                        ).with_help("rename one; to change a shipped or shared blueprint, declare it once under its name"));
                    } else {
                        by_name.insert(blueprint.info.name.clone(), blueprint);
                    }
                }
                problems.extend(found.into_iter().map(|p| in_file(p, file)));
            }
        }
        Self { by_name }
    }

    pub fn infos(&self) -> Vec<BlueprintInfo> {
        self.by_name.values().map(|b| b.info.clone()).collect()
    }

    /// The table an `[[integration]]` stands for: itself, or a blueprint expanded.
    pub fn instantiate(&self, value: &'a Value<'a>, problems: &mut Vec<Problem>) -> Instance<'a> {
        let Some(table) = value.get_ref().as_table() else {
            return Instance::Plain(value);
        };
        let Some(uses) = table.get("uses") else {
            return Instance::Plain(value);
        };
        let instance_name = table.get("name").and_then(|n| n.get_ref().as_str());
        let mut found = Vec::new();
        let expanded = self.expand(value, table, uses, &mut found);
        problems.extend(found.into_iter().map(|p| p.in_integration(instance_name)));
        match expanded {
            Some((expanded, blueprint)) => Instance::Expanded {
                value: expanded,
                written: value,
                blueprint,
            },
            None => Instance::Broken(value),
        }
    }

    fn expand(
        &self,
        value: &'a Value<'a>,
        table: &'a DeTable<'a>,
        uses: &'a Value<'a>,
        problems: &mut Vec<Problem>,
    ) -> Option<(Value<'a>, String)> {
        let Some(name) = uses.get_ref().as_str() else {
            problems.push(
                Problem::error("`uses` must be a blueprint name", Some(uses.span())).with_help(
                    "write `uses = \"jira-issues\"`; `patchbay blueprint list` shows them",
                ),
            );
            return None;
        };
        let Some(blueprint) = self.by_name.get(name) else {
            let help = match did_you_mean(name, self.by_name.keys().map(String::as_str)) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "`patchbay blueprint list` shows the blueprints there are".to_owned(),
            };
            problems.push(
                Problem::error(format!("unknown blueprint `{name}`"), Some(uses.span()))
                    .with_help(help),
            );
            return None;
        };
        let values = expand::param_values(blueprint, table, uses, problems)?;
        let respan = blueprint.file.as_ref().map(|_| uses.span());
        let expanded = expand::expand(blueprint, table, &values, respan);
        Some((Spanned::new(value.span(), expanded), name.to_owned()))
    }
}

fn in_file(problem: Problem, file: Option<&Arc<SourceFile>>) -> Problem {
    match file {
        Some(file) => problem.in_file(file),
        None => problem,
    }
}

/// Checks one `[[blueprint]]` table: its name, its params, and that every placeholder
/// in its keys is declared and every declared param is used.
fn decode_one<'a>(
    value: &'a Value<'a>,
    origin: Origin,
    file: Option<&Arc<SourceFile>>,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<Blueprint<'a>> {
    let Some(table) = value.get_ref().as_table() else {
        problems.push(Problem::error(
            "a blueprint must be a table",
            Some(value.span()),
        ));
        return None;
    };
    let errors_before = problems.iter().filter(|p| p.is_error()).count();
    let name = match table.get("name").map(|n| (n.get_ref().as_str(), n.span())) {
        Some((Some(name), span)) => {
            if !super::load::is_valid_name(name) {
                problems.push(
                    Problem::error(format!("invalid blueprint name `{name}`"), Some(span))
                        .with_help("use lowercase letters, digits, `-` and `_` only"),
                );
            }
            name.to_owned()
        }
        Some((None, span)) => {
            problems.push(Problem::error("`name` must be a string", Some(span)));
            String::new()
        }
        None => {
            problems.push(
                Problem::error("a blueprint needs a `name`", table_span(table))
                    .with_help("add `name = \"my-api\"`; instances refer to it with `uses`"),
            );
            String::new()
        }
    };
    let description = optional_string(table, "description", problems);
    let docs = optional_string(table, "docs", problems);
    let params = decode_params(table, problems);
    if let Some(uses) = table.get_key_value("uses") {
        problems.push(
            Problem::error("a blueprint cannot use another blueprint", Some(uses.0.span()))
                .with_help("blueprints do not nest, so there are no cycles: copy the keys you need into this one"),
        );
    }
    check_placeholders(&name, table, &params, problems);
    if problems.iter().filter(|p| p.is_error()).count() > errors_before {
        return None;
    }
    let kind = table
        .get("kind")
        .and_then(|k| k.get_ref().as_str())
        .map(str::to_owned);
    let auth = table
        .get("auth")
        .and_then(|a| a.get_ref().as_table()?.get("type")?.get_ref().as_str())
        .map(str::to_owned);
    let start = value.span().start;
    let text_at = |path: &[&str]| {
        let (last, tables) = path.split_last()?;
        let mut table = table;
        for key in tables {
            table = table.get(*key)?.get_ref().as_table()?;
        }
        table.get(*last)?.get_ref().as_str().map(str::to_owned)
    };
    let fetches = text_at(&["request", "url"]).map(|url| {
        let method = text_at(&["request", "method"]).unwrap_or_else(|| "GET".to_owned());
        format!("{} {url}", method.to_uppercase())
    });
    let mut limits = Vec::new();
    if let Some(rate) = table.get("rate_limit").and_then(|r| r.get_ref().as_table())
        && let (Some(requests), Some(per)) = (rate.get("requests"), rate.get("per"))
    {
        let per = per.get_ref().as_str().unwrap_or("?");
        limits.push(format!(
            "at most {} requests per {per}",
            params::as_toml(requests.get_ref())
        ));
    }
    if let Some(remaining) = text_at(&["quota", "remaining"]) {
        limits.push(format!("slows down as the quota in `{remaining}` runs low"));
    }
    let info = BlueprintInfo {
        name,
        description,
        docs,
        source: match file {
            Some(file) if origin == Origin::Shipped => {
                format!("shipped ({})", file.path.display())
            }
            Some(file) => file.path.display().to_string(),
            None => "the config file".to_owned(),
        },
        params: params
            .iter()
            .map(|param| ParamInfo {
                name: param.name.clone(),
                ty: param.ty,
                default: param.default.map(|d| params::as_toml(d.get_ref())),
                description: table
                    .get("params")
                    .and_then(|p| p.get_ref().as_table()?.get(param.name.as_str()))
                    .and_then(|spec| spec.get_ref().as_table()?.get("description"))
                    .and_then(|d| d.get_ref().as_str())
                    .map(str::to_owned),
            })
            .collect(),
        kind: kind.clone(),
        auth,
        fetches,
        limits,
        text: mask_credentials(
            &table_text(text, start, "blueprint"),
            start,
            value,
            kind.as_deref().unwrap_or(""),
        ),
    };
    Some(Blueprint {
        info,
        params,
        table,
        file: file.cloned(),
    })
}

fn decode_params<'a>(table: &'a DeTable<'a>, problems: &mut Vec<Problem>) -> Vec<Param<'a>> {
    let Some(params) = table.get("params") else {
        return Vec::new();
    };
    let Some(params) = params.get_ref().as_table() else {
        problems.push(
            Problem::error("`params` must be a table", Some(params.span()))
                .with_help("write `params = { site = { type = \"url\" } }`"),
        );
        return Vec::new();
    };
    let mut decoded = Vec::new();
    for (key, spec) in params {
        let name = key.get_ref().to_string();
        let Some(spec) = spec.get_ref().as_table() else {
            problems.push(
                Problem::error(format!("param `{name}` must be a table"), Some(spec.span()))
                    .with_help(format!("write `{name} = {{ type = \"string\" }}`")),
            );
            continue;
        };
        for (spec_key, _) in spec {
            if !PARAM_KEYS.contains(&spec_key.get_ref().as_ref()) {
                problems.push(
                    Problem::error(
                        format!("unknown key `{}` in param `{name}`", spec_key.get_ref()),
                        Some(spec_key.span()),
                    )
                    .with_help(unknown_key_help(spec_key.get_ref(), &PARAM_KEYS)),
                );
            }
        }
        let ty = match spec.get("type").map(|t| (t.get_ref().as_str(), t.span())) {
            Some((Some(text), span)) => match ParamType::parse(text) {
                Some(ty) => ty,
                None => {
                    problems.push(
                        Problem::error(format!("unknown param type `{text}`"), Some(span))
                            .with_help(unknown_key_help(text, &params::TYPE_NAMES)),
                    );
                    continue;
                }
            },
            _ => {
                problems.push(
                    Problem::error(format!("param `{name}` needs a `type`"), Some(key.span()))
                        .with_help(format!("the types are {}", params::TYPE_NAMES.join(", "))),
                );
                continue;
            }
        };
        let default = spec.get("default");
        if let Some(default) = default
            && let Err(mismatch) = ty.check(default.get_ref())
        {
            problems.push(
                Problem::error(
                    format!(
                        "the default of `{name}` must be {}",
                        mismatch.expected.article()
                    ),
                    Some(default.span()),
                )
                .with_help(mismatch.help),
            );
        }
        decoded.push(Param { name, ty, default });
    }
    decoded
}

/// Every `${params.NAME}` must name a param, and every param must be used somewhere.
fn check_placeholders(
    blueprint: &str,
    table: &DeTable<'_>,
    params: &[Param<'_>],
    problems: &mut Vec<Problem>,
) {
    fn walk(value: &Value<'_>, found: &mut Vec<(Result<String, ()>, Range<usize>)>) {
        match value.get_ref() {
            DeValue::String(text) if placeholder::has_placeholder(text) => {
                match placeholder::split(text) {
                    Ok(pieces) => {
                        found.extend(pieces.into_iter().filter_map(|piece| match piece {
                            placeholder::Piece::Param(name, _) => {
                                Some((Ok(name.to_owned()), value.span()))
                            }
                            placeholder::Piece::Text(_) => None,
                        }))
                    }
                    Err(_) => found.push((Err(()), value.span())),
                }
            }
            DeValue::Array(items) => items.iter().for_each(|item| walk(item, found)),
            DeValue::Table(table) => table.values().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for (key, value) in table {
        if !DESCRIPTIVE_KEYS.contains(&key.get_ref().as_ref()) {
            walk(value, &mut found);
        }
    }
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    let mut used = BTreeSet::new();
    for (placeholder, span) in found {
        match placeholder {
            Err(()) => problems.push(
                Problem::error("`${params.` is never closed", Some(span))
                    .with_help("write `${params.NAME}`"),
            ),
            Ok(name) if names.contains(&name.as_str()) => {
                used.insert(name);
            }
            Ok(name) => {
                let help = match did_you_mean(&name, names.iter().copied()) {
                    Some(close) => format!("did you mean `${{params.{close}}}`?"),
                    None => format!("declare it: `params.{name} = {{ type = \"string\" }}`"),
                };
                problems.push(
                    Problem::error(
                        format!("`${{params.{name}}}` is not a param of blueprint `{blueprint}`"),
                        Some(span),
                    )
                    .with_help(help),
                );
            }
        }
    }
    let declared = table.get("params").and_then(|p| p.get_ref().as_table());
    for param in params.iter().filter(|p| !used.contains(&p.name)) {
        let span = declared
            .and_then(|d| d.get_key_value(param.name.as_str()))
            .map(|(key, _)| key.span());
        problems.push(
            Problem::error(
                format!(
                    "param `{}` is not used by any key of the blueprint",
                    param.name
                ),
                span,
            )
            .with_help(format!(
                "use it as `${{params.{}}}` in a value, or remove it",
                param.name
            )),
        );
    }
}

fn optional_string(table: &DeTable<'_>, key: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let value = table.get(key)?;
    match value.get_ref().as_str() {
        Some(text) => Some(text.to_owned()),
        None => {
            problems.push(Problem::error(
                format!("`{key}` must be a string"),
                Some(value.span()),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests;
