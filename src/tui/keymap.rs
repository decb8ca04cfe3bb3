//! Where each console action applies and what the help says about it. Which keys do
//! what is configuration (`config::keys`, `[keys]` in `connectors.toml`), so the help is
//! generated from the keymap in effect. No default uses Ctrl-a or Ctrl-b (screen's and
//! tmux's prefixes), and `[keys]` refuses them.

pub use crate::config::keys::{Action, Keymap};

use super::app::Pane;

/// Where an action applies, for the help screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Global,
    Navigation,
    /// Changes something: hidden in read-only mode.
    Actions,
    Logs,
    Other,
}

/// Every action in help order, with its context and description.
const HELP: &[(Action, Context, &str)] = &[
    (Action::Quit, Context::Global, "quit"),
    (Action::Help, Context::Global, "this help"),
    (Action::NextPane, Context::Global, "next pane"),
    (Action::PrevPane, Context::Global, "previous pane"),
    (Action::Pane(0), Context::Global, "integrations"),
    (Action::Pane(1), Context::Global, "run history"),
    (Action::Pane(2), Context::Global, "metrics"),
    (Action::Pane(3), Context::Global, "logs"),
    (Action::Pane(4), Context::Global, "alerts"),
    (
        Action::Command,
        Context::Global,
        "command (:run NAME, :pause NAME, :theme NAME, :quit ...)",
    ),
    (
        Action::Filter,
        Context::Global,
        "filter by name, kind, status or tag (logs: search)",
    ),
    (Action::Up, Context::Navigation, "up"),
    (Action::Down, Context::Navigation, "down"),
    (Action::PageUp, Context::Navigation, "page up"),
    (Action::PageDown, Context::Navigation, "page down"),
    (Action::Top, Context::Navigation, "first"),
    (Action::Bottom, Context::Navigation, "last"),
    (
        Action::Open,
        Context::Navigation,
        "open: an integration's detail, a run's record",
    ),
    (Action::Back, Context::Navigation, "back; clear the filter"),
    (Action::Sort, Context::Navigation, "sort by the next column"),
    (Action::SortReverse, Context::Navigation, "reverse the sort"),
    (
        Action::RunNow,
        Context::Actions,
        "run the selected integration now",
    ),
    (
        Action::PauseResume,
        Context::Actions,
        "pause or resume it (asks first)",
    ),
    (
        Action::Cancel,
        Context::Actions,
        "cancel its running run (asks first)",
    ),
    (Action::Test, Context::Actions, "test its connection"),
    (
        Action::Preview,
        Context::Navigation,
        "preview its records after the pipeline",
    ),
    (
        Action::SetSecret,
        Context::Actions,
        "set a secret (the value is masked)",
    ),
    (
        Action::Silence,
        Context::Actions,
        "silence the selected alert (or integration): type how long and why",
    ),
    (
        Action::ToggleScope,
        Context::Other,
        "history, metrics, logs: all integrations / the selected one",
    ),
    (
        Action::CycleWindow,
        Context::Other,
        "metrics: window 5m / 1h / 24h",
    ),
    (Action::Follow, Context::Logs, "follow new lines on/off"),
    (
        Action::CycleLevel,
        Context::Logs,
        "level: all / info / warn / error",
    ),
    (Action::Timestamps, Context::Logs, "timestamps on/off"),
    (Action::Wrap, Context::Logs, "wrap long lines on/off"),
];

/// The help lines: `(context, keys, what they do)`, actions left out in read-only mode
/// and actions whose keys were all unbound left out always.
pub fn help_lines(keymap: &Keymap, read_only: bool) -> Vec<(Context, String, &'static str)> {
    HELP.iter()
        .filter(|(_, context, _)| !(read_only && *context == Context::Actions))
        .filter_map(|(action, context, help)| {
            let keys = keymap.keys_of(*action);
            (!keys.is_empty()).then(|| {
                let labels: Vec<String> = keys.iter().map(ToString::to_string).collect();
                (*context, labels.join(" "), *help)
            })
        })
        .collect()
}

/// How the screen names the key of `action` in a hint: its first key in effect.
pub fn key_hint(keymap: &Keymap, action: Action) -> String {
    keymap
        .keys_of(action)
        .first()
        .map_or_else(|| "(unbound)".to_owned(), ToString::to_string)
}

/// The bottom line's reminder of the most used keys on this pane, each with its first
/// key in effect.
pub fn status_hints(keymap: &Keymap, read_only: bool, pane: Pane) -> String {
    const ALERTS: &[(Action, &str)] = &[
        (Action::Help, "help"),
        (Action::Silence, "silence"),
        (Action::Open, "open"),
        (Action::Command, "command"),
        (Action::NextPane, "panes"),
        (Action::Quit, "quit"),
    ];
    const HINTS: &[(Action, &str)] = &[
        (Action::Help, "help"),
        (Action::RunNow, "run"),
        (Action::PauseResume, "pause"),
        (Action::Test, "test"),
        (Action::Cancel, "cancel"),
        (Action::SetSecret, "secret"),
        (Action::Filter, "filter"),
        (Action::Command, "command"),
        (Action::NextPane, "panes"),
        (Action::Quit, "quit"),
    ];
    let hints = if pane == Pane::Alerts { ALERTS } else { HINTS };
    hints
        .iter()
        .filter(|(action, _)| match action {
            // The panes hint only fits when the actions are hidden (or few).
            Action::NextPane => read_only || pane == Pane::Alerts,
            _ => {
                let changes_something = HELP
                    .iter()
                    .any(|(a, context, _)| a == action && *context == Context::Actions);
                !(read_only && changes_something)
            }
        })
        .filter_map(|(action, label)| {
            keymap
                .keys_of(*action)
                .first()
                .map(|key| format!("{key} {label}"))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::{ACTIONS, KeyChord};

    #[test]
    fn every_action_has_help() {
        for (name, action, _) in ACTIONS {
            assert!(
                HELP.iter().any(|(a, ..)| a == action),
                "`{name}` has no help line"
            );
        }
    }

    #[test]
    fn the_help_follows_the_keymap_and_hides_actions_when_read_only() {
        let mut keymap = Keymap::default();
        assert!(
            help_lines(&keymap, false)
                .iter()
                .any(|(_, keys, help)| keys == "r" && help.starts_with("run"))
        );
        assert!(
            !help_lines(&keymap, true)
                .iter()
                .any(|(ctx, _, _)| *ctx == Context::Actions)
        );
        assert_eq!(
            status_hints(&keymap, true, Pane::Integrations),
            "? help  / filter  : command  Tab panes  q quit"
        );
        keymap
            .rebind("run", vec![KeyChord::parse("F5").unwrap()])
            .unwrap();
        assert!(status_hints(&keymap, false, Pane::History).contains("F5 run"));
        let alerts = status_hints(&keymap, false, Pane::Alerts);
        assert!(
            alerts.starts_with("? help  S silence  Enter open"),
            "{alerts}"
        );
        assert!(!status_hints(&keymap, true, Pane::Alerts).contains("silence"));
        assert!(
            help_lines(&keymap, false)
                .iter()
                .any(|(_, keys, help)| keys == "F5" && help.starts_with("run"))
        );
    }
}
