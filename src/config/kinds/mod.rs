//! The connector kinds patchbay knows, in one table: each kind's name in
//! `kind = "..."`, its roles, whether it runs on a schedule, and how its settings are
//! decoded. The settings are plain values here; what each kind does with them is
//! `crate::connectors`, which builds a connector from `KindSettings`.

pub mod check;
pub mod graphql;
pub mod http;
pub mod outputs;
pub mod sql;
pub mod webhook_in;

use serde::Serialize;

use super::de::{Decoded, OuterKeys, Value, decode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Produces records on a schedule.
    Source,
    /// Accepts records from the integrations that name it in `outputs`.
    Output,
    /// Probes something on a schedule and reports health.
    Check,
}

/// A connector blueprint: its name in `kind = "..."`, its roles, and how to decode the
/// kind-specific keys of an integration table.
#[derive(Debug)]
pub struct KindSpec {
    pub name: &'static str,
    pub roles: &'static [Role],
    /// Runs on `cron`/`every`. Outputs run when records reach them, `webhook_in` when
    /// events arrive.
    pub scheduled: bool,
    /// A kind with more than one role has one spec per role; the table's having this
    /// key picks this one (`kind = "sql"` with `table` is an output).
    pub selected_by: Option<&'static str>,
    pub decode: fn(&Value<'_>) -> Decoded<KindSettings>,
}

/// The typed, kind-specific settings of one integration.
#[derive(Debug, Clone)]
pub enum KindSettings {
    Http(Box<http::HttpSettings>),
    Graphql(Box<graphql::GraphqlSettings>),
    Feed(outputs::FeedSettings),
    WebhookIn(webhook_in::WebhookInSettings),
    Webhook(outputs::WebhookSettings),
    Slack(outputs::ChatSettings),
    Discord(outputs::ChatSettings),
    File(outputs::FileSettings),
    Check(Box<check::CheckSettings>),
    SqlSource(Box<sql::SqlSourceSettings>),
    SqlOutput(Box<sql::SqlOutputSettings>),
}

fn decode_into<T>(value: &Value<'_>, wrap: fn(T) -> KindSettings) -> Decoded<KindSettings>
where
    T: for<'de> serde::Deserialize<'de>,
{
    let decoded = decode::<T>(value, OuterKeys::Ignore);
    Decoded {
        value: decoded.value.map(wrap),
        problems: decoded.problems,
        outer_fields: decoded.outer_fields,
    }
}

pub static KINDS: &[KindSpec] = &[
    KindSpec {
        name: "http",
        roles: &[Role::Source],
        scheduled: true,
        selected_by: None,
        decode: |v| decode_into(v, |s| KindSettings::Http(Box::new(s))),
    },
    KindSpec {
        name: "graphql",
        roles: &[Role::Source],
        scheduled: true,
        selected_by: None,
        decode: |v| decode_into(v, |s| KindSettings::Graphql(Box::new(s))),
    },
    KindSpec {
        name: "feed",
        roles: &[Role::Source],
        scheduled: true,
        selected_by: None,
        decode: |v| decode_into(v, KindSettings::Feed),
    },
    KindSpec {
        name: "webhook_in",
        roles: &[Role::Source],
        scheduled: false,
        selected_by: None,
        decode: |v| decode_into(v, KindSettings::WebhookIn),
    },
    KindSpec {
        name: "check",
        roles: &[Role::Check],
        scheduled: true,
        selected_by: None,
        decode: |v| decode_into(v, |s| KindSettings::Check(Box::new(s))),
    },
    KindSpec {
        name: "webhook",
        roles: &[Role::Output],
        scheduled: false,
        selected_by: None,
        decode: |v| decode_into(v, KindSettings::Webhook),
    },
    KindSpec {
        name: "slack",
        roles: &[Role::Output],
        scheduled: false,
        selected_by: None,
        decode: |v| decode_into(v, KindSettings::Slack),
    },
    KindSpec {
        name: "discord",
        roles: &[Role::Output],
        scheduled: false,
        selected_by: None,
        decode: |v| decode_into(v, KindSettings::Discord),
    },
    KindSpec {
        name: "file",
        roles: &[Role::Output],
        scheduled: false,
        selected_by: None,
        decode: |v| decode_into(v, KindSettings::File),
    },
    KindSpec {
        name: "sql",
        roles: &[Role::Source],
        scheduled: true,
        selected_by: None,
        decode: |v| decode_into(v, |s| KindSettings::SqlSource(Box::new(s))),
    },
    KindSpec {
        name: "sql",
        roles: &[Role::Output],
        scheduled: false,
        selected_by: Some("table"),
        decode: |v| decode_into(v, |s| KindSettings::SqlOutput(Box::new(s))),
    },
];

/// The spec of `kind = name` for a table that has the keys `has_key` says it has.
pub fn resolve(name: &str, has_key: impl Fn(&str) -> bool) -> Option<&'static KindSpec> {
    let mut specs = KINDS.iter().filter(|k| k.name == name);
    specs
        .clone()
        .find(|k| k.selected_by.is_some_and(&has_key))
        .or_else(|| specs.find(|k| k.selected_by.is_none()))
}

/// Every kind name once, in table order, for help texts.
pub fn names() -> impl Iterator<Item = &'static str> {
    let mut seen = Vec::new();
    KINDS.iter().map(|k| k.name).filter(move |name| {
        let new = !seen.contains(name);
        seen.push(name);
        new
    })
}
