//! The shape of the code, checked (ARCHITECTURE.md draws it): every file's
//! imports of other files of the crate (`use crate::...`, `use super::...`,
//! and paths written inline) form no circle, and every import between the
//! top-level modules goes down the layers below, so data flows one way:
//! command line -> commands -> engine -> plan -> partial and output ->
//! reduction -> pipeline -> the leaves.
//!
//! A folder's `mod.rs` that only declares its files and re-exports their
//! names is the folder's face: a name taken through it is an import of the
//! file that defines it. Unit tests (a `#[cfg(test)]` module at the end of
//! a file) may import anything and are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules, from the top layer down. A module may import
/// only modules of a lower layer (a later line); modules of one layer do
/// not import each other.
const LAYERS: &[&[&str]] = &[
    &["lib"],
    &["generate", "fuzzing"],
    &["cli"],
    &["cmd"],
    &["engine"],
    &["plan"],
    &["partial", "output"],
    &["reduce"],
    &["pipeline"],
    &["input", "json", "counts", "tokenize", "threads"],
    &["memory"],
    &[
        "numbers",
        "table",
        "tsv",
        "location",
        "error",
        "progress",
        "interrupt",
        "expect",
        "examples",
        "prefetch",
    ],
];

/// A source file of the library: its module path and its text (tests cut
/// off).
struct File {
    module: Vec<String>,
    text: String,
}

fn source_files() -> Vec<File> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && path != src.join("main.rs") {
                files.push(File {
                    module: module_of(&src, &path),
                    text: without_tests(&std::fs::read_to_string(&path).unwrap()),
                });
            }
        }
    }
    files.sort_by(|a, b| a.module.cmp(&b.module));
    files
}

/// `src/a/b.rs` is `a::b`, `src/a/mod.rs` is `a`, `src/lib.rs` the root.
fn module_of(src: &Path, path: &Path) -> Vec<String> {
    let relative = path.strip_prefix(src).unwrap().with_extension("");
    let mut module: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
        module.pop();
    }
    module
}

/// The text before the unit tests, without comments.
fn without_tests(text: &str) -> String {
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names: every `use` tree expanded, and every path
/// written inline from `crate::` or `super::`, each with whether it is a
/// re-export (`pub use`, `pub(crate) use`).
fn paths(text: &str) -> Vec<(Vec<String>, bool)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("use ") {
        let prefix = rest[..at].trim_end();
        let reexport = ["pub", "pub(crate)", "pub(super)"]
            .iter()
            .any(|p| prefix.ends_with(p));
        let starts_statement =
            prefix.is_empty() || prefix.ends_with([';', '{', '}', ']']) || reexport;
        let word_start = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        if starts_statement && word_start {
            let tree: String = rest[at + 4..at + end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            for path in expand(&tree) {
                found.push((path, reexport));
            }
            rest = &rest[at + end..];
        } else {
            rest = &rest[at + 4..];
        }
    }
    // Inline paths: `crate::a::b::f(...)`, `super::x::y`.
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            if at > 0 {
                let before = text.as_bytes()[at - 1];
                if before.is_ascii_alphanumeric() || before == b'_' || before == b':' {
                    continue;
                }
            }
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<String> = path
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            found.push((segments, false));
        }
    }
    found
}

