//! Turning an instance into the integration it stands for: its params checked, the
//! blueprint's keys with `${params.NAME}` filled in, and the instance's own keys on top.

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::placeholder::{self, Piece};
use super::{Blueprint, DESCRIPTIVE_KEYS, ParamType, params};
use crate::config::de::Value;
use crate::config::problem::Problem;
use crate::domain::did_you_mean;

/// Keys of an instance that are about the blueprint, not the integration.
const INSTANCE_KEYS: [&str; 2] = ["uses", "params"];

/// A param's value for one instance, and its type.
pub(super) struct ParamValue<'a> {
    name: String,
    ty: ParamType,
    value: Value<'a>,
}

/// The instance's `params` checked against the blueprint's: none unknown, none missing,
/// each of its type. A default from a blueprint in another file is located at `uses`.
pub(super) fn param_values<'a>(
    blueprint: &Blueprint<'a>,
    table: &'a DeTable<'a>,
    uses: &Value<'_>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<ParamValue<'a>>> {
    let errors_before = problems.len();
    let empty = DeTable::new();
    let given = match table.get("params") {
        None => &empty,
        Some(value) => match value.get_ref().as_table() {
            Some(given) => given,
            None => {
                problems.push(
                    Problem::error("`params` must be a table", Some(value.span()))
                        .with_help("write `params = { site = \"https://...\" }`"),
                );
                return None;
            }
        },
    };
    let declared: Vec<&str> = blueprint.params.iter().map(|p| p.name.as_str()).collect();
    for (key, _) in given {
        let key_text = key.get_ref().as_ref();
        if !declared.contains(&key_text) {
            let help = match did_you_mean(key_text, declared.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None if declared.is_empty() => {
                    format!("blueprint `{}` takes no params", blueprint.info.name)
                }
                None => format!(
                    "blueprint `{}` takes {}",
                    blueprint.info.name,
                    declared.join(", ")
                ),
            };
            problems.push(
                Problem::error(format!("unknown param `{key_text}`"), Some(key.span()))
                    .with_help(help),
            );
        }
    }
    let mut values = Vec::with_capacity(blueprint.params.len());
    for param in &blueprint.params {
        let value = match (given.get(param.name.as_str()), param.default) {
            (Some(value), _) => {
                if let Err(mismatch) = param.ty.check(value.get_ref()) {
                    let problem = Problem::error(
                        format!(
                            "param `{}` must be {}",
                            param.name,
                            mismatch.expected.article()
                        ),
                        Some(value.span()),
                    )
                    .with_help(mismatch.help);
                    problems.push(match param.ty {
                        // What was written there may be the credential itself.
                        ParamType::Secret => problem.concealing_value(),
                        _ => problem,
                    });
                    continue;
                }
                value.clone()
            }
            (None, Some(default)) => match blueprint.file {
                Some(_) => Spanned::new(uses.span(), default.get_ref().clone()),
                None => default.clone(),
            },
            (None, None) => {
                problems.push(
                    Problem::error(
                        format!(
                            "blueprint `{}` needs param `{}` ({})",
                            blueprint.info.name,
                            param.name,
                            param.ty.article()
                        ),
                        Some(uses.span()),
                    )
                    .with_help(format!(
                        "add it: `params = {{ {} = ... }}`; `patchbay blueprint show {}` describes each",
                        param.name, blueprint.info.name
                    )),
                );
                continue;
            }
        };
        values.push(ParamValue {
            name: param.name.clone(),
            ty: param.ty,
            value,
        });
    }
    (problems.len() == errors_before).then_some(values)
}

/// The blueprint's integration keys filled in with `values`, then the instance's own
/// keys merged on top (tables key by key, anything else replaced). `respan` is where
/// values from a blueprint in another file are located.
pub(super) fn expand<'a>(
    blueprint: &Blueprint<'a>,
    instance: &DeTable<'a>,
    values: &[ParamValue<'a>],
    respan: Option<Range<usize>>,
) -> DeValue<'a> {
    let filler = Filler { values, respan };
    let mut table = DeTable::new();
    for (key, value) in blueprint.table {
        if !DESCRIPTIVE_KEYS.contains(&key.get_ref().as_ref()) {
            table.insert(filler.key(key), filler.fill(value));
        }
    }
    for (key, value) in instance {
        if !INSTANCE_KEYS.contains(&key.get_ref().as_ref()) {
            merge(&mut table, key.clone(), value.clone());
        }
    }
    DeValue::Table(table)
}

fn merge<'a>(table: &mut DeTable<'a>, key: Spanned<Cow<'a, str>>, value: Value<'a>) {
    if let (Some(existing), DeValue::Table(overrides)) =
        (table.get_mut(key.get_ref().as_ref()), value.get_ref())
        && let DeValue::Table(base) = existing.get_mut()
    {
        for (inner_key, inner_value) in overrides {
            merge(base, inner_key.clone(), inner_value.clone());
        }
        return;
    }
    table.insert(key, value);
}

struct Filler<'v, 'a> {
    values: &'v [ParamValue<'a>],
    respan: Option<Range<usize>>,
}

impl<'a> Filler<'_, 'a> {
    fn span(&self, span: Range<usize>) -> Range<usize> {
        self.respan.clone().unwrap_or(span)
    }

    fn key(&self, key: &Spanned<Cow<'a, str>>) -> Spanned<Cow<'a, str>> {
        Spanned::new(self.span(key.span()), key.get_ref().clone())
    }

    fn fill(&self, value: &Value<'a>) -> Value<'a> {
        let filled = match value.get_ref() {
            DeValue::String(text) if placeholder::has_placeholder(text) => {
                match placeholder::split(text) {
                    Ok(pieces) => match pieces.as_slice() {
                        // A whole-string placeholder keeps the param's type and the
                        // place its value was written.
                        [Piece::Param(name, _)] => match self.value_of(name) {
                            Some(param) => return param.value.clone(),
                            None => value.get_ref().clone(),
                        },
                        _ => DeValue::String(Cow::Owned(self.text(&pieces))),
                    },
                    Err(_) => value.get_ref().clone(),
                }
            }
            DeValue::Table(table) => DeValue::Table(
                table
                    .iter()
                    .map(|(key, inner)| (self.key(key), self.fill(inner)))
                    .collect(),
            ),
            DeValue::Array(items) => {
                let mut array = DeArray::new();
                for item in items.iter() {
                    array.push(self.fill(item));
                }
                DeValue::Array(array)
            }
            other => other.clone(),
        };
        Spanned::new(self.span(value.span()), filled)
    }

    fn value_of(&self, name: &str) -> Option<&ParamValue<'a>> {
        self.values.iter().find(|param| param.name == name)
    }

    fn text(&self, pieces: &[Piece<'_>]) -> String {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Param(name, _) => match self.value_of(name) {
                    Some(param) => out.push_str(&params::as_text(param.ty, param.value.get_ref())),
                    // Checked when the blueprint loaded; kept visible if it ever slips.
                    None => {
                        out.push_str("${params.");
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        out
    }
}
