//! Reading `connectors.toml`: parse, decode every table, validate across tables, and
//! collect every problem instead of stopping at the first.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::alert::AlertRule;
use super::alert_rules::{Known, decode_alerts};
use super::blueprint::{BlueprintInfo, Blueprints, Instance, Library, ParsedFile};
use super::de::{OuterKeys, Value, decode, unknown_key_help};
use super::keys::{Keymap, decode_keys};
use super::model::{CommonKeys, DEFAULT_TIMEOUT, Integration, Settings};
use super::problem::{Problem, SourceFile};
use super::references::secret_references;
use super::schedule::{CronExpr, Schedule};
use super::source_text::{integration_text, mask_credentials, masked_json};
use crate::config::kinds::http::Paginate;
use crate::config::kinds::{self, KindSettings, Role};
use crate::domain::did_you_mean;

const TOP_LEVEL_KEYS: [&str; 5] = ["settings", "keys", "integration", "alert", "blueprint"];

/// A loaded config: whatever could be understood, plus every problem found.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: SourceFile,
    pub settings: Settings,
    /// The console's keys: the defaults with the `[keys]` overrides.
    pub keys: Keymap,
    /// The integrations that decoded; with errors present this may be incomplete.
    pub integrations: Vec<Integration>,
    /// The `[[alert]]` rules that decoded.
    pub alerts: Vec<AlertRule>,
    /// How many `[[integration]]` and `[[alert]]` tables the file has, decoded or not.
    pub declared: Declared,
    /// Every blueprint that can be used, shipped, shared or declared here.
    pub blueprints: Vec<BlueprintInfo>,
    /// Each blueprint instance as it expanded, credentials masked, by integration name.
    pub expanded: BTreeMap<String, serde_json::Value>,
    pub problems: Vec<Problem>,
}

impl Config {
    /// No problem of error severity: the config may be run.
    pub fn is_valid(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }

    pub fn integration(&self, name: &str) -> Option<&Integration> {
        self.integrations.iter().find(|i| i.name == name)
    }

    /// All problems rendered for a terminal, errors and warnings in file order.
    pub fn render_problems(&self) -> String {
        self.problems
            .iter()
            .map(|p| p.render(&self.source))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads and checks a config file, with the blueprints shipped, in the user's
    /// config dir and next to it. Failing to read the file at all is the only `Err`.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Ok(Self::parse_with(
            SourceFile::new(path, text),
            &Library::discover(path),
        ))
    }

    /// Only `[settings]` and `[keys]`, unchecked beyond their own decoding (a part that
    /// does not decode is left at its default): what a console attached to a service
    /// needs, and where the service's socket is. Checking every integration of a
    /// 10,000-integration file the console never runs took most of its first frame.
    pub fn load_settings(path: &Path) -> std::io::Result<(Settings, Keymap)> {
        let text = std::fs::read_to_string(path)?;
        let mut settings = Settings::default();
        let mut keys = Keymap::default();
        if let Ok(root) = DeTable::parse(&text) {
            for (key, value) in root.get_ref() {
                match key.get_ref().as_ref() {
                    "settings" => {
                        if let Ok(decoded) = decode::<Settings>(value, OuterKeys::Report).value {
                            settings = decoded;
                        }
                    }
                    "keys" => keys = decode_keys(value, &mut Vec::new()),
                    _ => {}
                }
            }
        }
        Ok((settings, keys))
    }

    /// Checks a config's text with only the shipped blueprints.
    pub fn parse(source: SourceFile) -> Self {
        Self::parse_with(source, &Library::shipped())
    }

    pub fn parse_with(source: SourceFile, library: &Library) -> Self {
        let mut loader = Loader {
            problems: library.problems.clone(),
            ..Loader::default()
        };
        let parsed = parse_library(library, &mut loader.problems);
        let (settings, integrations, alerts) = match DeTable::parse(&source.text) {
            Ok(root) => {
                let base_dir = source.path.parent().unwrap_or(Path::new(".")).to_owned();
                loader.root(&root, &source.text, &base_dir, &parsed)
            }
            Err(error) => {
                loader.problems.push(
                    Problem::error(
                        format!("invalid TOML: {}", error.message().trim()),
                        error.span(),
                    )
                    .with_help(
                        "fix the syntax at this place; strings need quotes, tables need [brackets]",
                    ),
                );
                (Settings::default(), Vec::new(), Vec::new())
            }
        };
        let mut problems = loader.problems;
        problems.sort_by_key(|p| p.span.as_ref().map_or(usize::MAX, |s| s.start));
        Self {
            source,
            settings,
            keys: loader.keys,
            integrations,
            alerts,
            problems,
            declared: loader.declared,
            blueprints: loader.blueprints,
            expanded: loader.expanded,
        }
    }
}

