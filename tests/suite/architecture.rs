//! The shape of `src/` as `docs/architecture.md` draws it: no two files
//! import each other, even through others, and every top-level module
//! imports only modules on its own floor or below.
//!
//! The import graph is built from the source itself (parsed with `syn`):
//! every `use` and every `crate::`/`super::`/`self::` path outside test
//! code is an arrow from its file to the file that defines the name,
//! following `pub use` re-exports to where the name is defined.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use syn::visit::Visit;

type Module = Vec<String>;

/// One file of `src/`: what it defines, re-exports, and refers to.
#[derive(Default)]
struct Source {
    defines: BTreeSet<String>,
    /// `pub use` re-exports: exported name → the path it stands for.
    reexports: BTreeMap<String, Vec<String>>,
    /// `pub use path::*`.
    globs: Vec<Vec<String>>,
    /// Every path the file uses, as written.
    paths: Vec<Vec<String>>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// Expands a use tree into full paths (`a::{b, c::d}` → `a::b`, `a::c::d`);
/// a glob ends in `*`, a rename keeps the original name.
fn expand(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            expand(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let mut full = prefix.clone();
            full.push(name.ident.to_string());
            out.push((full, name.ident.to_string()));
        }
        syn::UseTree::Rename(rename) => {
            let mut full = prefix.clone();
            full.push(rename.ident.to_string());
            out.push((full, rename.rename.to_string()));
        }
        syn::UseTree::Glob(_) => {
            let mut full = prefix.clone();
            full.push("*".into());
            out.push((full, "*".into()));
        }
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                expand(tree, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Source {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let (attrs, name) = match item {
            syn::Item::Const(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Enum(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Fn(i) => (&i.attrs, Some(&i.sig.ident)),
            syn::Item::Mod(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Static(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Struct(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Trait(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Type(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Union(i) => (&i.attrs, Some(&i.ident)),
            syn::Item::Macro(i) => (&i.attrs, i.ident.as_ref()),
            syn::Item::Impl(i) => (&i.attrs, None),
            syn::Item::Use(i) => (&i.attrs, None),
            _ => return syn::visit::visit_item(self, item),
        };
        if is_test_only(attrs) {
            return;
        }
        if let Some(name) = name {
            self.defines.insert(name.to_string());
        }
        // `#[kube(kind = "X")]` defines the resource type `X`.
        for attr in attrs.iter().filter(|a| a.path().is_ident("kube")) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("kind") {
                    let kind: syn::LitStr = meta.value()?.parse()?;
                    self.defines.insert(kind.value());
                } else if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<syn::Expr>()?;
                } else if meta.input.peek(syn::token::Paren) {
                    let _content;
                    syn::parenthesized!(_content in meta.input);
                }
                Ok(())
            });
        }
        if let syn::Item::Use(item_use) = item {
            let mut paths = Vec::new();
            expand(&item_use.tree, &mut Vec::new(), &mut paths);
            let public = !matches!(item_use.vis, syn::Visibility::Inherited);
            for (path, name) in paths {
                if public && name == "*" {
                    self.globs.push(path[..path.len() - 1].to_vec());
                } else if public {
                    self.reexports.insert(name, path.clone());
                }
                self.paths.push(path);
            }
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !is_test_only(&item.attrs) {
            syn::visit::visit_impl_item_fn(self, item);
        }
    }

    // `pub(super)` names who may see an item, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if matches!(
            segments.first().map(String::as_str),
            Some("crate" | "super" | "self")
        ) {
            self.paths.push(segments);
        }
        syn::visit::visit_path(self, path);
    }
}

/// The module of a file: `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`.
fn module_of(root: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut module: Module = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        module.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        module.pop();
    }
    module
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Test modules kept in files of their own.
            if path.file_name().is_some_and(|n| n != "tests") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

struct Graph {
    sources: BTreeMap<Module, Source>,
    /// file → files it imports, with the names imported.
    arrows: BTreeMap<Module, BTreeMap<Module, BTreeSet<String>>>,
}

impl Graph {
    fn of(root: &Path) -> Graph {
        let mut files = Vec::new();
        rust_files(root, &mut files);
        let mut sources = BTreeMap::new();
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            let parsed =
                syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let mut source = Source::default();
            source.visit_file(&parsed);
            sources.insert(module_of(root, &file), source);
        }
        let mut graph = Graph {
            sources,
            arrows: BTreeMap::new(),
        };
        let modules: Vec<Module> = graph.sources.keys().cloned().collect();
        for module in modules {
            if module.is_empty() || module == ["main"] {
                continue; // lib.rs and main.rs only declare and start.
            }
            let mut arrows: BTreeMap<Module, BTreeSet<String>> = BTreeMap::new();
            for path in &graph.sources[&module].paths {
                if let Some(target) = graph.resolve(&module, path, 0)
                    && target != module
                    && !target.is_empty()
                {
                    let name = path.last().cloned().unwrap_or_default();
                    arrows.entry(target).or_default().insert(name);
                }
            }
            graph.arrows.insert(module, arrows);
        }
        graph
    }

    /// The file a path used in `module` leads to.
    fn resolve(&self, module: &Module, path: &[String], depth: usize) -> Option<Module> {
        if depth > 10 || path.is_empty() {
            return None;
        }
        let (base, rest): (Module, &[String]) = match path[0].as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (module.clone(), &path[1..]),
            "super" => {
                let mut base = module.clone();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            first => {
                let mut child = module.clone();
                child.push(first.to_string());
                if !self.sources.contains_key(&child) {
                    return None; // another crate
                }
                (module.clone(), path)
            }
        };
        let mut best = None;
        for taken in 0..=rest.len() {
            let mut candidate = base.clone();
            candidate.extend(rest[..taken].iter().cloned());
            if self.sources.contains_key(&candidate) {
                best = Some((candidate, taken));
            }
        }
        let (file, taken) = best?;
        let Some(name) = rest.get(taken).filter(|n| *n != "*") else {
            return Some(file);
        };
        let source = &self.sources[&file];
        if !source.defines.contains(name) {
            if let Some(target) = source.reexports.get(name)
                && let Some(found) = self.resolve(&file, target, depth + 1)
            {
                return Some(found);
            }
            for glob in &source.globs {
                if let Some(found) = self.resolve(&file, glob, depth + 1)
                    && self.sources[&found].defines.contains(name)
                {
                    return Some(found);
                }
            }
        }
        Some(file)
    }

    /// Groups of files that import each other (strongly connected
    /// components of more than one file), by Tarjan's algorithm.
    fn circles(&self) -> Vec<Vec<Module>> {
        struct State<'g> {
            graph: &'g Graph,
            index: BTreeMap<&'g Module, usize>,
            low: BTreeMap<&'g Module, usize>,
            stack: Vec<&'g Module>,
            on_stack: BTreeSet<&'g Module>,
            circles: Vec<Vec<Module>>,
        }
        fn connect<'g>(state: &mut State<'g>, v: &'g Module) {
            let next = state.index.len();
            state.index.insert(v, next);
            state.low.insert(v, next);
            state.stack.push(v);
            state.on_stack.insert(v);
            for w in state.graph.arrows.get(v).into_iter().flat_map(|a| a.keys()) {
                if !state.index.contains_key(w) {
                    connect(state, w);
                    let low = state.low[v].min(state.low[w]);
                    state.low.insert(v, low);
                } else if state.on_stack.contains(w) {
                    let low = state.low[v].min(state.index[w]);
                    state.low.insert(v, low);
                }
            }
            if state.low[v] == state.index[v] {
                let mut component = Vec::new();
                while let Some(w) = state.stack.pop() {
                    state.on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    state.circles.push(component);
                }
            }
        }
        let mut state = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            circles: Vec::new(),
        };
        for v in self.sources.keys() {
            if !state.index.contains_key(v) {
                connect(&mut state, v);
            }
        }
        state.circles
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn name(module: &Module) -> String {
    module.join("/")
}

/// The floors `docs/architecture.md` lists, lowest first: the rows of its
/// table `| floor | modules |`, modules in backquotes.
fn floors() -> BTreeMap<String, usize> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md");
    let text = fs::read_to_string(&path).expect("docs/architecture.md");
    let mut floors = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(floor) = cells.get(1).and_then(|c| c.parse::<usize>().ok()) else {
            continue;
        };
        for module in cells[2].split('`').skip(1).step_by(2) {
            let previous = floors.insert(module.to_string(), floor);
            assert!(previous.is_none(), "{module} is on two floors");
        }
    }
    floors
}

