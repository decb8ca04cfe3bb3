//! Inbound webhooks on the engine's side: the listener's routes follow the config, and
//! arrived (or left over) events start a run of their integration.

use std::collections::HashMap;
use std::sync::Arc;

use super::actor::Engine;
use crate::config::kinds::KindSettings;
use crate::connectors::webhook_in::{self, Route};
use crate::domain::run::Trigger;

impl Engine {
    /// Points the listener's routes at the current `webhook_in` integrations, and
    /// starts the listener the first time one exists.
    pub(super) async fn update_inbound(&mut self) {
        let routes: HashMap<String, Route> = self
            .slots
            .values()
            .filter_map(|slot| match &slot.integration.settings {
                KindSettings::WebhookIn(settings) => Some((
                    settings.path.clone(),
                    Route {
                        integration: slot.integration.name.clone(),
                        settings: settings.clone(),
                    },
                )),
                _ => None,
            })
            .collect();
        let needed = !routes.is_empty();
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = routes;
        if needed && self.services.inbound_addr.get().is_none() {
            let addr = self.config.settings.webhook_listen;
            let listening = webhook_in::listen(
                addr,
                Arc::clone(&self.routes),
                Arc::clone(&self.services),
                self.arrived_tx.clone(),
            )
            .await;
            match listening {
                Ok(bound) => {
                    let _ = self.services.inbound_addr.set(bound);
                    tracing::info!(%bound, "receiving inbound webhooks");
                }
                Err(error) => {
                    tracing::error!(%addr, %error, "cannot listen for inbound webhooks; check settings.webhook_listen")
                }
            }
        }
    }

    /// Events accepted before a stop or crash and not yet delivered are processed at
    /// start, not only when the next event arrives.
    pub(super) fn resume_inboxes(&mut self) {
        let waiting: Vec<String> = self
            .slots
            .values()
            .filter(|slot| matches!(slot.integration.settings, KindSettings::WebhookIn(_)))
            .filter(|slot| {
                self.store
                    .inbox(&slot.integration.name, 1)
                    .is_ok_and(|events| !events.is_empty())
            })
            .map(|slot| slot.integration.name.clone())
            .collect();
        for name in waiting {
            self.events_arrived(&name);
        }
    }

    /// New events for a `webhook_in` integration: run it, unless it is running (then
    /// the run that finishes starts the next).
    pub(super) fn events_arrived(&mut self, name: &str) {
        let idle = self
            .slots
            .get(name)
            .is_some_and(|s| s.active.is_none() && s.enabled() && s.state.paused.is_none());
        if idle && let Err(error) = self.start_run(name, Trigger::Webhook) {
            tracing::warn!(integration = %name, %error, "inbound events not processed yet");
        }
    }
}
