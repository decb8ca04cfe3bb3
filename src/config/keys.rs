//! The console's keys as configuration: which action each key does, the defaults, and
//! `[keys]` overrides in `connectors.toml` (an invalid or conflicting entry is a config
//! error with its location). The console's help is generated from the result.

use std::fmt;

use crossterm::event::{KeyCode, KeyModifiers};
use toml::de::DeValue;

use super::de::Value;
use super::problem::Problem;

/// What a key does in the console.
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
    Preview,
    SetSecret,
    Silence,
    ToggleScope,
    CycleWindow,
    Follow,
    CycleLevel,
    Timestamps,
    Wrap,
}

/// Every action with its name in `[keys]` and its default keys.
pub const ACTIONS: &[(&str, Action, &[&str])] = &[
    ("quit", Action::Quit, &["q", "ctrl-c"]),
    ("help", Action::Help, &["?"]),
    ("next_pane", Action::NextPane, &["tab"]),
    ("prev_pane", Action::PrevPane, &["backtab"]),
    ("pane_1", Action::Pane(0), &["1"]),
    ("pane_2", Action::Pane(1), &["2"]),
    ("pane_3", Action::Pane(2), &["3"]),
    ("pane_4", Action::Pane(3), &["4"]),
    ("pane_5", Action::Pane(4), &["5"]),
    ("command", Action::Command, &[":"]),
    ("filter", Action::Filter, &["/"]),
    ("up", Action::Up, &["up", "k"]),
    ("down", Action::Down, &["down", "j"]),
    ("page_up", Action::PageUp, &["pageup", "ctrl-u"]),
    ("page_down", Action::PageDown, &["pagedown", "ctrl-d"]),
    ("top", Action::Top, &["home", "g"]),
    ("bottom", Action::Bottom, &["end", "G"]),
    ("open", Action::Open, &["enter", "l"]),
    ("back", Action::Back, &["esc", "h"]),
    ("sort", Action::Sort, &["o"]),
    ("sort_reverse", Action::SortReverse, &["O"]),
    ("run", Action::RunNow, &["r"]),
    ("pause", Action::PauseResume, &["p"]),
    ("cancel", Action::Cancel, &["c"]),
    ("test", Action::Test, &["t"]),
    ("preview", Action::Preview, &["P"]),
    ("secret", Action::SetSecret, &["s"]),
    ("silence", Action::Silence, &["S"]),
    ("scope", Action::ToggleScope, &["a"]),
    ("window", Action::CycleWindow, &["w"]),
    ("follow", Action::Follow, &["f"]),
    ("level", Action::CycleLevel, &["v"]),
    ("timestamps", Action::Timestamps, &["T"]),
    ("wrap", Action::Wrap, &["W"]),
];

/// One key with its modifiers, e.g. `r`, `G`, `ctrl-d`, `enter`, `f5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl KeyChord {
    pub fn parse(text: &str) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        let (modifiers, key) = if let Some(rest) = lower.strip_prefix("ctrl-") {
            (KeyModifiers::CONTROL, rest)
        } else if let Some(rest) = lower.strip_prefix("alt-") {
            (KeyModifiers::ALT, rest)
        } else {
            (KeyModifiers::NONE, lower.as_str())
        };
        let code = match key {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.starts_with('f')
                && f.len() > 1
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().expect("checked"))
            }
            // Letters keep their case (`G` is not `g`); with Ctrl or Alt they are lower.
            _ if key.chars().count() == 1 && modifiers == KeyModifiers::NONE => {
                KeyCode::Char(text.chars().next().expect("one character"))
            }
            _ if key.chars().count() == 1 => {
                KeyCode::Char(key.chars().next().expect("one character"))
            }
            _ => {
                return Err(format!(
                    "`{text}` is not a key: write a character (\"r\", \"G\", \"?\"), a name (enter, esc, tab, up, pagedown, f5, ...), or ctrl-/alt- and one of those"
                ));
            }
        };
        if modifiers == KeyModifiers::CONTROL
            && matches!(code, KeyCode::Char('a') | KeyCode::Char('b'))
        {
            return Err(format!(
                "`{text}` is the prefix of screen or tmux; pick another key"
            ));
        }
        Ok(Self { code, modifiers })
    }

    /// Whether a key event with `code` and `modifiers` is this chord. Terminals report
    /// Shift with capital letters and with Shift-Tab, and some do not: both match.
    pub fn matches(&self, code: KeyCode, modifiers: KeyModifiers) -> bool {
        let significant = modifiers - KeyModifiers::SHIFT;
        self.code == code && self.modifiers == significant
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The keys in effect: each action's chords, defaults replaced by `[keys]` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<(Action, Vec<KeyChord>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: ACTIONS
                .iter()
                .map(|(_, action, keys)| {
                    (
                        *action,
                        keys.iter()
                            .map(|k| KeyChord::parse(k).expect("default keys parse"))
                            .collect(),
                    )
                })
                .collect(),
        }
    }
}

