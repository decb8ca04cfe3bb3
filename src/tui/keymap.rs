//! The console's keys. The help screen is generated from this table, so it always shows
//! the keys in effect. No default uses Ctrl-a or Ctrl-b (screen's and tmux's prefixes).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    NextPane,
    PrevPane,
    Pane(usize),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    Command,
    Filter,
    Sort,
    SortReverse,
    RunNow,
    PauseResume,
    Cancel,
    Test,
    SetSecret,
    ToggleScope,
    CycleWindow,
    Follow,
    CycleLevel,
    Timestamps,
    Wrap,
}

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

pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub action: Action,
    pub context: Context,
    pub help: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

pub static BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)],
        action: Action::Quit,
        context: Context::Global,
        help: "quit",
    },
    Binding {
        keys: &[(KeyCode::Char('?'), NONE)],
        action: Action::Help,
        context: Context::Global,
        help: "this help",
    },
    Binding {
        keys: &[(KeyCode::Tab, NONE)],
        action: Action::NextPane,
        context: Context::Global,
        help: "next pane",
    },
    Binding {
        keys: &[(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE)],
        action: Action::PrevPane,
        context: Context::Global,
        help: "previous pane",
    },
    Binding {
        keys: &[(KeyCode::Char('1'), NONE)],
        action: Action::Pane(0),
        context: Context::Global,
        help: "integrations",
    },
    Binding {
        keys: &[(KeyCode::Char('2'), NONE)],
        action: Action::Pane(1),
        context: Context::Global,
        help: "run history",
    },
    Binding {
        keys: &[(KeyCode::Char('3'), NONE)],
        action: Action::Pane(2),
        context: Context::Global,
        help: "metrics",
    },
    Binding {
        keys: &[(KeyCode::Char('4'), NONE)],
        action: Action::Pane(3),
        context: Context::Global,
        help: "logs",
    },
    Binding {
        keys: &[(KeyCode::Char(':'), NONE)],
        action: Action::Command,
        context: Context::Global,
        help: "command (:run NAME, :pause NAME, :theme NAME, :quit ...)",
    },
    Binding {
        keys: &[(KeyCode::Char('/'), NONE)],
        action: Action::Filter,
        context: Context::Global,
        help: "filter by name, kind, status or tag (logs: search)",
    },
    Binding {
        keys: &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        action: Action::Up,
        context: Context::Navigation,
        help: "up",
    },
    Binding {
        keys: &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        action: Action::Down,
        context: Context::Navigation,
        help: "down",
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE), (KeyCode::Char('u'), CTRL)],
        action: Action::PageUp,
        context: Context::Navigation,
        help: "page up",
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE), (KeyCode::Char('d'), CTRL)],
        action: Action::PageDown,
        context: Context::Navigation,
        help: "page down",
    },
    Binding {
        keys: &[(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)],
        action: Action::Top,
        context: Context::Navigation,
        help: "first",
    },
    Binding {
        keys: &[
            (KeyCode::End, NONE),
            (KeyCode::Char('G'), SHIFT),
            (KeyCode::Char('G'), NONE),
        ],
        action: Action::Bottom,
        context: Context::Navigation,
        help: "last",
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE), (KeyCode::Char('l'), NONE)],
        action: Action::Open,
        context: Context::Navigation,
        help: "open: an integration's detail, a run's record",
    },
    Binding {
        keys: &[(KeyCode::Esc, NONE), (KeyCode::Char('h'), NONE)],
        action: Action::Back,
        context: Context::Navigation,
        help: "back; clear the filter",
    },
    Binding {
        keys: &[(KeyCode::Char('o'), NONE)],
        action: Action::Sort,
        context: Context::Navigation,
        help: "sort by the next column",
    },
    Binding {
        keys: &[(KeyCode::Char('O'), SHIFT), (KeyCode::Char('O'), NONE)],
        action: Action::SortReverse,
        context: Context::Navigation,
        help: "reverse the sort",
    },
    Binding {
        keys: &[(KeyCode::Char('r'), NONE)],
        action: Action::RunNow,
        context: Context::Actions,
        help: "run the selected integration now",
    },
    Binding {
        keys: &[(KeyCode::Char('p'), NONE)],
        action: Action::PauseResume,
        context: Context::Actions,
        help: "pause or resume it (asks first)",
    },
    Binding {
        keys: &[(KeyCode::Char('c'), NONE)],
        action: Action::Cancel,
        context: Context::Actions,
        help: "cancel its running run (asks first)",
    },
    Binding {
        keys: &[(KeyCode::Char('t'), NONE)],
        action: Action::Test,
        context: Context::Actions,
        help: "test its connection",
    },
    Binding {
        keys: &[(KeyCode::Char('s'), NONE)],
        action: Action::SetSecret,
        context: Context::Actions,
        help: "set a secret (the value is masked)",
    },
    Binding {
        keys: &[(KeyCode::Char('a'), NONE)],
        action: Action::ToggleScope,
        context: Context::Other,
        help: "history, metrics, logs: all integrations / the selected one",
    },
    Binding {
        keys: &[(KeyCode::Char('w'), NONE)],
        action: Action::CycleWindow,
        context: Context::Other,
        help: "metrics: window 5m / 1h / 24h",
    },
    Binding {
        keys: &[(KeyCode::Char('f'), NONE)],
        action: Action::Follow,
        context: Context::Logs,
        help: "follow new lines on/off",
    },
    Binding {
        keys: &[(KeyCode::Char('v'), NONE)],
        action: Action::CycleLevel,
        context: Context::Logs,
        help: "level: all / info / warn / error",
    },
    Binding {
        keys: &[(KeyCode::Char('T'), SHIFT), (KeyCode::Char('T'), NONE)],
        action: Action::Timestamps,
        context: Context::Logs,
        help: "timestamps on/off",
    },
    Binding {
        keys: &[(KeyCode::Char('W'), SHIFT), (KeyCode::Char('W'), NONE)],
        action: Action::Wrap,
        context: Context::Logs,
        help: "wrap long lines on/off",
    },
];