/// Parses each blueprint file into its `[[blueprint]]` tables; a file that does not
/// parse, or holds anything else, is a problem located in that file.
fn parse_library<'l>(
    library: &'l Library,
    problems: &mut Vec<Problem>,
) -> Vec<(&'l super::blueprint::BlueprintFile, Spanned<DeTable<'l>>)> {
    let mut parsed = Vec::new();
    for file in &library.files {
        match DeTable::parse(&file.source.text) {
            Ok(root) => parsed.push((file, root)),
            Err(error) => problems.push(
                Problem::error(
                    format!(
                        "invalid TOML in a blueprint file: {}",
                        error.message().trim()
                    ),
                    error.span(),
                )
                .with_help("fix the syntax at this place; its blueprints are not available")
                .in_file(&file.source),
            ),
        }
    }
    parsed
}

/// Counts of the tables a file declares, whatever became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Declared {
    pub integrations: usize,
    pub alerts: usize,
}

#[derive(Default)]
struct Loader {
    problems: Vec<Problem>,
    keys: Keymap,
    declared: Declared,
    blueprints: Vec<BlueprintInfo>,
    expanded: BTreeMap<String, serde_json::Value>,
}

impl Loader {
    fn root<'a>(
        &mut self,
        root: &'a Spanned<DeTable<'a>>,
        text: &str,
        base_dir: &Path,
        library: &'a [(&'a super::blueprint::BlueprintFile, Spanned<DeTable<'a>>)],
    ) -> (Settings, Vec<Integration>, Vec<AlertRule>) {
        let mut settings = Settings::default();
        let mut settings_fingerprint = 0;
        let mut tables = Vec::new();
        let mut alert_tables = Vec::new();
        let mut blueprint_tables = Vec::new();
        for (key, value) in root.get_ref() {
            match key.get_ref().as_ref() {
                "settings" => {
                    settings_fingerprint = fingerprint(value);
                    let decoded = decode::<Settings>(value, OuterKeys::Report);
                    self.problems.extend(decoded.problems);
                    match decoded.value {
                        Ok(s) => settings = s,
                        Err(e) => self.problems.push(e.into_problem()),
                    }
                }
                "keys" => self.keys = decode_keys(value, &mut self.problems),
                "integration" | "alert" | "blueprint" => match value.get_ref() {
                    DeValue::Array(items) if key.get_ref() == "alert" => {
                        alert_tables.extend(items.iter())
                    }
                    DeValue::Array(items) if key.get_ref() == "blueprint" => {
                        blueprint_tables.extend(items.iter())
                    }
                    DeValue::Array(items) => tables.extend(items.iter()),
                    _ => self.problems.push(
                        Problem::error(
                            format!("`{}` must be an array of tables", key.get_ref()),
                            Some(value.span()),
                        )
                        .with_help(format!(
                            "declare each under its own [[{}]] header",
                            key.get_ref()
                        )),
                    ),
                },
                other => self.problems.push(
                    Problem::error(format!("unknown top-level key `{other}`"), Some(key.span()))
                        .with_help(unknown_key_help(other, &TOP_LEVEL_KEYS)),
                ),
            }
        }
        let library: Vec<ParsedFile<'a>> = library
            .iter()
            .map(|(file, root)| ParsedFile {
                file,
                tables: blueprint_tables_of(file, root, &mut self.problems),
            })
            .collect();
        let blueprints = Blueprints::decode(&library, &blueprint_tables, text, &mut self.problems);
        self.blueprints = blueprints.infos();
        let instances: Vec<Instance<'a>> = tables
            .into_iter()
            .map(|table| blueprints.instantiate(table, &mut self.problems))
            .collect();
        let raw: Vec<RawIntegration> = instances
            .iter()
            .map(|instance| RawIntegration::new(instance.table()))
            .collect();
        let mut integrations = Vec::new();
        let mut seen = HashMap::new();
        for (index, (table, instance)) in raw.iter().zip(&instances).enumerate() {
            if let Some(name) = &table.name {
                if seen.contains_key(name.as_str()) {
                    self.problems.push(
                        Problem::error(
                            format!("duplicate integration name `{name}`"),
                            table.name_span.clone(),
                        )
                        .with_help("every integration needs a unique name; rename one of them"),
                    );
                    continue;
                }
                seen.insert(name.as_str(), index);
            }
            if matches!(instance, Instance::Broken(_)) {
                continue;
            }
            if let Some(mut integration) = self.integration(table.value, &settings, base_dir) {
                integration.fingerprint = fingerprint(table.value) ^ settings_fingerprint;
                let written = instance.written();
                let start = written.span().start;
                integration.source_text = mask_credentials(
                    &integration_text(text, start),
                    start,
                    written,
                    integration.kind.name,
                );
                if let Instance::Expanded { blueprint, .. } = instance {
                    integration.blueprint = Some(blueprint.clone());
                    self.expanded.insert(
                        integration.name.clone(),
                        masked_json(table.value, integration.kind.name),
                    );
                }
                integrations.push(integration);
            }
        }
        for table in &raw {
            self.check_outputs(table, &raw, &seen);
        }
        let known: Vec<Known<'_>> = raw
            .iter()
            .filter_map(|t| Some((t.name.as_deref()?, t.kind)))
            .collect();
        let alerts = decode_alerts(&alert_tables, &known, &mut self.problems);
        self.declared = Declared {
            integrations: raw.len(),
            alerts: alert_tables.len(),
        };
        (settings, integrations, alerts)
    }

    fn integration(
        &mut self,
        value: &Value<'_>,
        settings: &Settings,
        base_dir: &Path,
    ) -> Option<Integration> {
        let DeValue::Table(table) = value.get_ref() else {
            self.problems.push(Problem::error(
                "an integration must be a table",
                Some(value.span()),
            ));
            return None;
        };
        let decoded = decode::<CommonKeys>(value, OuterKeys::Ignore);
        let common_fields = decoded.outer_fields;
        let name = string_at(table, "name");
        let mut problems: Vec<Problem> = decoded.problems;
        let common = match decoded.value {
            Ok(common) => Some(common),
            Err(error) => {
                problems.push(error.into_problem());
                None
            }
        };
        let kind = name_kind(table, &mut problems);
        let mut kind_fields: &[&str] = &[];
        let settings_result = kind.map(|kind| {
            let decoded = (kind.decode)(value);
            kind_fields = decoded.outer_fields;
            problems.extend(decoded.problems);
            decoded
                .value
                .map_err(|mut e| {
                    // A check of the settings as a whole (`sql` needs `query` or
                    // `table`) points at the integration.
                    if e.span.as_ref().is_none_or(Range::is_empty) {
                        e.span = table_span(table);
                    }
                    problems.push(e.into_problem());
                })
                .ok()
        });
        if kind.is_some() {
            report_leftover_keys(table, common_fields, kind_fields, &mut problems);
        }
        let secrets = secret_references(value, &mut problems);
        if let Some(name) = &name
            && !is_valid_name(name)
        {
            problems.push(
                Problem::error(
                    format!("invalid integration name `{name}`"),
                    span_of(table, "name"),
                )
                .with_help("use lowercase letters, digits, `-` and `_` only"),
            );
        }
        if let (Some(common), Some(kind)) = (&common, kind)
            && common.pipeline.is_some()
            && !kind.roles.contains(&Role::Source)
        {
            problems.push(
                Problem::error(format!("a `{}` integration has no records to transform", kind.name), span_of(table, "pipeline"))
                    .with_help("[integration.pipeline] belongs to sources; move it to the integration that fetches the records"),
            );
        }
        if let Some(Some(KindSettings::Http(http))) = &settings_result
            && let Some(incremental) = &http.incremental
            && incremental.order.is_none()
        {
            problems.push(
                Problem::warning(
                    "incremental sync without `order`: a run that stops early (a failed page, `max_pages`) keeps the old cursor, so it makes no progress",
                    span_of(table, "incremental"),
                )
                .with_help("if the API lists oldest first by `cursor_field`, add `order = \"ascending\"` (ask it to sort, e.g. `sort=updated_at`); newest first is `order = \"descending\"`"),
            );
        }
        if let Some(Some(KindSettings::Http(http))) = &settings_result
            && http.request.body.is_none()
        {
            let unsent = [
                (
                    http.incremental.as_ref().is_some_and(|i| i.param.is_none()),
                    "incremental",
                    "the cursor",
                ),
                (
                    matches!(&http.paginate, Paginate::Cursor { param: None, .. }),
                    "paginate",
                    "the page cursor",
                ),
            ];
            for (_, key, what) in unsent.into_iter().filter(|(missing, _, _)| *missing) {
                problems.push(
                    Problem::warning(
                        format!("{what} is never sent: `{key}` has no `param` and the request has no `body`"),
                        span_of(table, key),
                    )
                    .with_help(format!("add `param = \"...\"` to [integration.{key}], or send it in `request.body`")),
                );
            }
        }
        let schedule = match (&common, kind) {
            (Some(common), Some(kind)) => schedule(common, kind, table, &mut problems),
            _ => None,
        };
        let has_errors = problems.iter().any(Problem::is_error);
        self.problems.extend(
            problems
                .into_iter()
                .map(|p| p.in_integration(name.as_deref())),
        );
        let (Some(common), Some(kind), Some(Some(kind_settings))) = (common, kind, settings_result)
        else {
            return None;
        };
        if has_errors {
            return None;
        }
        let timeout = common.timeout.map_or(DEFAULT_TIMEOUT, Into::into);
        let mut kind_settings = kind_settings;
        // A relative output file lives next to the config, wherever patchbay was started.
        match &mut kind_settings {
            KindSettings::File(file) if file.path.is_relative() => {
                file.path = base_dir.join(&file.path);
            }
            KindSettings::SqlSource(sql) => sql.connection.anchor(base_dir),
            KindSettings::SqlOutput(sql) => sql.connection.anchor(base_dir),
            _ => {}
        }
        Some(Integration {
            name: common.name,
            kind,
            enabled: common.enabled,
            schedule,
            timezone: common.timezone.unwrap_or(settings.timezone).0,
            jitter: common.jitter.map(Into::into),
            catch_up: common.catch_up,
            timeout,
            request_timeout: common
                .request_timeout
                .map_or(timeout, Into::into)
                .min(timeout),
            rate_limit: common.rate_limit,
            quota: common.quota,
            retry: common.retry,
            pause_after_failures: common.pause_after_failures,
            failure_threshold: common.failure_threshold.max(1),
            success_threshold: common.success_threshold.max(1),
            slow_after: common.slow_after.map(Into::into),
            maintenance: common.maintenance,
            outputs: common.outputs,
            auth: common.auth,
            tags: common.tags,
            description: common.description,
            settings: kind_settings,
            pipeline: common.pipeline.unwrap_or_default(),
            secrets,
            fingerprint: 0,
            source_text: String::new(),
            blueprint: None,
        })
    }

    /// Checks every integration's `outputs` against the raw tables, so that a broken
    /// integration still has its outputs checked and a broken target is still found.
    fn check_outputs(
        &mut self,
        table: &RawIntegration<'_>,
        all: &[RawIntegration<'_>],
        by_name: &HashMap<&str, usize>,
    ) {
        for (output, span) in &table.outputs {
            let target = by_name.get(output.as_str()).map(|i| &all[*i]);
            let problem = match target {
                None => {
                    let names = by_name.keys().copied();
                    let help = match did_you_mean(output, names) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => OUTPUT_HELP.to_owned(),
                    };
                    Problem::error(format!("output `{output}` is not an integration"), Some(span.clone()))
                        .with_help(help)
                }
                Some(target) if target.name == table.name => {
                    Problem::error("an integration cannot be its own output", Some(span.clone()))
                }
                Some(target) => match target.kind {
                    Some(kind) if !kind.roles.contains(&Role::Output) => Problem::error(
                        format!("output `{output}` is a `{}` integration, which does not accept records", kind.name),
                        Some(span.clone()),
                    )
                    .with_help(OUTPUT_HELP),
                    _ => continue,
                },
            };
            self.problems
                .push(problem.in_integration(table.name.as_deref()));
        }
    }
}

