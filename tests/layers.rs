//! The layering, kept by a test rather than by prose: every top-level module of `src/` has
//! a place in [`LAYERS`] (bottom first), and production code may import only from modules
//! below its own. So there is no import cycle between top-level modules, and a new import
//! that points up a layer fails here with the file and line that added it.
//!
//! What counts as an import: any `crate::NAME` path (in `use` lines and in code) or a name
//! inside `use crate::{…}`, outside comments, outside `#[cfg(test)]` items and outside the
//! `tests.rs` / `fixtures.rs` files that only tests compile.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules of `src/`, from the bottom layer up (`ARCHITECTURE.md` says what
/// each is for). A module may import from those before it, never from those after it.
const LAYERS: &[&str] = &[
    "core",
    "sys",
    "frame",
    "observe",
    "server",
    "exec",
    "workload",
    "runtime",
    "experiment",
    "report",
    "app",
    "ui",
    "recording",
    "tui",
    "watch",
    "cli",
    "commands",
];

/// An import of `to` by top-level module `from`, at `file:line`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    from: String,
    to: String,
    file: PathBuf,
    line: usize,
}

/// Production lines of a source file: comments blanked, `#[cfg(test)]` items left out
/// (line numbers kept, so a failure points at the real line).
fn production_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_depth: Option<i64> = None;
    let mut pending_cfg_test = false;
    let mut in_block_comment = false;
    for raw in text.lines() {
        let mut line = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if in_block_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    in_block_comment = false;
                }
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '/' && chars.peek() == Some(&'*') {
                chars.next();
                in_block_comment = true;
                continue;
            }
            line.push(c);
        }
        let opens = line.matches('{').count() as i64;
        let closes = line.matches('}').count() as i64;
        if let Some(depth) = skip_depth.as_mut() {
            *depth += opens - closes;
            if *depth <= 0 {
                skip_depth = None;
            }
            out.push(String::new());
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            out.push(String::new());
            continue;
        }
        if pending_cfg_test && !trimmed.is_empty() && !trimmed.starts_with("#[") {
            pending_cfg_test = false;
            // The item after the attribute: one line (`mod tests;`) or a block.
            if opens > closes {
                skip_depth = Some(opens - closes);
            }
            out.push(String::new());
            continue;
        }
        out.push(line);
    }
    out
}

/// The top-level modules a production line names through `crate::`.
fn imports_on(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // `use crate::{a::X, b, c::{..}}`: the first segment of every top-level item.
            let mut depth = 0;
            let mut item_start = true;
            let mut name = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => name.push(c),
                    _ if item_start && !name.is_empty() => {
                        found.push(std::mem::take(&mut name));
                        item_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                found.push(name);
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
        rest = after;
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every import between two different top-level modules in the production code of `src`.
fn imports(src: &Path) -> Vec<Import> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "tests.rs" || name == "fixtures.rs" {
            continue;
        }
        let from = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        if from == "main" || from == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a source file reads");
        for (i, line) in production_lines(&text).iter().enumerate() {
            for to in imports_on(line) {
                if to != from {
                    out.push(Import {
                        from: from.clone(),
                        to,
                        file: rel.to_path_buf(),
                        line: i + 1,
                    });
                }
            }
        }
    }
    out
}

/// The imports that break the layering: to a module not in `layers`, or to one at or
/// above the importer's own layer.
fn violations(layers: &[&str], imports: &[Import]) -> Vec<String> {
    let rank = |m: &str| layers.iter().position(|l| *l == m);
    let mut bad = Vec::new();
    for imp in imports {
        match (rank(&imp.from), rank(&imp.to)) {
            (Some(f), Some(t)) if t < f => {}
            (Some(_), Some(_)) => bad.push(format!(
                "{}:{}: `{}` imports `{}`, which is not below it",
                imp.file.display(),
                imp.line,
                imp.from,
                imp.to
            )),
            (None, _) => bad.push(format!(
                "{}: module `{}` has no place in LAYERS",
                imp.file.display(),
                imp.from
            )),
            // Not a module: a macro exported at the crate root (`crate::out!`). A module
            // missing from LAYERS is caught by `every_top_level_module_has_a_layer`.
            (_, None) => {}
        }
    }
    bad.sort();
    bad.dedup();
    bad
}

/// Cycles between top-level modules, found directly (not through the layer order): each
/// strongly connected group of more than one module.
fn cycles(imports: &[Import]) -> Vec<BTreeSet<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in imports {
        graph.entry(&i.from).or_default().insert(&i.to);
    }
    let nodes: Vec<&str> = graph.keys().copied().collect();
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(n) = todo.pop() {
            for &m in graph.get(n).into_iter().flatten() {
                if seen.insert(m) {
                    todo.push(m);
                }
            }
        }
        seen
    };
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for &n in &nodes {
        let from_n = reach(n);
        let group: BTreeSet<String> = nodes
            .iter()
            .filter(|&&m| m != n && from_n.contains(m) && reach(m).contains(n))
            .map(|m| m.to_string())
            .chain(std::iter::once(n.to_string()))
            .collect();
        if group.len() > 1 && !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_import_points_down_a_layer() {
    let bad = violations(LAYERS, &imports(&src()));
    assert!(
        bad.is_empty(),
        "imports that point up (or sideways) a layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_cycle_between_top_level_modules() {
    let found = cycles(&imports(&src()));
    assert!(found.is_empty(), "import cycles: {found:?}");
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert_eq!(
        declared, LAYERS,
        "lib.rs declares its modules in layer order, and LAYERS names each"
    );
}

#[test]
fn at_most_twelve_files_directly_in_src() {
    let loose: Vec<String> = std::fs::read_dir(src())
        .expect("src")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(loose.len() <= 12, "{loose:?}");
}

// The checker itself: it must catch what it is for.

fn imp(from: &str, to: &str) -> Import {
    Import {
        from: from.into(),
        to: to.into(),
        file: PathBuf::from(format!("{from}/x.rs")),
        line: 1,
    }
}

#[test]
fn an_upward_import_is_caught() {
    let layers = ["core", "exec", "ui"];
    assert!(violations(&layers, &[imp("ui", "exec"), imp("exec", "core")]).is_empty());
    let bad = violations(&layers, &[imp("exec", "ui")]);
    assert_eq!(
        bad,
        vec!["exec/x.rs:1: `exec` imports `ui`, which is not below it"]
    );
    assert_eq!(violations(&layers, &[imp("new", "core")]).len(), 1);
}

#[test]
fn a_cycle_is_caught() {
    let found = cycles(&[imp("a", "b"), imp("b", "c"), imp("c", "a"), imp("c", "d")]);
    let want: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, vec![want]);
    assert!(cycles(&[imp("a", "b"), imp("b", "c")]).is_empty());
}

#[test]
fn test_code_and_comments_are_not_imports() {
    let text = "use crate::core::X;\n// crate::ui::Y\n#[cfg(test)]\nmod tests {\n    use crate::ui::Z;\n}\nfn f() { crate::exec::run(); }\n";
    let lines = production_lines(text);
    let found: Vec<String> = lines.iter().flat_map(|l| imports_on(l)).collect();
    assert_eq!(found, vec!["core", "exec"]);
    assert_eq!(
        imports_on("use crate::{app::App, ui::{self, draw}, core};"),
        vec!["app", "ui", "core"]
    );
}
