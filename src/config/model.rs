//! The typed configuration that the rest of patchbay reads.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, de};

use super::alert::Maintenance;
use super::credential::Credential;
use super::duration::HumanDuration;
use super::schedule::Schedule;
use super::url::ConfigUrl;
use crate::config::kinds::{KindSettings, KindSpec};
use crate::config::pipeline::PipelineSpec;
use crate::domain::did_you_mean;

/// The largest response body accepted, so a runaway endpoint cannot exhaust memory.
pub const DEFAULT_MAX_BODY: usize = 32 * 1024 * 1024;

/// `[settings]`: every key optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub data_dir: Option<String>,
    pub timezone: Timezone,
    pub max_concurrent_runs: usize,
    /// Requests in flight at once to one host, across all integrations.
    pub max_concurrent_requests_per_host: NonZeroU32,
    /// Where `webhook_in` integrations receive events.
    pub webhook_listen: std::net::SocketAddr,
    /// The largest response body accepted; a larger one fails the request (`decode`).
    pub max_response_bytes: usize,
    /// The console's theme: a built-in one or `$XDG_CONFIG_HOME/patchbay/themes/NAME.toml`.
    pub theme: String,
    /// Log events the console keeps in memory for its Logs pane.
    pub log_buffer: usize,
    pub retention: Retention,
    /// How long an alert rule collects firing integrations before it notifies, so a
    /// burst of failures is one message.
    pub alert_group_wait: HumanDuration,
    /// Where the service serves Prometheus `/metrics` and `/healthz`; off when unset.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The group whose members may attach to the service's control socket (mode 0660);
    /// unset, only the service's own user may (0600).
    pub console_group: Option<String>,
    /// OS users (`alice`) and groups (`group:support`) that attach read-only.
    pub viewers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: None,
            timezone: Timezone(Tz::UTC),
            max_concurrent_runs: 64,
            max_concurrent_requests_per_host: NonZeroU32::new(16).expect("non-zero"),
            webhook_listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8787)),
            max_response_bytes: DEFAULT_MAX_BODY,
            theme: "default".to_owned(),
            log_buffer: 5_000,
            retention: Retention::default(),
            alert_group_wait: HumanDuration(Duration::from_secs(30)),
            metrics_listen: None,
            console_group: None,
            viewers: Vec::new(),
        }
    }
}

/// `retention = { days = 30, runs_per_integration = 10000 }`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Retention {
    pub days: u32,
    pub runs_per_integration: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            days: 30,
            runs_per_integration: 10_000,
        }
    }
}

/// An IANA time zone name such as `Europe/Berlin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(pub Tz);

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse::<Tz>().map(Timezone).map_err(|_| {
            let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
            match did_you_mean(&name, names) {
                Some(close) => de::Error::custom(format!(
                    "unknown time zone `{name}`; did you mean `{close}`?"
                )),
                None => de::Error::custom(format!(
                    "unknown time zone `{name}`; use an IANA name like \"UTC\" or \"Europe/Berlin\""
                )),
            }
        })
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// `rate_limit = { requests = 60, per = "1m", burst = 10 }`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct RateLimit {
    pub requests: NonZeroU32,
    pub per: HumanDuration,
    pub burst: Option<NonZeroU32>,
}

/// `quota = { remaining = "X-RateLimit-Remaining", limit = "X-RateLimit-Limit",
/// reset = "X-RateLimit-Reset", reset_is = "epoch" }`: the response headers in which an
/// API says how much of its quota is left, so requests slow down before it runs out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaHeaders {
    pub remaining: String,
    pub limit: Option<String>,
    pub reset: Option<String>,
    #[serde(default)]
    pub reset_is: ResetIs,
}

/// How a quota's reset header reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetIs {
    /// Unix seconds when the quota is full again (GitHub).
    #[default]
    Epoch,
    /// Seconds from now until it is (the IETF draft's `RateLimit-Reset`).
    Seconds,
}

/// `retry = { max_attempts = 5, base_delay = "500ms", max_delay = "30s" }`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: HumanDuration,
    pub max_delay: HumanDuration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: HumanDuration(Duration::from_millis(500)),
            max_delay: HumanDuration(Duration::from_secs(30)),
        }
    }
}

/// What a schedule missed while patchbay was down does at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    #[default]
    Skip,
    Once,
}