impl Keymap {
    pub fn action_for(&self, code: KeyCode, modifiers: KeyModifiers) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(_, chords)| chords.iter().any(|c| c.matches(code, modifiers)))
            .map(|(action, _)| *action)
    }

    pub fn keys_of(&self, action: Action) -> &[KeyChord] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, chords)| chords.as_slice())
    }

    /// Replaces the keys of the action called `name`; `Err` when there is no such
    /// action. Conflicts are checked once every override is in (`conflicts`), so a
    /// table may swap two actions' keys.
    pub fn rebind(&mut self, name: &str, chords: Vec<KeyChord>) -> Result<Action, String> {
        let Some((_, action, _)) = ACTIONS.iter().find(|(n, ..)| *n == name) else {
            let names = ACTIONS.iter().map(|(n, ..)| *n);
            return Err(match crate::domain::did_you_mean(name, names) {
                Some(close) => format!("unknown console action `{name}`; did you mean `{close}`?"),
                None => {
                    format!("unknown console action `{name}`; see docs/console.md for the names")
                }
            });
        };
        if let Some((_, keys)) = self.bindings.iter_mut().find(|(a, _)| a == action) {
            *keys = chords;
        }
        Ok(*action)
    }

    /// The other action that also has one of `action`'s keys, with that key.
    pub fn conflict_of(&self, action: Action) -> Option<(KeyChord, Action)> {
        self.keys_of(action).iter().find_map(|chord| {
            self.bindings
                .iter()
                .find(|(other, keys)| *other != action && keys.contains(chord))
                .map(|(other, _)| (*chord, *other))
        })
    }
}

/// An action's name in `[keys]`.
pub fn action_name(action: Action) -> &'static str {
    ACTIONS
        .iter()
        .find(|(_, a, _)| *a == action)
        .map_or("?", |(name, ..)| name)
}

