//! The `:` command line: completion of commands, integrations, rules and secrets, and
//! what each command does to the console (or asks of the engine).

use super::app::{App, Drill, Effect, Mode, ToastLevel};
use super::theme::Theme;

const COMMANDS: [&str; 15] = [
    "run",
    "pause",
    "resume",
    "cancel",
    "test",
    "preview",
    "reload",
    "theme",
    "secret set",
    "silence",
    "unsilence",
    "cursor",
    "audit",
    "quit",
    "help",
];

impl App {
    /// The secrets worth offering at the `secret name:` prompt: those the selected
    /// integration reads (missing ones first), then the other names the vault holds.
    pub(super) fn secret_names(&self) -> Vec<String> {
        let selected = self
            .selected_name()
            .and_then(|name| self.model.integration(&name))
            .map(|view| view.secrets.clone())
            .unwrap_or_default();
        let (missing, present): (Vec<String>, Vec<String>) = selected
            .into_iter()
            .partition(|name| !self.model.secret_metas.contains_key(name));
        let mut names = missing;
        names.extend(present);
        let mut stored: Vec<&String> = self.model.secret_metas.keys().collect();
        stored.sort();
        for name in stored {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// Completes a secret name at the `secret name:` prompt.
    pub(super) fn complete_secret(&self, input: &str) -> String {
        longest_common_prefix(input, self.secret_names()).unwrap_or_else(|| input.to_owned())
    }

    /// Completes a command name, then an integration name.
    pub fn complete(&self, input: &str) -> String {
        let names: Vec<&str> = self
            .model
            .integrations
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        let (head, last) = match input.rsplit_once(' ') {
            Some((head, last)) => (Some(head), last),
            None => (None, input),
        };
        let candidates: Vec<String> = match head {
            None => COMMANDS.iter().map(|c| c.to_string()).collect(),
            Some("theme") => super::theme::Theme::built_in_names()
                .map(str::to_owned)
                .collect(),
            Some("silence" | "unsilence") => self.silence_targets(),
            Some(_) => names.iter().map(|n| n.to_string()).collect(),
        };
        let finished = candidates.iter().filter(|c| c.starts_with(last)).count() == 1;
        let Some(common) = longest_common_prefix(last, candidates) else {
            return input.to_owned();
        };
        match head {
            None => common + if finished { " " } else { "" },
            Some(head) => format!("{head} {common}"),
        }
    }

    pub(super) fn run_command(&mut self, line: &str) -> Vec<Effect> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or("");
        let argument = words.collect::<Vec<_>>().join(" ");
        let target = if argument.is_empty() {
            self.selected_name()
        } else {
            Some(argument.clone())
        };
        let needs_target = |app: &mut Self, make: fn(String) -> Effect| -> Vec<Effect> {
            match target.clone() {
                Some(name) if app.model.integration(&name).is_some() => app.guarded(make(name)),
                Some(name) => {
                    app.toast(format!("no integration named `{name}`"), ToastLevel::Error);
                    Vec::new()
                }
                None => {
                    app.toast(
                        format!(":{command} needs an integration name"),
                        ToastLevel::Error,
                    );
                    Vec::new()
                }
            }
        };
        match command {
            "" => Vec::new(),
            "q" | "quit" => vec![Effect::Quit],
            "help" => {
                self.mode = Mode::Help;
                Vec::new()
            }
            "run" => needs_target(self, Effect::RunNow),
            "pause" => needs_target(self, Effect::Pause),
            "resume" => needs_target(self, Effect::Resume),
            "cancel" => needs_target(self, Effect::Cancel),
            "test" => needs_target(self, Effect::Test),
            "preview" => match target.filter(|name| self.model.integration(name).is_some()) {
                Some(name) => self.open_preview(name),
                None => {
                    self.toast(":preview needs an integration's name", ToastLevel::Error);
                    Vec::new()
                }
            },
            "reload" => self.guarded(Effect::Reload),
            "audit" => {
                self.model.audit = None;
                self.drill.push(Drill::Audit);
                vec![Effect::LoadAudit]
            }
            "silence" => self.silence_command(&argument),
            "unsilence" if argument.is_empty() => {
                self.toast(":unsilence needs what to unsilence: a rule, an integration or RULE/INTEGRATION", ToastLevel::Error);
                Vec::new()
            }
            "unsilence" => self.guarded(Effect::Unsilence(argument)),
            "cursor" => self.cursor_command(&argument),
            "theme" => {
                match Theme::load(&argument, self.no_color) {
                    Ok(theme) => {
                        self.toast(format!("theme {}", theme.name), ToastLevel::Info);
                        self.theme = theme;
                    }
                    Err(error) => self.toast(error, ToastLevel::Error),
                }
                Vec::new()
            }
            "secret" if argument.starts_with("set") => {
                if self.model.read_only {
                    self.toast("read-only: secrets cannot be set", ToastLevel::Error);
                } else {
                    let name = argument.trim_start_matches("set").trim().to_owned();
                    self.mode = if name.is_empty() {
                        // Offer the first secret the selected integration reads.
                        Mode::SecretName(self.secret_names().into_iter().next().unwrap_or_default())
                    } else {
                        Mode::SecretValue {
                            name,
                            value: String::new(),
                        }
                    };
                }
                Vec::new()
            }
            other => {
                self.toast(
                    format!("unknown command `{other}`; try {}", COMMANDS.join(", ")),
                    ToastLevel::Error,
                );
                Vec::new()
            }
        }
    }

    /// `:silence TARGET DURATION REASON...`
    /// `:cursor [NAME] [VALUE | reset]`: shows a source's cursor, or sets or resets it
    /// after asking. Without a name it is the selected integration's.
    fn cursor_command(&mut self, argument: &str) -> Vec<Effect> {
        let (name, rest) = match argument.split_once(' ') {
            Some((first, rest)) if self.model.integration(first).is_some() => {
                (Some(first.to_owned()), rest.trim())
            }
            _ if self.model.integration(argument).is_some() => (Some(argument.to_owned()), ""),
            _ => (self.selected_name(), argument),
        };
        let Some(view) = name
            .as_deref()
            .and_then(|name| self.model.integration(name))
        else {
            self.toast(":cursor needs a source", ToastLevel::Error);
            return Vec::new();
        };
        let name = view.name.clone();
        match rest {
            "" => {
                let text = match &view.cursor {
                    Some(cursor) => format!("cursor of {name}: {cursor}"),
                    None => format!("{name} has no cursor yet"),
                };
                self.toast(text, ToastLevel::Info);
                Vec::new()
            }
            "reset" => self.guarded(Effect::SetCursor { name, value: None }),
            value => self.guarded(Effect::SetCursor {
                name,
                value: Some(value.to_owned()),
            }),
        }
    }

    pub(super) fn silence_command(&mut self, argument: &str) -> Vec<Effect> {
        const USAGE: &str =
            ":silence TARGET DURATION REASON, e.g. :silence failing/orders 2h deploying";
        let mut words = argument.split_whitespace();
        let (Some(target), Some(duration)) = (words.next(), words.next()) else {
            self.toast(format!("usage: {USAGE}"), ToastLevel::Error);
            return Vec::new();
        };
        let reason = words.collect::<Vec<_>>().join(" ");
        let duration = match humantime::parse_duration(duration) {
            Ok(duration) if !duration.is_zero() => duration,
            _ => {
                self.toast(
                    format!("`{duration}` is not a duration like 30m or 2h; {USAGE}"),
                    ToastLevel::Error,
                );
                return Vec::new();
            }
        };
        if reason.is_empty() {
            self.toast(
                format!("say why, for whoever looks next: {USAGE}"),
                ToastLevel::Error,
            );
            return Vec::new();
        }
        self.guarded(Effect::Silence {
            target: target.to_owned(),
            duration,
            reason,
        })
    }

    /// What `:silence` completes: alert keys, rule names and integration names.
    pub(super) fn silence_targets(&self) -> Vec<String> {
        let alerts = &self.model.alerts;
        let mut targets: Vec<String> = alerts
            .firing
            .iter()
            .chain(&alerts.recent)
            .flat_map(|a| [a.key(), a.rule.clone()])
            .chain(self.model.integrations.iter().map(|i| i.name.clone()))
            .collect();
        targets.sort_unstable();
        targets.dedup();
        targets
    }
}

/// The longest prefix shared by every candidate that starts with `typed`; `None` when
/// none does.
fn longest_common_prefix(typed: &str, candidates: Vec<String>) -> Option<String> {
    let candidates: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.starts_with(typed))
        .collect();
    let first = candidates.first()?;
    Some(
        first
            .chars()
            .enumerate()
            .take_while(|(i, c)| {
                candidates
                    .iter()
                    .all(|cand| cand.chars().nth(*i) == Some(*c))
            })
            .map(|(_, c)| c)
            .collect(),
    )
}