const OUTPUT_HELP: &str =
    "name an integration of an output kind (webhook, slack, discord, file, sql with `table`)";

/// What the cross-table checks need from an integration table, read before decoding
/// so that they work even when the table itself has errors.
struct RawIntegration<'a> {
    value: &'a Value<'a>,
    name: Option<String>,
    name_span: Option<Range<usize>>,
    kind: Option<&'static kinds::KindSpec>,
    outputs: Vec<(String, Range<usize>)>,
}

impl<'a> RawIntegration<'a> {
    fn new(value: &'a Value<'a>) -> Self {
        let table = value.get_ref().as_table();
        let outputs = match table
            .and_then(|t| entry(t, "outputs"))
            .map(Spanned::get_ref)
        {
            Some(DeValue::Array(items)) => items
                .iter()
                .filter_map(|item| Some((item.get_ref().as_str()?.to_owned(), item.span())))
                .collect(),
            _ => Vec::new(),
        };
        Self {
            value,
            name: table.and_then(|t| string_at(t, "name")),
            name_span: table.and_then(|t| span_of(t, "name")),
            kind: table.and_then(|t| {
                kinds::resolve(&string_at(t, "kind")?, |key| entry(t, key).is_some())
            }),
            outputs,
        }
    }
}

/// The `[[blueprint]]` tables of a blueprint file; any other top-level key is a problem
/// located in that file.
fn blueprint_tables_of<'a>(
    file: &super::blueprint::BlueprintFile,
    root: &'a Spanned<DeTable<'a>>,
    problems: &mut Vec<Problem>,
) -> Vec<&'a Value<'a>> {
    let mut tables = Vec::new();
    for (key, value) in root.get_ref() {
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("blueprint", DeValue::Array(items)) => tables.extend(items.iter()),
            (other, _) => problems.push(
                Problem::error(
                    format!("a blueprint file holds only [[blueprint]] tables, not `{other}`"),
                    Some(key.span()),
                )
                .with_help("declare each blueprint under its own [[blueprint]] header")
                .in_file(&file.source),
            ),
        }
    }
    tables
}