/// `[integration.auth]`, shared by every kind that talks HTTP.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    #[default]
    None,
    ApiKey {
        key: Credential,
        #[serde(rename = "in", default)]
        location: ApiKeyLocation,
        name: String,
        /// Text before the key in the header or parameter: `"Token token="`.
        #[serde(default)]
        prefix: String,
    },
    Bearer {
        token: Credential,
    },
    Basic {
        /// A credential too: some APIs (BambooHR) take the API key as the user.
        username: Credential,
        password: Credential,
    },
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials {
        token_url: ConfigUrl,
        client_id: String,
        client_secret: Credential,
        #[serde(default)]
        scopes: Vec<String>,
    },
    #[serde(rename = "oauth2_refresh_token")]
    OAuth2RefreshToken {
        token_url: ConfigUrl,
        client_id: String,
        client_secret: Option<Credential>,
        refresh_token: Credential,
        #[serde(default)]
        scopes: Vec<String>,
    },
    #[serde(rename = "oauth2_device")]
    OAuth2Device {
        device_authorization_url: ConfigUrl,
        token_url: ConfigUrl,
        client_id: String,
        #[serde(default)]
        scopes: Vec<String>,
    },
    /// The authorization-code grant with PKCE, authorized once by `patchbay auth NAME`
    /// (the operator's browser may be on another machine than patchbay).
    #[serde(rename = "oauth2_authorization_code")]
    OAuth2AuthorizationCode {
        authorize_url: ConfigUrl,
        token_url: ConfigUrl,
        client_id: String,
        /// Confidential clients only; PKCE protects public ones.
        client_secret: Option<Credential>,
        #[serde(default)]
        scopes: Vec<String>,
        /// Where the provider sends the browser with the code. Nothing has to serve
        /// it: the operator pastes the address the browser shows.
        #[serde(default = "loopback_redirect")]
        redirect_uri: ConfigUrl,
    },
}

/// The redirect address registered by default: loopback, which RFC 8252 §7.3 lets
/// native apps use with any port.
fn loopback_redirect() -> ConfigUrl {
    ConfigUrl::parse("http://127.0.0.1:8976/callback").expect("a valid URL")
}

impl Auth {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ApiKey { .. } => "api_key",
            Self::Bearer { .. } => "bearer",
            Self::Basic { .. } => "basic",
            Self::OAuth2ClientCredentials { .. } => "oauth2_client_credentials",
            Self::OAuth2RefreshToken { .. } => "oauth2_refresh_token",
            Self::OAuth2Device { .. } => "oauth2_device",
            Self::OAuth2AuthorizationCode { .. } => "oauth2_authorization_code",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyLocation {
    #[default]
    Header,
    Query,
}

/// One `[[integration]]`, validated and resolved.
#[derive(Debug, Clone)]
pub struct Integration {
    pub name: String,
    pub kind: &'static KindSpec,
    pub enabled: bool,
    pub schedule: Option<Schedule>,
    /// The integration's own zone, or `[settings].timezone`.
    pub timezone: Tz,
    pub jitter: Option<Duration>,
    pub catch_up: CatchUp,
    /// The longest a whole run may take.
    pub timeout: Duration,
    /// The longest one request may take before it counts as a `timeout` failure (and
    /// is retried); at most `timeout`.
    pub request_timeout: Duration,
    pub rate_limit: Option<RateLimit>,
    /// Where the API reports its quota; requests slow down as it runs out.
    pub quota: Option<QuotaHeaders>,
    pub retry: RetryPolicy,
    pub pause_after_failures: Option<u32>,
    /// Failed runs in a row before health is `down` (fewer: `pending`).
    pub failure_threshold: u32,
    /// Good runs in a row before a `down` integration is `up` again.
    pub success_threshold: u32,
    /// A successful run that takes longer than this leaves health `degraded`.
    pub slow_after: Option<Duration>,
    /// Recurring windows in which its alerts notify no one.
    pub maintenance: Option<Maintenance>,
    pub outputs: Vec<String>,
    pub auth: Auth,
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub settings: KindSettings,
    /// Transforms and change detection for the records of a source.
    pub pipeline: PipelineSpec,
    /// Every `secret:NAME` this integration references, in file order.
    pub secrets: Vec<SecretUse>,
    /// Changes whenever the integration's table (or `[settings]`) changes: a config
    /// reload leaves integrations with the same fingerprint untouched.
    pub fingerprint: u64,
    /// The integration's tables as written in the file, literal credentials masked,
    /// for the console's detail view.
    pub source_text: String,
    /// The blueprint this integration is an instance of.
    pub blueprint: Option<String>,
}

/// A `secret:NAME` reference and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretUse {
    pub name: String,
    pub span: std::ops::Range<usize>,
}

/// The keys every integration understands, whatever its kind.
#[derive(Debug, Deserialize)]
pub(super) struct CommonKeys {
    pub name: String,
    /// Declared so that `kind` counts as a known key and must be a string; the loader
    /// resolves the kind from the raw table, where it also has the value's location.
    #[serde(rename = "kind")]
    pub _kind: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub cron: Option<String>,
    pub every: Option<HumanDuration>,
    pub timezone: Option<Timezone>,
    pub jitter: Option<HumanDuration>,
    #[serde(default)]
    pub catch_up: CatchUp,
    pub timeout: Option<HumanDuration>,
    pub request_timeout: Option<HumanDuration>,
    pub rate_limit: Option<RateLimit>,
    pub quota: Option<QuotaHeaders>,
    #[serde(default)]
    pub retry: RetryPolicy,
    pub pause_after_failures: Option<u32>,
    #[serde(default = "three")]
    pub failure_threshold: u32,
    #[serde(default = "one")]
    pub success_threshold: u32,
    pub slow_after: Option<HumanDuration>,
    pub maintenance: Option<Maintenance>,
    #[serde(default)]
    pub outputs: Vec<String>,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub tags: Vec<String>,
    pub description: Option<String>,
    pub pipeline: Option<PipelineSpec>,
}

fn yes() -> bool {
    true
}

fn three() -> u32 {
    3
}

fn one() -> u32 {
    1
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
