//! Where blueprints come from, weakest first: the ones shipped in the binary, then
//! `$XDG_CONFIG_HOME/patchbay/blueprints/*.toml`, then `blueprints/*.toml` next to
//! `connectors.toml`, then `[[blueprint]]` tables in `connectors.toml` itself. A later
//! blueprint of the same name replaces an earlier one, so a shipped one can be adapted
//! by copying it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::problem::{Problem, SourceFile};

/// The blueprints built into the binary, written from each vendor's public API docs.
const SHIPPED: [(&str, &str); 7] = [
    (
        "github-issues.toml",
        include_str!("../../../blueprints/github-issues.toml"),
    ),
    (
        "jira-issues.toml",
        include_str!("../../../blueprints/jira-issues.toml"),
    ),
    (
        "bamboohr-directory.toml",
        include_str!("../../../blueprints/bamboohr-directory.toml"),
    ),
    (
        "slack-history.toml",
        include_str!("../../../blueprints/slack-history.toml"),
    ),
    (
        "notion-database.toml",
        include_str!("../../../blueprints/notion-database.toml"),
    ),
    (
        "msgraph-users.toml",
        include_str!("../../../blueprints/msgraph-users.toml"),
    ),
    (
        "pagerduty-incidents.toml",
        include_str!("../../../blueprints/pagerduty-incidents.toml"),
    ),
];

/// Where a blueprint was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Shipped,
    UserDir,
    ConfigDir,
    ConfigFile,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Shipped => "shipped",
            Self::UserDir => "user blueprints dir",
            Self::ConfigDir => "blueprints dir next to the config",
            Self::ConfigFile => "the config file",
        }
    }
}

/// One file of `[[blueprint]]` tables.
#[derive(Debug, Clone)]
pub struct BlueprintFile {
    pub source: Arc<SourceFile>,
    pub origin: Origin,
}

/// The blueprint files found, and the ones that could not be read.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub files: Vec<BlueprintFile>,
    pub problems: Vec<Problem>,
}

impl Library {
    /// Only the blueprints built into the binary.
    pub fn shipped() -> Self {
        let files = SHIPPED
            .iter()
            .map(|(name, text)| BlueprintFile {
                source: Arc::new(SourceFile::new(format!("<shipped>/{name}"), *text)),
                origin: Origin::Shipped,
            })
            .collect();
        Self {
            files,
            problems: Vec::new(),
        }
    }

    /// The shipped blueprints, the user's, and those next to the config at `config`.
    pub fn discover(config: &Path) -> Self {
        let mut library = Self::shipped();
        let next_to_config = config.parent().unwrap_or(Path::new(".")).join("blueprints");
        library.add_dir(
            &crate::paths::config_dir().join("blueprints"),
            Origin::UserDir,
        );
        library.add_dir(&next_to_config, Origin::ConfigDir);
        library
    }

    fn add_dir(&mut self, dir: &Path, origin: Origin) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return; // No such dir is the common case, not a problem.
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => self.files.push(BlueprintFile {
                    source: Arc::new(SourceFile::new(path, text)),
                    origin,
                }),
                Err(error) => self.problems.push(
                    Problem::warning(
                        format!("blueprint file {} cannot be read: {error}", path.display()),
                        None,
                    )
                    .with_help(
                        "fix its permissions or remove it; its blueprints are not available",
                    ),
                ),
            }
        }
    }
}
