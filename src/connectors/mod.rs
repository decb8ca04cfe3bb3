//! Connector kinds: each declares its settings (decoded from its integration's table),
//! which of them are secrets (`Credential` fields), and its roles.

pub mod file;
pub mod http;
pub mod webhook;

use serde::Serialize;

use crate::config::de::{Decoded, OuterKeys, Value, decode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
    pub decode: fn(&Value<'_>) -> Decoded<KindSettings>,
}

impl KindSpec {
    /// Sources and checks run on a schedule; outputs run when records reach them.
    pub fn scheduled(&self) -> bool {
        self.roles
            .iter()
            .any(|r| matches!(r, Role::Source | Role::Check))
    }
}

/// The typed, kind-specific settings of one integration.
#[derive(Debug, Clone)]
pub enum KindSettings {
    Http(Box<http::HttpSettings>),
    Webhook(webhook::WebhookSettings),
    File(file::FileSettings),
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
        decode: |v| decode_into(v, |s| KindSettings::Http(Box::new(s))),
    },
    KindSpec {
        name: "webhook",
        roles: &[Role::Output],
        decode: |v| decode_into(v, KindSettings::Webhook),
    },
    KindSpec {
        name: "file",
        roles: &[Role::Output],
        decode: |v| decode_into(v, KindSettings::File),
    },
];

pub fn kind(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.name == name)
}
