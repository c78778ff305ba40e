//! The structure docs/ARCHITECTURE.md describes, checked on the source: the core names no
//! framework, database library, HTTP client or runtime; every import points down the layers;
//! no file imports one that imports it back; no source file is over 600 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may import only from layers below its own.
const LAYERS: &[&[&str]] = &[
    &[
        "wire",
        "secret",
        "clock",
        "metrics",
        "password",
        "telemetry",
    ],
    &["keys", "tls"],
    &["tokens"],
    &["core"],
    &["config"],
    &["store", "backchannel", "client_keys", "offload"],
    &["web"],
    &["jobs"],
    &["app"],
    &["cli"],
];

/// Names that must not appear anywhere in `src/core`.
const FOREIGN_TO_CORE: &[&str] = &[
    "actix", "askama", "sea_orm", "sea-orm", "sqlx", "reqwest", "tokio", "spawn", "sleep",
];

const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `core/authorize/flow.rs` → ["core", "authorize", "flow"]; `core/mod.rs` → ["core"].
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file that defines the longest prefix of `path` that is a module.
fn resolve(modules: &BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<PathBuf> {
    (1..=path.len())
        .rev()
        .find_map(|n| modules.get(&path[..n]).cloned())
}

/// Every path a `use` tree or an expression names after `crate::` or `super::` (and after a
/// child module's own name), expanded: `crate::a::{b, c::d}` gives a::b and a::c::d.
fn referenced_paths(code: &str, here: &[String], children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let bytes: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0
            || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_' || bytes[i - 1] == ':');
        if starts_word && let Some((base, len)) = path_start(&bytes[i..], here, children) {
            let mut j = i + len;
            expand(&bytes, &mut j, base, &mut found);
            i = j;
        } else {
            i += 1;
        }
    }
    found
}

fn path_start(
    rest: &[char],
    here: &[String],
    children: &BTreeSet<String>,
) -> Option<(Vec<String>, usize)> {
    let text: String = rest.iter().take(200).collect();
    if text.starts_with("crate::") {
        return Some((Vec::new(), "crate::".len()));
    }
    let mut base = here.to_vec();
    let mut len = 0;
    while text[len..].starts_with("super::") {
        base.pop()?;
        len += "super::".len();
    }
    if len > 0 {
        return Some((base, len));
    }
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if children.contains(&ident) && text[ident.len()..].starts_with("::") {
        let mut base = here.to_vec();
        base.push(ident.clone());
        return Some((base, ident.len() + 2));
    }
    None
}

/// Reads `seg::seg::{tree, tree}` from `j`, pushing every full path.
fn expand(code: &[char], j: &mut usize, mut base: Vec<String>, out: &mut Vec<Vec<String>>) {
    loop {
        let ident: String = code[*j..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect();
        if !ident.is_empty() {
            *j += ident.chars().count();
            if ident != "self" {
                base.push(ident);
            }
        }
        let rest: String = code[*j..].iter().take(2).collect();
        if rest == "::" {
            *j += 2;
            if code.get(*j) == Some(&'{') {
                *j += 1;
                loop {
                    while code.get(*j).is_some_and(|c| c.is_whitespace() || *c == ',') {
                        *j += 1;
                    }
                    match code.get(*j) {
                        Some('}') | None => {
                            *j += 1;
                            return;
                        }
                        _ => expand(code, j, base.clone(), out),
                    }
                }
            }
        } else {
            out.push(base);
            return;
        }
    }
}

/// The production code of a file: comments and the trailing `#[cfg(test)]` module dropped
/// (inside it, `super` is the file itself).
fn production_code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module '{module}' is in no layer of docs/ARCHITECTURE.md"))
}

#[test]
fn the_core_names_no_framework_database_http_client_or_runtime() {
    let mut files = Vec::new();
    rust_files(&src().join("core"), &mut files);
    assert!(files.len() > 10, "the core is where the rules live");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for name in FOREIGN_TO_CORE {
                if line.contains(name) {
                    offences.push(format!("{}:{}: {name}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the core must stay framework-free:\n{}",
        offences.join("\n")
    );
}

#[test]
fn imports_point_down_the_layers_and_never_in_a_cycle() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_path(f), f.clone())).collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut upward = Vec::new();
    for file in &files {
        if file.ends_with("main.rs") {
            continue; // the binary, above everything
        }
        let here = module_path(file);
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        let children: BTreeSet<String> = code
            .lines()
            .filter_map(|l| {
                let l = l
                    .trim()
                    .trim_start_matches("pub ")
                    .trim_start_matches("pub(crate) ");
                l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
            })
            .collect();
        // A module's `pub use` of its children's items is a facade for its callers, not a
        // dependency of its own code: it makes no edge of the cycle check.
        let (facade, uses): (Vec<&str>, Vec<&str>) = code
            .split(';')
            .partition(|statement| statement.trim_start().starts_with("pub use"));
        for (statements, counts_for_cycles) in [(facade, false), (uses, true)] {
            let code = statements.join(";");
            for path in referenced_paths(&code, &here, &children) {
                let Some(target) = resolve(&modules, &path) else {
                    continue;
                };
                if target == *file {
                    continue;
                }
                let (from, to) = (&here[0], &module_path(&target)[0]);
                if from != to && layer_of(to) >= layer_of(from) {
                    upward.push(format!("{} imports {}", file.display(), path.join("::")));
                }
                if counts_for_cycles {
                    edges.entry(file.clone()).or_default().insert(target);
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not point down:\n{}",
        upward.join("\n")
    );
    let cycle = find_cycle(&edges);
    assert!(cycle.is_none(), "an import cycle: {cycle:?}");
}

fn find_cycle(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    fn visit(
        node: &PathBuf,
        edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        stack: &mut Vec<PathBuf>,
        done: &mut BTreeSet<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            return Some(stack[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

#[test]
fn the_checker_sees_imports_cycles_and_upward_edges() {
    let children = BTreeSet::from(["handlers".to_string()]);
    let here = vec!["web".to_string()];
    let code = "use crate::core::{Ctx, error::{OAuthError, StoreError}};\nuse super::x::y;\nhandlers::login::page();";
    let paths = referenced_paths(code, &here, &children);
    let shown: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        shown,
        [
            "core::Ctx",
            "core::error::OAuthError",
            "core::error::StoreError",
            "x::y",
            "web::handlers::login::page"
        ]
    );
    let (a, b) = (PathBuf::from("a.rs"), PathBuf::from("b.rs"));
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert!(find_cycle(&edges).is_some());
    assert!(layer_of("web") > layer_of("core"));
}

#[test]
fn the_readme_points_only_inside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        !readme.contains("../"),
        "README links outside the repository"
    );
    assert!(readme.contains("docs/ARCHITECTURE.md"));
    assert!(root.join("docs/ARCHITECTURE.md").exists());
}
