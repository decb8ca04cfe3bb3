//! `kind = "check"`: a probe on a schedule, judged by conditions. A run succeeds when
//! every condition holds; otherwise it fails (class `check`) naming each failed
//! condition and what was seen. `failure_threshold` and `success_threshold`, which
//! every integration has, decide when its health flips (see the engine's transitions).

pub mod probe;

use serde_json::json;

use super::{BoxFuture, Fetch, Pages, Source};
use crate::config::condition::Observation;
use crate::config::kinds::check::CheckSettings;
use crate::domain::Failure;
use crate::domain::run::ErrorClass;
use crate::runtime::context::RunContext;

pub struct CheckSource {
    settings: CheckSettings,
    client: reqwest::Client,
}

impl CheckSource {
    pub fn new(settings: CheckSettings) -> Self {
        crate::runtime::http::install_tls_provider();
        let client = reqwest::Client::builder()
            .tls_info(true)
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("patchbay-check/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the probe client configuration is static and valid");
        Self { settings, client }
    }

    /// Probes and judges; `Err` lists the conditions that failed.
    async fn verdict(&self) -> (Observation, Result<(), Failure>) {
        let seen = self.settings.probe.observe(&self.client).await;
        let mut failed: Vec<String> = self
            .settings
            .conditions
            .iter()
            .filter_map(|c| c.check(&seen).err())
            .collect();
        if self.settings.conditions.is_empty() && !seen.connected {
            failed.push("could not connect".to_owned());
        }
        let result = if failed.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(
                ErrorClass::Check,
                failed.join("; "),
                "the check's conditions were not met; see what was seen in the message",
            ))
        };
        (seen, result)
    }
}

/// The observation as a record, so outputs can receive probe results.
fn record(seen: &Observation) -> serde_json::Value {
    json!({
        "connected": seen.connected,
        "status": seen.status,
        "response_time_ms": seen.response_time.as_millis() as u64,
                "certificate_expires_in_days": seen.certificate_expires_in().map(|d| d.num_days()),
    })
}

impl Source for CheckSource {
    fn primary_key(&self) -> Option<&str> {
        None
    }

    fn fetch<'a>(
        &'a self,
        ctx: &'a RunContext,
        pages: Pages,
    ) -> BoxFuture<'a, Result<Fetch, Failure>> {
        Box::pin(async move {
            let (seen, verdict) = self.verdict().await;
            ctx.metrics_request(verdict.is_ok(), seen.response_time, false);
            ctx.log(format!(
                "probe: connected {}, status {}, {} ms",
                seen.connected,
                seen.status.map_or("-".into(), |s| s.to_string()),
                seen.response_time.as_millis()
            ));
            if let Some(not_after) = seen.certificate_not_after {
                ctx.counters.saw_certificate(not_after);
            }
            verdict?;
            pages.send(vec![record(&seen)]).await;
            Ok(Fetch {
                pages: 1,
                ..Fetch::default()
            })
        })
    }

    fn test<'a>(&'a self, _ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let (seen, verdict) = self.verdict().await;
            verdict.map(|()| {
                format!(
                    "all conditions hold ({} ms)",
                    seen.response_time.as_millis()
                )
            })
        })
    }
}