#[test]
fn no_file_of_src_imports_itself_through_others() {
    let graph = Graph::of(&root());
    let circles = graph.circles();
    let described: Vec<String> = circles
        .iter()
        .map(|circle| {
            let members: BTreeSet<&Module> = circle.iter().collect();
            let mut text = circle.iter().map(name).collect::<Vec<_>>().join(", ");
            for from in circle {
                for (to, names) in &graph.arrows[from] {
                    if members.contains(to) {
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        text +=
                            &format!("\n    {} -> {}: {}", name(from), name(to), names.join(", "));
                    }
                }
            }
            text
        })
        .collect();
    assert!(
        described.is_empty(),
        "import circles in src/:\n  {}",
        described.join("\n  ")
    );
}

#[test]
fn every_module_imports_only_its_floor_and_the_floors_below() {
    let graph = Graph::of(&root());
    let floors = floors();
    let mut misplaced = Vec::new();
    let mut unplaced = BTreeSet::new();
    for (from, arrows) in &graph.arrows {
        let top = &from[0];
        let Some(&floor) = floors.get(top) else {
            unplaced.insert(top.clone());
            continue;
        };
        for (to, names) in arrows {
            let target = &to[0];
            match floors.get(target) {
                Some(&other) if other > floor || (other == floor && target != top) => misplaced
                    .push(format!(
                        "{} (floor {floor}) -> {} (floor {other}): {}",
                        name(from),
                        name(to),
                        names.iter().cloned().collect::<Vec<_>>().join(", ")
                    )),
                Some(_) => {}
                None => {
                    unplaced.insert(target.clone());
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "top-level modules missing from docs/architecture.md's floors: {unplaced:?}"
    );
    assert!(
        misplaced.is_empty(),
        "imports that go up a floor or sideways:\n  {}",
        misplaced.join("\n  ")
    );
}

#[test]
fn a_module_with_parts_is_a_folder_with_mod_rs() {
    let mut files = Vec::new();
    rust_files(&root(), &mut files);
    let beside: Vec<String> = files
        .iter()
        .filter(|file| file.with_extension("").is_dir())
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        beside.is_empty(),
        "move each to <folder>/mod.rs: {beside:?}"
    );
}

#[test]
fn the_graph_sees_an_import_circle_and_a_re_export() {
    // The checks above are only as good as the graph: a made-up tree with
    // one circle hidden behind a re-export must show it.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::create_dir_all(src.join("a")).unwrap();
    fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod c;\n").unwrap();
    fs::write(src.join("c.rs"), "pub struct C;\n").unwrap();
    fs::write(src.join("a/mod.rs"), "mod inner;\npub use inner::Thing;\n").unwrap();
    fs::write(
        src.join("a/inner.rs"),
        "pub struct Thing;\nfn f() -> crate::b::Other { todo!() }\n#[cfg(test)]\nmod tests { use crate::c::C; }\n",
    )
    .unwrap();
    fs::write(
        src.join("b.rs"),
        "use crate::a::Thing;\npub struct Other;\n",
    )
    .unwrap();
    let graph = Graph::of(src);
    let b: Module = vec!["b".into()];
    let inner: Module = vec!["a".into(), "inner".into()];
    assert!(
        graph.arrows[&b].contains_key(&inner),
        "b -> a/inner through the re-export"
    );
    assert!(
        !graph.arrows[&inner].contains_key(&vec!["c".to_string()]),
        "test code is not an arrow"
    );
    assert_eq!(graph.circles(), vec![vec![inner, b]]);
}
