//! The module layers point one way. Every top-level module of `src/` has a layer; a
//! `crate::X` path may name a module of its own layer or a lower one, never a higher
//! one, and no set of modules may import each other in a cycle. docs/architecture.md
//! draws the same table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Lower numbers sit lower: a module may use what is at its own number or below.
const LAYERS: &[(&str, u8)] = &[
    // Leaves: plain types and helpers that import nothing of ours.
    ("domain", 0),
    ("compare", 0),
    ("fingerprint", 0),
    ("redact", 0),
    ("paths", 0),
    ("config", 1),
    ("store", 2),
    ("secrets", 2),
    ("runtime", 3),
    ("telemetry", 3),
    ("alerts", 4),
    ("pipeline", 4),
    ("connectors", 4),
    ("engine", 5),
    ("control", 6),
    ("tui", 7),
    ("cli", 7),
    ("sandbox", 7),
];

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, layer)| *layer)
        .unwrap_or_else(|| {
            panic!("src/{module} has no layer: add it to LAYERS and to docs/architecture.md")
        })
}

/// The top-level modules each module's code names, comments left out.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if matches!(name.as_str(), "lib" | "main") {
            continue;
        }
        let mut used = BTreeSet::new();
        for file in rust_files(&path) {
            for line in std::fs::read_to_string(&file).unwrap().lines() {
                let code = line.split("//").next().unwrap_or_default();
                used.extend(crate_paths(code).into_iter().filter(|m| *m != name));
            }
        }
        graph.insert(name, used);
    }
    graph
}

/// `crate::a::...` and `crate::{a::..., b}` name `a` (and `b`).
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .map(|item| item.trim().split("::").next().unwrap_or_default())
                .collect::<Vec<_>>(),
            None => vec![rest],
        };
        for name in names {
            let module: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !module.is_empty() {
                found.push(module);
            }
        }
    }
    found
}

fn rust_files(path: &Path) -> Vec<std::path::PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap().flatten() {
        files.extend(rust_files(&entry.path()));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files
}

#[test]
fn no_module_imports_a_higher_layer() {
    let mut upward = Vec::new();
    for (module, used) in imports() {
        for target in used {
            if layer(&target) > layer(&module) {
                upward.push(format!(
                    "{module} (layer {}) uses {target} (layer {})",
                    layer(&module),
                    layer(&target)
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports point up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_modules_import_each_other_in_a_cycle() {
    let graph = imports();
    // Kahn's algorithm: whatever cannot be ordered sits on a cycle.
    let mut waiting: BTreeMap<&str, usize> = graph
        .iter()
        .map(|(module, used)| (module.as_str(), used.len()))
        .collect();
    let mut ready: Vec<&str> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(m, _)| *m)
        .collect();
    while let Some(done) = ready.pop() {
        waiting.remove(done);
        for (module, used) in &graph {
            if used.contains(done)
                && let Some(count) = waiting.get_mut(module.as_str())
            {
                *count -= 1;
                if *count == 0 {
                    ready.push(module);
                }
            }
        }
    }
    assert!(
        waiting.is_empty(),
        "these modules import each other in a cycle: {waiting:?}"
    );
}

#[test]
fn the_path_reader_sees_groups_and_nested_paths() {
    assert_eq!(
        crate_paths("use crate::{config::Config, domain};  x = crate::store::Store::open()"),
        ["config", "domain", "store"]
    );
}