fn name_kind(table: &DeTable<'_>, problems: &mut Vec<Problem>) -> Option<&'static kinds::KindSpec> {
    let kind = string_at(table, "kind")?;
    let found = kinds::resolve(&kind, |key| entry(table, key).is_some());
    if found.is_none() {
        let help = match did_you_mean(&kind, kinds::names()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "the kinds are {}",
                kinds::names()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        problems.push(
            Problem::error(format!("unknown kind `{kind}`"), span_of(table, "kind"))
                .with_help(help),
        );
    }
    found
}

fn report_leftover_keys(
    table: &DeTable<'_>,
    common: &[&str],
    kind: &[&str],
    problems: &mut Vec<Problem>,
) {
    let allowed: Vec<&str> = common.iter().chain(kind).copied().collect();
    for (key, _) in table {
        let key_text = key.get_ref().as_ref();
        if !allowed.contains(&key_text) {
            problems.push(
                Problem::error(format!("unknown key `{key_text}`"), Some(key.span()))
                    .with_help(unknown_key_help(key_text, &allowed)),
            );
        }
    }
}

fn schedule(
    common: &CommonKeys,
    kind: &kinds::KindSpec,
    table: &DeTable<'_>,
    problems: &mut Vec<Problem>,
) -> Option<Schedule> {
    let schedule = match (&common.cron, common.every) {
        (Some(_), Some(_)) => {
            problems.push(
                Problem::error("both `cron` and `every` are set", span_of(table, "every"))
                    .with_help("keep one: `cron` for calendar times, `every` for a fixed interval"),
            );
            return None;
        }
        (Some(expr), None) => match expr.parse::<CronExpr>() {
            Ok(expr) => Some(Schedule::Cron(Box::new(expr))),
            Err(message) => {
                problems.push(Problem::error(message, span_of(table, "cron")).with_help(
                    "write 5 fields (\"*/5 * * * *\"), or 6 with seconds in front (\"0 */5 * * * *\")",
                ));
                return None;
            }
        },
        (None, Some(every)) if every.as_std().is_zero() => {
            problems.push(
                Problem::error("`every` must be longer than zero", span_of(table, "every"))
                    .with_help("write an interval such as \"30s\" or \"5m\""),
            );
            return None;
        }
        (None, Some(every)) => Some(Schedule::every(every.as_std(), &common.name)),
        (None, None) => None,
    };
    match (kind.scheduled, &schedule) {
        (true, None) => problems.push(
            Problem::error(
                format!("a `{}` integration needs a schedule", kind.name),
                table_span(table),
            )
            .with_help("add `cron = \"*/5 * * * *\"` or `every = \"30s\"`"),
        ),
        (false, Some(_)) => problems.push(
            Problem::error(
                format!("a `{}` integration does not run on a schedule", kind.name),
                span_of(table, "cron").or_else(|| span_of(table, "every")),
            )
            .with_help("remove `cron`/`every`: it runs when records or requests reach it"),
        ),
        _ => {}
    }
    schedule
}

/// A hash of a value's content (keys, values, nesting), not of its formatting.
fn fingerprint(value: &Value<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    fn feed(value: &DeValue<'_>, hasher: &mut std::hash::DefaultHasher) {
        std::mem::discriminant(value).hash(hasher);
        match value {
            DeValue::String(s) => s.hash(hasher),
            DeValue::Integer(i) => (i.as_str(), i.radix()).hash(hasher),
            DeValue::Float(f) => f.as_str().hash(hasher),
            DeValue::Boolean(b) => b.hash(hasher),
            DeValue::Datetime(d) => d.to_string().hash(hasher),
            DeValue::Array(items) => items.iter().for_each(|item| feed(item.get_ref(), hasher)),
            DeValue::Table(table) => {
                for (key, item) in table {
                    key.get_ref().hash(hasher);
                    feed(item.get_ref(), hasher);
                }
            }
        }
    }
    let mut hasher = std::hash::DefaultHasher::new();
    feed(value.get_ref(), &mut hasher);
    hasher.finish()
}

pub(super) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn entry<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Value<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

pub(super) fn span_of(table: &DeTable<'_>, key: &str) -> Option<Range<usize>> {
    entry(table, key).map(Spanned::span)
}

pub(super) fn table_span(table: &DeTable<'_>) -> Option<Range<usize>> {
    // The first key is the closest thing to a `[[integration]]` or `[[blueprint]]`
    // header we can point at.
    table.iter().next().map(|(k, _)| k.span())
}

fn string_at(table: &DeTable<'_>, key: &str) -> Option<String> {
    entry(table, key)?.get_ref().as_str().map(str::to_owned)
}