/// The paths of a use tree: `a::{b, c::{d, e}}` is `a::b`, `a::c::d`,
/// `a::c::e`; `self` in braces is the prefix itself; `as` is dropped.
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn go(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        match tree.find('{') {
            None => {
                let mut path = prefix.to_vec();
                let tree = tree.split("as").next().unwrap_or(tree);
                for segment in tree.split("::").filter(|s| !s.is_empty()) {
                    if segment != "self" {
                        path.push(segment.to_owned());
                    }
                }
                out.push(path);
            }
            Some(open) => {
                let mut path = prefix.to_vec();
                path.extend(
                    tree[..open]
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
                let mut depth = 0;
                let mut piece = String::new();
                for c in inner.chars().chain([',']) {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if c == ',' && depth == 0 {
                        if !piece.is_empty() {
                            go(&path, &piece, out);
                        }
                        piece.clear();
                    } else {
                        piece.push(c);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    go(&[], tree, &mut out);
    out
}

/// The module a path of `from` leads to, and the name it takes there (if
/// any): `crate::a::b::C` from anywhere, `super::x` relative to `from`, a
/// bare `child::x` in a folder's `mod.rs`. Paths to other crates: `None`.
fn resolve(
    from: &[String],
    is_folder: bool,
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<(Vec<String>, Option<String>)> {
    let (mut base, rest): (Vec<String>, &[String]) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "super" => {
            let mut base = from.to_vec();
            let mut rest = path;
            // In `a/b.rs` (module a::b), super is a; in `a/mod.rs`
            // (module a), super is the crate root.
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, rest)
        }
        first if is_folder && modules.contains(&[from, &[first.to_owned()]].concat()) => {
            (from.to_vec(), path)
        }
        _ => return None,
    };
    let mut taken = None;
    for segment in rest {
        let mut deeper = base.clone();
        deeper.push(segment.clone());
        if modules.contains(&deeper) {
            base = deeper;
        } else {
            taken = Some(segment.clone());
            break;
        }
    }
    Some((base, taken))
}

/// The names a folder's face re-exports, and from which of its files.
fn faces(
    files: &[File],
    modules: &BTreeSet<Vec<String>>,
) -> BTreeMap<(Vec<String>, String), Vec<String>> {
    let mut faces = BTreeMap::new();
    for file in files {
        for (path, reexport) in paths(&file.text) {
            if !reexport {
                continue;
            }
            if let Some((module, Some(name))) = resolve(&file.module, true, &path, modules)
                && module != file.module
            {
                faces.insert((file.module.clone(), name), module);
            }
        }
    }
    faces
}

/// Every file's imports of other files: module -> modules.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    graph_of(&source_files())
}

/// The names of a file's code, outside its `use` statements.
fn code_names(text: &str) -> BTreeSet<String> {
    code_only(text)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A file's code without its `use` statements and `mod` declarations.
fn code_only(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("use ") {
        code.push_str(&rest[..at]);
        let prefix = rest[..at].trim_end();
        let statement = prefix.is_empty()
            || prefix.ends_with([';', '{', '}', ']'])
            || ["pub", "pub(crate)", "pub(super)"]
                .iter()
                .any(|p| prefix.ends_with(p));
        match rest[at..].find(';') {
            Some(end) if statement => rest = &rest[at + end..],
            _ => {
                code.push_str("use ");
                rest = &rest[at + 4..];
            }
        }
    }
    code.push_str(rest);
    // `mod x;` declares a file; it does not use it.
    let code: Vec<&str> = code
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            let line = line
                .strip_prefix("pub(crate) ")
                .or_else(|| line.strip_prefix("pub "))
                .unwrap_or(line);
            !(line.starts_with("mod ") && line.trim_end().ends_with(';'))
        })
        .collect();
    code.join("\n")
}

/// Whether `text` writes a path from `module::` as a whole word (a call
/// of a child module by a folder's face).
fn bare_path(text: &str, module: &str) -> bool {
    let pattern = format!("{module}::");
    text.match_indices(&pattern).any(|(at, _)| {
        at == 0 || {
            let before = text.as_bytes()[at - 1];
            !(before.is_ascii_alphanumeric() || before == b'_' || before == b':')
        }
    })
}

fn graph_of(files: &[File]) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let faces = faces(files, &modules);
    let folder = |m: &Vec<String>| {
        modules
            .iter()
            .any(|o| o.len() > m.len() && o.starts_with(m))
    };
    let mut graph = BTreeMap::new();
    for file in files {
        let mut edges = BTreeSet::new();
        let names = code_names(&file.text);
        let is_folder = folder(&file.module);
        let mut found = paths(&file.text);
        // In a folder's face, `child::f()` is written bare.
        if is_folder {
            for child in modules
                .iter()
                .filter(|m| m.len() == file.module.len() + 1 && m.starts_with(&file.module))
            {
                let name = child.last().expect("a child has a name");
                if bare_path(&code_only(&file.text), name) {
                    found.push((vec![name.clone()], false));
                }
            }
        }
        for (path, reexport) in found {
            // A name a face re-exports and also uses itself is imported.
            let used = path.last().is_some_and(|name| names.contains(name));
            if reexport && !used {
                continue;
            }
            let Some((mut module, name)) =
                resolve(&file.module, folder(&file.module), &path, &modules)
            else {
                continue;
            };
            // A name taken through a folder's face is the file's that
            // defines it.
            if let Some(name) = &name
                && let Some(defined) = faces.get(&(module.clone(), name.clone()))
            {
                module = defined.clone();
            }
            if module != file.module && !module.is_empty() {
                edges.insert(module);
            }
        }
        graph.insert(file.module.clone(), edges);
    }
    graph
}

fn show(module: &[String]) -> String {
    if module.is_empty() {
        "lib".to_owned()
    } else {
        module.join("::")
    }
}

/// The first import circle of a graph, if there is one.
fn circle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<String> {
    // Depth-first search; a node met again while it is on the path
    // closes a circle.
    type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;
    fn visit<'g>(
        node: &'g Vec<String>,
        graph: &'g Graph,
        done: &mut BTreeSet<&'g Vec<String>>,
        path: &mut Vec<&'g Vec<String>>,
    ) -> Option<String> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let circle: Vec<String> = path[at..].iter().chain([&node]).map(|m| show(m)).collect();
            return Some(circle.join(" -> "));
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, path) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_file_imports_itself_through_others() {
    if let Some(found) = circle(&graph()) {
        panic!("an import circle: {found}");
    }
}

