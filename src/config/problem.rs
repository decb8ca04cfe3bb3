//! Problems found in a config file, located by `file:line:column` and rendered with
//! the offending line and a caret under it, in the style of rustc.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// A config file's text, kept so that byte spans can be turned into lines and columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line - 1).unwrap_or("")
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with a config: what, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub message: String,
    /// Byte range in the source; `None` when the problem is about the file as a whole.
    pub span: Option<Range<usize>>,
    /// The integration the problem belongs to, when there is one.
    pub integration: Option<String>,
    /// One sentence on how to fix it.
    pub help: Option<String>,
    /// The file the span points into when it is not the config itself: a blueprint
    /// file next to it, in the user's config dir, or shipped in the binary.
    pub file: Option<Arc<SourceFile>>,
    /// The spanned text may be a credential: the snippet shows `"***"` in its place.
    pub conceals_value: bool,
}

impl Problem {
    pub fn error(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            span,
            integration: None,
            help: None,
            file: None,
            conceals_value: false,
        }
    }

    pub fn warning(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message, span)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn in_integration(mut self, name: Option<&str>) -> Self {
        if self.integration.is_none() {
            self.integration = name.map(str::to_owned);
        }
        self
    }

    /// Locates the problem in `file` rather than in the config it is reported with.
    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        self.file = Some(Arc::clone(file));
        self
    }

    /// The snippet will not show the spanned value, which may be a credential.
    pub fn concealing_value(mut self) -> Self {
        self.conceals_value = true;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The problem as the JSON object of `patchbay check --json`.
    pub fn to_json(&self, source: &SourceFile) -> ProblemJson {
        let source = self.file.as_deref().unwrap_or(source);
        let position = self.span.as_ref().map(|s| source.position(s.start));
        ProblemJson {
            file: source.path.display().to_string(),
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            severity: self.severity,
            integration: self.integration.clone(),
            message: self.message.clone(),
            help: self.help.clone(),
        }
    }

    /// Renders the problem for a terminal:
    ///
    /// ```text
    /// error: unknown key `tiemout` (integration `orders`)
    ///   --> connectors.toml:12:1
    ///    |
    /// 12 | tiemout = "30s"
    ///    | ^^^^^^^
    ///    = help: did you mean `timeout`?
    /// ```
    pub fn render(&self, source: &SourceFile) -> String {
        let source = self.file.as_deref().unwrap_or(source);
        let mut out = String::new();
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = write!(out, "{label}: {}", self.message);
        if let Some(name) = &self.integration {
            let _ = write!(out, " (integration `{name}`)");
        }
        out.push('\n');
        match &self.span {
            Some(span) => render_snippet(&mut out, source, span, self.conceals_value),
            None => {
                let _ = writeln!(out, "  --> {}", source.path.display());
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "   = help: {help}");
        }
        out
    }
}

fn render_snippet(out: &mut String, source: &SourceFile, span: &Range<usize>, conceal: bool) {
    let start = source.position(span.start);
    let mut end = source.position(span.end.max(span.start));
    let mut line_text = source.line_text(start.line).to_owned();
    if conceal {
        let before: String = line_text.chars().take(start.column - 1).collect();
        let after: String = if end.line == start.line {
            line_text.chars().skip(end.column - 1).collect()
        } else {
            String::new()
        };
        line_text = format!("{before}\"***\"{after}");
        end = Position {
            line: start.line,
            column: start.column + "\"***\"".len(),
        };
    }
    let gutter = start.line.to_string().len();
    let pad = " ".repeat(gutter);
    let width = if end.line == start.line {
        end.column.saturating_sub(start.column).max(1)
    } else {
        line_text
            .chars()
            .count()
            .saturating_sub(start.column - 1)
            .max(1)
    };
    let _ = writeln!(
        out,
        "{pad}--> {}:{}:{}",
        display_path(&source.path),
        start.line,
        start.column
    );
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{} | {line_text}", start.line);
    let _ = writeln!(
        out,
        "{pad} | {}{}",
        " ".repeat(start.column - 1),
        "^".repeat(width)
    );
}

fn display_path(path: &Path) -> String {
    path.display().to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemJson {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub severity: Severity,
    pub integration: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let source = SourceFile::new("c.toml", "a = 1\nnäme = \"x\"\n");
        assert_eq!(source.position(0), Position { line: 1, column: 1 });
        let offset = source.text.find('=').unwrap();
        assert_eq!(source.position(offset), Position { line: 1, column: 3 });
        let second = source.text.rfind('=').unwrap();
        assert_eq!(source.position(second), Position { line: 2, column: 6 });
    }

    #[test]
    fn render_points_a_caret_at_the_span() {
        let source = SourceFile::new("c.toml", "[settings]\ntiemout = 3\n");
        let start = source.text.find("tiemout").unwrap();
        let problem = Problem::error("unknown key `tiemout`", Some(start..start + 7))
            .with_help("did you mean `timeout`?");
        let text = problem.render(&source);
        assert_eq!(
            text,
            "error: unknown key `tiemout`\n --> c.toml:2:1\n  |\n2 | tiemout = 3\n  | ^^^^^^^\n   = help: did you mean `timeout`?\n"
        );
    }
}