pub fn action_for(key: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|(code, mods)| *code == key.code && *mods == key.modifiers)
        })
        .map(|b| b.action)
}

/// How a key is written in the help, e.g. `Ctrl-d`, `Shift-Tab`, `G`.
pub fn key_label(code: KeyCode, modifiers: KeyModifiers) -> String {
    let name = match code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        other => format!("{other:?}"),
    };
    if modifiers.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{name}")
    } else {
        name
    }
}

/// The help lines: `(keys, what they do)`, actions left out in read-only mode.
pub fn help_lines(read_only: bool) -> Vec<(Context, String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| !(read_only && b.context == Context::Actions))
        .map(|b| {
            let mut labels: Vec<String> = Vec::new();
            for (code, mods) in b.keys {
                let label = key_label(*code, *mods);
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            (b.context, labels.join(" "), b.help)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_and_no_multiplexer_prefix_is_taken() {
        let mut seen = std::collections::HashSet::new();
        for binding in BINDINGS {
            for key in binding.keys {
                assert!(seen.insert(*key), "{key:?} bound twice");
                assert!(
                    !(key.1.contains(CTRL)
                        && matches!(key.0, KeyCode::Char('a') | KeyCode::Char('b'))),
                    "Ctrl-a/Ctrl-b belong to screen and tmux"
                );
            }
        }
    }

    #[test]
    fn the_help_follows_the_table_and_hides_actions_when_read_only() {
        let all = help_lines(false);
        assert!(
            all.iter()
                .any(|(_, keys, help)| keys == "r" && help.starts_with("run"))
        );
        assert!(
            !help_lines(true)
                .iter()
                .any(|(ctx, _, _)| *ctx == Context::Actions)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('j'), NONE)),
            Some(Action::Down)
        );
    }
}
