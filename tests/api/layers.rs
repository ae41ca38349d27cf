//! The layers of `src/` point one way: a module may use its own layer and the ones below it,
//! never one above (`src/lib.rs` and the README tell the same order). This reads every
//! `crate::…` path in the source — `use` lines, inline paths and `use crate::{a, b}` groups —
//! and fails naming each file that reaches upward, so the rule stays true as code moves.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// From the bottom up; modules on one line are one layer and may use each other.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &["config"],
    &["clock", "metrics", "telemetry"],
    &["auth", "store", "notify", "audit", "wakeups"],
    // The HTTP error type every request path answers with; flows still return it.
    &["error"],
    // Wiring of the in-memory views, and the task that keeps them in step with the database.
    &["state", "cluster"],
    &["flows"],
    // What the API and the pages both take from a request.
    &["http"],
    &["api", "web"],
    &["routes", "app"],
    &["cli"],
    &["lib", "main"],
];

/// Modules of one layer that still must not use each other: the JSON API and the pages meet
/// only in `http` (below) and `routes` (above).
const APART: &[(&str, &str)] = &[("api", "web"), ("web", "api")];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a source file belongs to: `src/api/feed.rs` → `api`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file);
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// Every top-level module named after `crate::` (or `nod::` in `main.rs`) in code, skipping
/// comment lines.
fn referenced_modules(source: &str, root: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let prefix = format!("{root}::");
    for line in source.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find(&prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                found.extend(group_heads(group));
            } else {
                found.insert(identifier(rest));
            }
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

/// The first path segment of each item of a `{a::b, c, d::{e, f}}` group, which may end on a
/// later line (the rest of this line is all a one-line group needs; rustfmt keeps multi-line
/// groups one item a line, each starting with its head).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            c if at_item_start && (c.is_alphanumeric() || c == '_') => {
                heads.push(identifier(&group[i..]));
                at_item_start = false;
            }
            _ => {}
        }
    }
    heads
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Each upward or sideways-forbidden reference of one file, as `file: from → to`.
fn violations(module: &str, source: &str, file: &str) -> Vec<String> {
    let root = if module == "main" { "nod" } else { "crate" };
    let Some(own) = layer_of(module) else {
        return vec![format!(
            "{file}: module `{module}` is in no layer of tests/api/layers.rs"
        )];
    };
    referenced_modules(source, root)
        .into_iter()
        .filter_map(|target| {
            let upward = layer_of(&target).is_some_and(|layer| layer > own);
            let apart = APART.contains(&(module, target.as_str()));
            (upward || apart).then(|| format!("{file}: {module} → {target}"))
        })
        .collect()
}

#[test]
fn no_module_of_src_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "read only {} files of src/", files.len());
    let mut all = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("source file");
        let name = file
            .strip_prefix(&src)
            .unwrap_or(file)
            .display()
            .to_string();
        all.extend(violations(&module_of(&src, file), &source, &name));
    }
    assert!(
        all.is_empty(),
        "imports against the layer order:\n{}",
        all.join("\n")
    );
}

#[test]
fn the_check_sees_plain_grouped_and_inline_paths_and_skips_comments() {
    let source = "use crate::domain::Username;\n\
                  use crate::{auth::secrets, flows::login};\n\
                  let x = crate::web::page(1);\n\
                  // crate::cli::run is only mentioned\n\
                  let y = mycrate::api::x;\n";
    assert_eq!(
        violations("store", source, "store/x.rs"),
        ["store/x.rs: store → flows", "store/x.rs: store → web"]
    );
    assert_eq!(
        violations("api", "use crate::web::cookies;", "api/x.rs"),
        ["api/x.rs: api → web"]
    );
    assert!(violations("web", "use crate::http::client::ClientInfo;", "web/x.rs").is_empty());
    assert_eq!(
        violations(
            "main",
            "nod::cli::run(); nod::routes::router(s);",
            "main.rs"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        violations("newthing", "", "newthing.rs"),
        ["newthing.rs: module `newthing` is in no layer of tests/api/layers.rs"]
    );
}
