//! The shape of the code, checked: no module of a crate depends, through others, on a
//! module that depends on it; and functions stay short enough to read. Only declarative
//! tables may be longer, each listed with its length (which may only shrink).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines a function may have. Declarative tables (route lists, reference data) are
/// listed for good; the rest are work to do.
const MAX_LINES: usize = 80;

/// The declarative tables longer than [`MAX_LINES`] (route lists, one arm per policy
/// action, reference data), with their length: none may grow, and nothing else may join.
const LONG: &[(&str, &str, usize)] = &[
    ("crates/web/src/api/mod.rs", "routes", 272), // table
    ("crates/web/src/api/mod.rs", "feedback_routes", 180), // table
    ("crates/web/src/pages/mod.rs", "routes", 147), // table
    ("crates/domain/src/policy.rs", "decide", 150), // table: one arm per action
    ("crates/domain/src/units.rs", "reference_units", 117), // table
    (
        "crates/domain/src/feedback/catalog.rs",
        "default_categories",
        94,
    ), // table
];

const CRATES: &[&str] = &["domain", "storage", "app", "web", "sohoa", "forecast"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every source file of a crate with its text, tests left out (everything from the first
/// top-level `#[cfg(test)]` on).
fn sources(krate: &str) -> Vec<(String, Vec<String>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("crates").join(krate).join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let lines: Vec<String> = text
                .lines()
                .take_while(|l| !l.starts_with("#[cfg(test)]"))
                .map(str::to_owned)
                .collect();
            let rel = p.strip_prefix(root()).unwrap_or(&p).to_string_lossy();
            (rel.trim_start_matches("./").replace("/../../", "/"), lines)
        })
        .collect()
}

/// The crate's top-level module a file belongs to (`lib` for the root).
fn top_module(krate: &str, file: &str) -> String {
    let src = format!("crates/{krate}/src/");
    let rel = file.split(&src).nth(1).unwrap_or(file);
    let first = rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs");
    if first == "main" { "lib" } else { first }.to_owned()
}

/// The top-level modules a line names through `crate::`, brace groups included.
fn named_modules(line: &str, out: &mut BTreeSet<String>) {
    let code = line.split("//").next().unwrap_or("");
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let body = group.split('}').next().unwrap_or("");
            for item in body.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
}

/// A cycle among a crate's top-level modules, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut cycle = path[at..].to_vec();
            cycle.push(n.to_owned());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        for m in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_depends_on_itself_through_others() {
    // The check itself finds what it is for: a cycle through a third module.
    let mut toy: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in [
        ("api", "cache"),
        ("cache", "pages"),
        ("pages", "api"),
        ("x", "api"),
    ] {
        toy.entry(a.into()).or_default().insert(b.into());
    }
    assert_eq!(
        find_cycle(&toy).map(|c| c.len()),
        Some(4),
        "{:?}",
        find_cycle(&toy)
    );
    let mut names = BTreeSet::new();
    named_modules("use crate::{audit, int, sealed::Keyring};", &mut names);
    named_modules(
        "    crate::pages::error_page(e) // crate::ignored",
        &mut names,
    );
    assert_eq!(
        names,
        ["audit", "int", "pages", "sealed"].map(String::from).into()
    );
    for krate in CRATES {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let files = sources(krate);
        for (file, lines) in &files {
            let me = top_module(krate, file);
            let deps = graph.entry(me.clone()).or_default();
            for l in lines.iter().filter(|l| !l.trim_start().starts_with("//")) {
                named_modules(l, deps);
            }
            deps.remove(&me);
        }
        let known: BTreeSet<String> = graph.keys().cloned().collect();
        for deps in graph.values_mut() {
            deps.retain(|d| known.contains(d) && d != "lib");
        }
        assert_eq!(find_cycle(&graph), None, "a cycle among {krate}'s modules");
    }
}

/// Each function's name and length in lines, from its signature to its closing brace
/// at the signature's indentation.
fn functions(lines: &[String]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        let indent = l.len() - l.trim_start().len();
        let sig = l.trim_start();
        let sig = ["pub(crate) ", "pub(super) ", "pub "]
            .iter()
            .find_map(|p| sig.strip_prefix(p))
            .unwrap_or(sig);
        let sig = sig.strip_prefix("async ").unwrap_or(sig);
        let sig = sig.strip_prefix("const ").unwrap_or(sig);
        let Some(after) = sig.strip_prefix("fn ") else {
            i += 1;
            continue;
        };
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{}}}", " ".repeat(indent));
        match lines[i..].iter().position(|x| *x == close) {
            Some(end) => {
                out.push((name, end + 1));
                i += end + 1;
            }
            None => i += 1,
        }
    }
    out
}

#[test]
fn functions_stay_short_and_the_long_ones_shrink() {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for krate in CRATES {
        for (file, lines) in sources(krate) {
            for (name, n) in functions(&lines) {
                let listed = LONG.iter().find(|(f, m, _)| *f == file && *m == name);
                match listed {
                    Some((_, _, max)) => {
                        seen.insert((file.clone(), name.clone()));
                        if n > *max {
                            problems.push(format!("{file}: {name} grew to {n} lines (was {max})"));
                        } else if n <= MAX_LINES {
                            problems.push(format!("{file}: {name} is {n} lines now: unlist it"));
                        } else if n < *max {
                            problems.push(format!("{file}: {name} shrank to {n}: list it so"));
                        }
                    }
                    None if n > MAX_LINES => problems.push(format!(
                        "{file}: {name} has {n} lines (at most {MAX_LINES})"
                    )),
                    None => {}
                }
            }
        }
    }
    for (file, name, _) in LONG {
        if !seen.contains(&(file.to_string(), name.to_string())) {
            problems.push(format!("{file}: {name} is gone: unlist it"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
