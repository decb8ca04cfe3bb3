//! Themes: `themes/*.toml`, built into the binary and overridable by files in
//! `$XDG_CONFIG_HOME/patchbay/themes/`. With `NO_COLOR` set, every colour is the
//! terminal's own and states are told by symbol, word and modifier alone.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const BUILT_IN: [(&str, &str); 3] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    text: String,
    dim: String,
    accent: String,
    ok: String,
    warn: String,
    error: String,
    paused: String,
    header_fg: String,
    header_bg: String,
    selection_fg: String,
    selection_bg: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub dim: Style,
    pub accent: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub paused: Style,
    pub header: Style,
    /// Coloured, or reversed when there is no colour, so it always shows.
    pub selection: Style,
}

fn color(text: &str) -> Result<Color, String> {
    text.parse::<Color>()
        .map_err(|_| format!("`{text}` is not a colour; use a name like \"red\" or \"#rrggbb\""))
}

impl Theme {
    /// Names of the built-in themes.
    pub fn built_in_names() -> impl Iterator<Item = &'static str> {
        BUILT_IN.iter().map(|(name, _)| *name)
    }

    /// A theme by name: a user file first, then the built-in ones.
    pub fn load(name: &str, no_color: bool) -> Result<Self, String> {
        let user_file = crate::paths::config_dir()
            .join("themes")
            .join(format!("{name}.toml"));
        let text = match std::fs::read_to_string(&user_file) {
            Ok(text) => text,
            Err(_) => BUILT_IN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| {
                    format!(
                        "no theme `{name}`; the themes are {} (or add {})",
                        Self::built_in_names().collect::<Vec<_>>().join(", "),
                        user_file.display()
                    )
                })?,
        };
        Self::parse(&text, no_color)
    }

    pub fn parse(text: &str, no_color: bool) -> Result<Self, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| format!("invalid theme: {e}"))?;
        let fg = |name: &str| -> Result<Style, String> {
            Ok(if no_color {
                Style::default()
            } else {
                Style::default().fg(color(name)?)
            })
        };
        let pair = |fg_name: &str, bg_name: &str| -> Result<Style, String> {
            Ok(if no_color {
                Style::default()
            } else {
                Style::default().fg(color(fg_name)?).bg(color(bg_name)?)
            })
        };
        Ok(Self {
            name: file.name,
            text: fg(&file.text)?,
            dim: fg(&file.dim)?.add_modifier(Modifier::DIM),
            accent: fg(&file.accent)?.add_modifier(Modifier::BOLD),
            ok: fg(&file.ok)?,
            warn: fg(&file.warn)?.add_modifier(Modifier::BOLD),
            error: fg(&file.error)?.add_modifier(Modifier::BOLD),
            paused: fg(&file.paused)?.add_modifier(Modifier::ITALIC),
            header: pair(&file.header_fg, &file.header_bg)?.add_modifier(Modifier::BOLD),
            selection: if no_color {
                Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            } else {
                pair(&file.selection_fg, &file.selection_bg)?.add_modifier(Modifier::BOLD)
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_loads_and_no_color_strips_colours() {
        for name in Theme::built_in_names() {
            let theme = Theme::load(name, false).unwrap();
            assert_eq!(theme.name, name);
            assert!(theme.selection.bg.is_some());
            let plain = Theme::load(name, true).unwrap();
            assert!(plain.selection.add_modifier.contains(Modifier::REVERSED));
            assert_eq!(plain.ok.fg, None);
            assert_eq!(plain.header.bg, None);
            assert!(
                plain.error.add_modifier.contains(Modifier::BOLD),
                "states keep their modifiers"
            );
        }
        assert!(
            Theme::load("nope", false)
                .unwrap_err()
                .contains("default, light, high-contrast")
        );
    }
}