/// The imports between top-level modules that do not go down `layers`.
fn upward(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>, layers: &[&[&str]]) -> Vec<String> {
    let layer_of = |module: &[String]| -> usize {
        let top = module.first().map_or("lib", String::as_str);
        layers
            .iter()
            .position(|layer| layer.contains(&top))
            .unwrap_or_else(|| panic!("the module {top} has no layer in LAYERS"))
    };
    let mut wrong = Vec::new();
    for (from, edges) in graph {
        for to in edges {
            let same_top = from.first() == to.first() && !from.is_empty();
            if !same_top && layer_of(to) <= layer_of(from) {
                wrong.push(format!("{} -> {}", show(from), show(to)));
            }
        }
    }
    wrong
}

#[test]
fn imports_go_down_the_layers() {
    let wrong = upward(&graph(), LAYERS);
    assert!(
        wrong.is_empty(),
        "imports that do not go down the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_finds_circles_and_edges_through_faces() {
    let file = |module: &[&str], text: &str| File {
        module: module.iter().map(|s| (*s).to_owned()).collect(),
        text: without_tests(text),
    };
    let files = [
        file(&[], "mod a;\nmod b;\n"),
        // A face that also uses what it re-exports, and calls a child.
        file(
            &["a"],
            "mod x;\nmod y;\npub(crate) use x::X;\nfn f(v: X) { y::g(); }\n",
        ),
        file(&["a", "x"], "pub struct X;\n"),
        file(
            &["a", "y"],
            "use super::X;\npub fn g() { crate::b::h(); }\n",
        ),
        file(
            &["b"],
            "pub fn h() {}\n#[cfg(test)]\nmod tests { use crate::a::X; }\n",
        ),
    ];
    let graph = graph_of(&files);
    let edges = |m: &[&str]| -> Vec<String> {
        let key: Vec<String> = m.iter().map(|s| (*s).to_owned()).collect();
        graph[&key].iter().map(|m| show(m)).collect()
    };
    assert_eq!(edges(&["a"]), ["a::x", "a::y"]);
    assert_eq!(edges(&["a", "y"]), ["a::x", "b"]);
    assert!(edges(&["b"]).is_empty(), "tests are not read");
    assert_eq!(circle(&graph), None);
    let mut looped = graph.clone();
    looped
        .get_mut(&vec!["a".to_owned(), "x".to_owned()])
        .unwrap()
        .insert(vec!["a".to_owned(), "y".to_owned()]);
    looped
        .get_mut(&vec!["a".to_owned(), "y".to_owned()])
        .unwrap()
        .insert(vec!["a".to_owned()]);
    assert!(circle(&looped).is_some());
    assert!(upward(&graph, &[&["lib"], &["a"], &["b"]]).is_empty());
    assert_eq!(
        upward(&graph, &[&["lib"], &["b"], &["a"]]),
        ["a::y -> b"],
        "b above a: a's import of b climbs"
    );
}

#[test]
fn the_checker_reads_use_trees() {
    assert_eq!(
        expand("crate::a::{self,b,c::{d,e}}"),
        [
            vec!["crate", "a"],
            vec!["crate", "a", "b"],
            vec!["crate", "a", "c", "d"],
            vec!["crate", "a", "c", "e"],
        ]
    );
    let found = paths("use super::x::Y;\npub(crate) use z::W;\nfn f() { crate::q::r(); }");
    assert!(found.contains(&(vec!["super".into(), "x".into(), "Y".into()], false)));
    assert!(found.contains(&(vec!["z".into(), "W".into()], true)));
    assert!(found.contains(&(vec!["crate".into(), "q".into(), "r".into()], false)));
}
