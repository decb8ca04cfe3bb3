//! `kind = "check"`: the settings of a health check, its probe and its conditions.
//! The probing is `connectors::check`.

use std::time::Duration;

use serde::Deserialize;

use crate::config::condition::Condition;
use crate::config::credential::Credential;
use crate::config::duration::HumanDuration;
use crate::config::kinds::sql::Connection;
use crate::config::url::ConfigUrl;

#[derive(Debug, Clone, Deserialize)]
pub struct CheckSettings {
    pub probe: Probe,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// `probe = { http = "...", method = "GET", timeout = "3s" }`, or `{ tcp = "host:port" }`,
/// or `{ tls = "host:443" }`, or `{ sql = "secret:pg_url", query = "SELECT 1" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ProbeTable")]
pub struct Probe {
    pub target: Target,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum Target {
    Http {
        url: ConfigUrl,
        method: reqwest::Method,
    },
    Tcp(String),
    Tls(String),
    Sql {
        connection: Connection,
        query: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeTable {
    http: Option<ConfigUrl>,
    tcp: Option<String>,
    tls: Option<String>,
    sql: Option<Credential>,
    query: Option<String>,
    method: Option<String>,
    timeout: Option<HumanDuration>,
}

impl TryFrom<ProbeTable> for Probe {
    type Error = String;

    fn try_from(table: ProbeTable) -> Result<Self, String> {
        let target = match (table.http, table.tcp, table.tls, table.sql) {
            (Some(url), None, None, None) => {
                let method = table.method.as_deref().unwrap_or("GET").to_uppercase();
                let method = match method.as_str() {
                    "GET" | "HEAD" | "POST" => method
                        .parse::<reqwest::Method>()
                        .map_err(|e| e.to_string())?,
                    other => return Err(format!("probe method `{other}`: use GET, HEAD or POST")),
                };
                Target::Http { url, method }
            }
            (None, Some(address), None, None) => Target::Tcp(host_port(address)?),
            (None, None, Some(address), None) => Target::Tls(host_port(address)?),
            (None, None, None, Some(url)) => Target::Sql {
                connection: Connection {
                    url,
                    password: None,
                    pool_size: 1,
                },
                query: table
                    .query
                    .clone()
                    .ok_or("a `sql` probe needs `query`, e.g. query = \"SELECT 1\"")?,
            },
            _ => return Err("a probe has exactly one of `http`, `tcp`, `tls` or `sql`".into()),
        };
        if table.query.is_some() && !matches!(target, Target::Sql { .. }) {
            return Err("`query` belongs to a `sql` probe".into());
        }
        if table.method.is_some() && !matches!(target, Target::Http { .. }) {
            return Err("`method` belongs to an `http` probe".into());
        }
        Ok(Self {
            target,
            timeout: table.timeout.map_or(Duration::from_secs(10), Into::into),
        })
    }
}

fn host_port(address: String) -> Result<String, String> {
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(address),
        _ => Err(format!(
            "`{address}` is not host:port, e.g. \"db.internal:5432\""
        )),
    }
}
