//! `kind = "slack"` and `kind = "discord"`: one message per batch to an incoming-webhook
//! URL (a secret), its text rendered from a minijinja `template` over the batch.
//! Discord's rate limits (429 with `retry_after` in the body) are honoured by the
//! engine's request executor.

use serde_json::json;

use super::{BoxFuture, Output, auth};
use crate::alerts::Notice;
use crate::config::kinds::outputs::ChatSettings;
use crate::config::template::Template;
use crate::domain::{Failure, Records};
use crate::runtime::context::RunContext;
use crate::runtime::http::RequestPolicy;
use secrecy::ExposeSecret;

/// Discord rejects longer messages.
const DISCORD_LIMIT: usize = 2000;
const DEFAULT_TEMPLATE: &str = "{{ records | length }} new records from {{ source }}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Slack,
    Discord,
}

pub struct ChatOutput {
    flavor: Flavor,
    settings: ChatSettings,
    template: Template,
}

impl ChatOutput {
    pub fn new(flavor: Flavor, settings: ChatSettings) -> Self {
        let template = settings.template.clone().unwrap_or_else(|| {
            Template::parse(DEFAULT_TEMPLATE).expect("the default template is valid")
        });
        Self {
            flavor,
            settings,
            template,
        }
    }

    fn text(&self, source: &str, records: &[serde_json::Value]) -> Result<String, Failure> {
        let context = minijinja::context! {
            records => minijinja::Value::from(minijinja::value::Serde(records)),
            source => source,
            count => records.len(),
        };
        let mut text = self
            .template
            .render(context)
            .map_err(|e| Failure::config(e, "fix `template`"))?;
        if self.flavor == Flavor::Discord {
            text = truncate(text, DISCORD_LIMIT);
        }
        Ok(text)
    }

    fn payload(&self, text: String) -> serde_json::Value {
        match self.flavor {
            Flavor::Slack => json!({ "text": text }),
            Flavor::Discord => json!({ "content": text }),
        }
    }

    async fn post(&self, ctx: &RunContext, payload: &serde_json::Value) -> Result<(), Failure> {
        let url = ctx.resolve(&self.settings.url)?;
        auth::send(ctx, &RequestPolicy::default(), || {
            Ok(ctx.http().reqwest().post(url.expose_secret()).json(payload))
        })
        .await?;
        Ok(())
    }
}

/// Cuts `text` to `limit` characters, ending it with an ellipsis when it was longer.
fn truncate(text: String, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text;
    }
    text.chars().take(limit - 1).collect::<String>() + "…"
}

impl Output for ChatOutput {
    fn deliver<'a>(
        &'a self,
        ctx: &'a RunContext,
        from: &'a str,
        records: &'a Records,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            for batch in records.values().chunks(self.settings.batch_size.max(1)) {
                let payload = self.payload(self.text(from, batch)?);
                self.post(ctx, &payload).await?;
            }
            Ok(())
        })
    }

    fn notify<'a>(
        &'a self,
        ctx: &'a RunContext,
        notice: &'a Notice,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let mut text = notice.text();
            if self.flavor == Flavor::Discord {
                text = truncate(text, DISCORD_LIMIT);
            }
            self.post(ctx, &self.payload(text)).await
        })
    }

    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let url = ctx.resolve(&self.settings.url)?;
            reqwest::Url::parse(url.expose_secret()).map_err(|_| {
                Failure::config("the webhook URL in the vault is not a URL", "set it again")
            })?;
            self.text("test", &[])?;
            Ok("webhook URL readable and template renders; nothing was posted".to_owned())
        })
    }
}
