//! `kind = "check"`: a probe on a schedule, judged by conditions. A run succeeds when
//! every condition holds; otherwise it fails (class `check`) naming each failed
//! condition and what was seen. `failure_threshold` and `success_threshold`, which
//! every integration has, decide when its health flips (see the engine's transitions).

pub mod probe;

use serde_json::json;

use super::{BoxFuture, Fetch, Pages, Source};
use crate::config::condition::Observation;
use crate::config::kinds::check::{CheckSettings, Target};
use crate::connectors::sql::SqlProbe;
use crate::domain::Failure;
use crate::domain::run::ErrorClass;
use crate::runtime::context::RunContext;
use probe::Probing;

/// A check holds its settings and, for a `sql` probe, its pool. HTTP probes use the
/// engine's one client: building a client per check loaded the system's root
/// certificates each time (3 ms and about 100 KB a check, `perf` showed), and probes
/// of one host now share its kept-alive connections.
pub struct CheckSource {
    settings: CheckSettings,
    sql: Option<SqlProbe>,
}

impl CheckSource {
    pub fn new(settings: CheckSettings) -> Self {
        let sql = match &settings.probe.target {
            Target::Sql { connection, query } => {
                Some(SqlProbe::new(connection.clone(), query.clone()))
            }
            _ => None,
        };
        Self { settings, sql }
    }

    /// Probes and judges; `Err` lists the conditions that failed.
    async fn verdict(&self, ctx: &RunContext) -> (Observation, Result<(), Failure>) {
        let probing = Probing {
            client: ctx.http().reqwest(),
            sql: self.sql.as_ref(),
            ctx,
        };
        let seen = self.settings.probe.observe(probing).await;
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
            if let Some(error) = &seen.error {
                failed.push(format!("the server said: {error}"));
            }
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
    let mut record = json!({
        "connected": seen.connected,
        "status": seen.status,
        "response_time_ms": seen.response_time.as_millis() as u64,

                "certificate_expires_in_days": seen.certificate_expires_in().map(|d| d.num_days()),
    });
    // A `sql` probe's findings, only where there are any.
    if let Some(rows) = seen.rows {
        record["rows"] = rows.into();
        record["value"] = seen.value.clone().unwrap_or_default();
    }
    record
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
            let (seen, verdict) = self.verdict(ctx).await;
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

    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let (seen, verdict) = self.verdict(ctx).await;
            verdict.map(|()| {
                format!(
                    "all conditions hold ({} ms)",
                    seen.response_time.as_millis()
                )
            })
        })
    }
}