/// Decodes the `[keys]` table: `action = "key"` or `action = ["key", "key"]`. Every bad
/// entry becomes a problem at its place; the good ones still apply.
pub(super) fn decode_keys(value: &Value<'_>, problems: &mut Vec<Problem>) -> Keymap {
    let mut keymap = Keymap::default();
    let DeValue::Table(table) = value.get_ref() else {
        problems.push(
            Problem::error("`keys` must be a table", Some(value.span()))
                .with_help("write [keys] followed by lines such as run = \"R\""),
        );
        return keymap;
    };
    let mut rebound = Vec::new();
    for (name, keys) in table {
        let texts: Vec<&Value<'_>> = match keys.get_ref() {
            DeValue::String(_) => vec![keys],
            DeValue::Array(items) => items.iter().collect(),
            _ => {
                problems.push(
                    Problem::error(
                        format!(
                            "the keys of `{}` must be a string or a list of strings",
                            name.get_ref()
                        ),
                        Some(keys.span()),
                    )
                    .with_help("e.g. run = \"R\" or up = [\"up\", \"k\"]"),
                );
                continue;
            }
        };
        let mut chords = Vec::new();
        let mut all_parsed = true;
        for text in texts {
            let parsed = match text.get_ref() {
                DeValue::String(s) => KeyChord::parse(s),
                _ => Err("a key must be a string such as \"r\" or \"ctrl-d\"".to_owned()),
            };
            match parsed {
                Ok(chord) => chords.push(chord),
                Err(message) => {
                    all_parsed = false;
                    problems.push(Problem::error(message, Some(text.span())));
                }
            }
        }
        // A half-understood entry keeps the default keys rather than losing some.
        if !all_parsed {
            continue;
        }
        match keymap.rebind(name.get_ref(), chords) {
            Ok(action) => rebound.push((action, name.span())),
            Err(message) => problems.push(Problem::error(message, Some(name.span()))),
        }
    }
    for (action, span) in rebound {
        if let Some((chord, other)) = keymap.conflict_of(action) {
            let other_name = action_name(other);
            problems.push(
                Problem::error(
                    format!("`{chord}` is also the key of `{other_name}`"),
                    Some(span),
                )
                .with_help(format!(
                    "give `{other_name}` another key in [keys] too, or pick another key here"
                )),
            );
        }
    }
    keymap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        for (text, shown) in [
            ("r", "r"),
            ("G", "G"),
            ("ctrl-d", "Ctrl-d"),
            ("enter", "Enter"),
            ("f5", "F5"),
            ("alt-x", "Alt-x"),
            ("?", "?"),
        ] {
            assert_eq!(KeyChord::parse(text).unwrap().to_string(), shown, "{text}");
        }
        assert!(KeyChord::parse("ctrl-b").unwrap_err().contains("tmux"));
        assert!(KeyChord::parse("ctrl-a").is_err());
        assert!(KeyChord::parse("shift-nonsense").is_err());
    }

    #[test]
    fn rebinding_replaces_the_defaults() {
        let mut map = Keymap::default();
        assert_eq!(
            map.action_for(KeyCode::Char('G'), KeyModifiers::SHIFT),
            Some(Action::Bottom),
            "Shift is implied by the capital"
        );

        map.rebind("run", vec![KeyChord::parse("R").unwrap()])
            .unwrap();
        assert_eq!(
            map.action_for(KeyCode::Char('R'), KeyModifiers::SHIFT),
            Some(Action::RunNow)
        );
        assert_eq!(
            map.action_for(KeyCode::Char('r'), KeyModifiers::NONE),
            None,
            "the default is replaced"
        );
        assert!(
            map.rebind("paus", vec![])
                .unwrap_err()
                .contains("did you mean `pause`")
        );
    }

    #[test]
    fn a_table_may_swap_keys_but_not_share_them() {
        let parse = |text: &str| {
            crate::config::Config::parse(crate::config::SourceFile::new("c.toml", text.to_owned()))
        };
        let swapped = parse("[keys]\nrun = \"t\"\ntest = \"r\"\n");
        assert!(swapped.is_valid(), "{}", swapped.render_problems());
        assert_eq!(
            swapped
                .keys
                .action_for(KeyCode::Char('t'), KeyModifiers::NONE),
            Some(Action::RunNow)
        );
        let shared = parse("[keys]\nrun = \"t\"\n");
        let rendered = shared.render_problems();
        assert!(
            rendered.contains("c.toml:2:1") && rendered.contains("`t` is also the key of `test`"),
            "{rendered}"
        );
        for (_, action, _) in ACTIONS {
            assert_eq!(
                Keymap::default().conflict_of(*action),
                None,
                "defaults never share a key"
            );
        }
    }

    #[test]
    fn keys_come_from_the_config_with_located_errors() {
        let text =
            "[keys]\nrun = \"F5\"\nup = [\"up\", \"ctrl-p\"]\nhelp = \"ctrl-b\"\npaus = \"x\"\n";
        let config = crate::config::Config::parse(crate::config::SourceFile::new(
            "connectors.toml",
            text.to_owned(),
        ));
        assert_eq!(
            config.keys.action_for(KeyCode::F(5), KeyModifiers::NONE),
            Some(Action::RunNow)
        );
        assert_eq!(
            config
                .keys
                .action_for(KeyCode::Char('p'), KeyModifiers::CONTROL),
            Some(Action::Up)
        );
        let rendered = config.render_problems();
        assert!(rendered.contains("connectors.toml:4:8"), "{rendered}");
        assert!(rendered.contains("tmux"), "{rendered}");
        assert!(
            rendered.contains("connectors.toml:5:1") && rendered.contains("did you mean `pause`"),
            "{rendered}"
        );
        assert_eq!(
            config
                .keys
                .action_for(KeyCode::Char('?'), KeyModifiers::NONE),
            Some(Action::Help),
            "a refused entry keeps the default"
        );
    }
}
