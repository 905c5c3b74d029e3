//! The public API of a crate as text, one item per line, read from its
//! source with `syn`: what a user of the crate can name. A checked snapshot
//! of it (`crates/<crate>/api.txt`) makes every change to the API a
//! deliberate one (`BLESS=1` rewrites it).
//!
//! An item is listed under the path a user writes: a public module's public
//! items, and what a public module re-exports with `pub use` from a private
//! one, under the re-exporting module. A type's public inherent methods and
//! fields follow it, and the traits it implements. Items marked
//! `#[doc(hidden)]` (shared between the workspace's crates, not for users),
//! `#[cfg(test)]` and `#[cfg(doctest)]` are not listed. Derived traits are
//! (`(derived)`). Methods are matched to their type by its name; items a
//! `macro_rules!` defines (the rule codes) are not seen.

use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::{Attribute, ImplItem, Item, UseTree, Visibility};

/// One module as read: its items, and where its child modules are.
struct Module {
    public: bool,
    items: Vec<Item>,
}

fn hidden(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        let text = a.to_token_stream().to_string().replace(' ', "");
        text.contains("doc(hidden)") || text.contains("cfg(test)") || text.contains("cfg(doctest)")
    })
}

fn is_pub(v: &Visibility) -> bool {
    matches!(v, Visibility::Public(_))
}

fn tokens(t: &impl ToTokens) -> String {
    let text = t.to_token_stream().to_string();
    // Attributes on fields (`#[source]`, `#[serde(…)]`) are not API.
    let mut plain = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("# [") {
        plain.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let mut depth = 1;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = after[end..].trim_start();
    }
    plain.push_str(rest);
    plain
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
        .replace(" ;", ";")
        .replace(" : ", ": ")
        .replace(" <(", "<(")
        .replace("Result <", "Result<")
}

/// Reads the module tree of the crate whose sources are in `src`.
fn modules(src: &Path) -> BTreeMap<String, Module> {
    let mut out = BTreeMap::new();
    read_module(&src.join("lib.rs"), src, "crate", true, &mut out);
    out
}

fn read_module(
    file: &Path,
    dir: &Path,
    path: &str,
    public: bool,
    out: &mut BTreeMap<String, Module>,
) {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let parsed =
        syn::parse_file(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", file.display()));
    collect(parsed.items, dir, path, public, out);
}

fn collect(
    items: Vec<Item>,
    dir: &Path,
    path: &str,
    public: bool,
    out: &mut BTreeMap<String, Module>,
) {
    let mut kept = Vec::new();
    for item in items {
        if let Item::Mod(m) = &item {
            if hidden(&m.attrs) {
                continue;
            }
            let child = format!("{path}::{}", m.ident);
            let child_public = public && is_pub(&m.vis);
            match &m.content {
                Some((_, inner)) => collect(
                    inner.clone(),
                    &dir.join(m.ident.to_string()),
                    &child,
                    child_public,
                    out,
                ),
                None => {
                    let name = m.ident.to_string();
                    let explicit = m.attrs.iter().find_map(|a| {
                        let t = a.to_token_stream().to_string();
                        let rest = t.split("path = \"").nth(1)?;
                        Some(rest.split('"').next()?.to_string())
                    });
                    let (file, sub) = match explicit {
                        Some(p) => (dir.join(&p), dir.join(&name)),
                        None if dir.join(format!("{name}.rs")).is_file() => {
                            (dir.join(format!("{name}.rs")), dir.join(&name))
                        }
                        None => (dir.join(&name).join("mod.rs"), dir.join(&name)),
                    };
                    read_module(&file, &sub, &child, child_public, out);
                }
            }
            continue;
        }
        kept.push(item);
    }
    out.insert(
        path.to_string(),
        Module {
            public,
            items: kept,
        },
    );
}

/// The name an item defines, if it is public and shown.
fn defined(item: &Item) -> Option<(String, &Visibility)> {
    let (attrs, vis, name) = match item {
        Item::Fn(i) => (&i.attrs, &i.vis, i.sig.ident.to_string()),
        Item::Struct(i) => (&i.attrs, &i.vis, i.ident.to_string()),
        Item::Enum(i) => (&i.attrs, &i.vis, i.ident.to_string()),
        Item::Trait(i) => (&i.attrs, &i.vis, i.ident.to_string()),
        Item::Type(i) => (&i.attrs, &i.vis, i.ident.to_string()),
        Item::Const(i) => (&i.attrs, &i.vis, i.ident.to_string()),
        Item::Static(i) => (&i.attrs, &i.vis, i.ident.to_string()),
        _ => return None,
    };
    (!hidden(attrs)).then_some((name, vis))
}

/// An item's lines: its signature, then for a type its public fields or
/// variants.
fn render(item: &Item, at: &str, name: &str) -> Vec<String> {
    let full = format!("{at}::{name}");
    match item {
        Item::Fn(i) => vec![
            format!("pub {}", tokens(&i.sig)).replace(&format!("fn {name}"), &format!("fn {full}")),
        ],
        Item::Struct(i) => {
            let mut out = vec![format!("pub struct {full}{}", tokens(&i.generics))];
            for f in &i.fields {
                if is_pub(&f.vis) && !hidden(&f.attrs) {
                    let field = f.ident.as_ref().map_or(String::new(), |n| format!("{n}: "));
                    out.push(format!("pub {full}.{field}{}", tokens(&f.ty)));
                }
            }
            out
        }
        Item::Enum(i) => {
            let mut out = vec![format!("pub enum {full}{}", tokens(&i.generics))];
            for v in &i.variants {
                if !hidden(&v.attrs) {
                    out.push(format!("pub {full}::{}{}", v.ident, tokens(&v.fields)));
                }
            }
            out
        }
        Item::Trait(i) => {
            let mut out = vec![format!("pub trait {full}{}", tokens(&i.generics))];
            for t in &i.items {
                let line = match t {
                    syn::TraitItem::Fn(f) => tokens(&f.sig),
                    syn::TraitItem::Type(t) => format!("type {}", t.ident),
                    syn::TraitItem::Const(c) => format!("const {}", c.ident),
                    _ => continue,
                };
                out.push(format!("pub {full}::{line}"));
            }
            out
        }
        Item::Type(i) => vec![format!("pub type {full} = {}", tokens(&i.ty))],
        Item::Const(i) => vec![format!("pub const {full}: {}", tokens(&i.ty))],
        Item::Static(i) => vec![format!("pub static {full}: {}", tokens(&i.ty))],
        _ => Vec::new(),
    }
}

/// The leaves of a `use` tree: (path written, name given).
fn leaves(tree: &UseTree, prefix: &str, out: &mut Vec<(String, String)>) {
    match tree {
        UseTree::Path(p) => leaves(&p.tree, &format!("{prefix}{}::", p.ident), out),
        UseTree::Name(n) => out.push((format!("{prefix}{}", n.ident), n.ident.to_string())),
        UseTree::Rename(r) => out.push((format!("{prefix}{}", r.ident), r.rename.to_string())),
        UseTree::Glob(_) => out.push((format!("{prefix}*"), "*".into())),
        UseTree::Group(g) => {
            for t in &g.items {
                leaves(t, prefix, out);
            }
        }
    }
}

/// A path written in module `at` (`self::`, `super::`, `crate::` or
/// relative) as a module path of the crate.
fn resolve(at: &str, written: &str) -> String {
    let mut base: Vec<&str> = at.split("::").collect();
    let mut rest = written;
    loop {
        if let Some(r) = rest.strip_prefix("crate::") {
            base = vec!["crate"];
            rest = r;
        } else if let Some(r) = rest.strip_prefix("self::") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        } else {
            break;
        }
    }
    format!("{}::{rest}", base.join("::"))
}

/// The public API of the crate in `crate_dir`, sorted, one line per item.
pub fn public_api(crate_dir: &Path, crate_name: &str) -> String {
    let src: PathBuf = crate_dir.join("src");
    let modules = modules(&src);
    // Every defined item by its crate path, and inherent methods and trait
    // impls by type name.
    let mut defs: BTreeMap<String, (&Item, String)> = BTreeMap::new();
    let mut methods: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut traits: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, m) in &modules {
        for item in &m.items {
            if let Some((name, _)) = defined(item) {
                defs.insert(format!("{path}::{name}"), (item, name));
            }
            if let Item::Impl(i) = item {
                if hidden(&i.attrs) {
                    continue;
                }
                let ty = match &*i.self_ty {
                    syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                };
                let Some(ty) = ty else { continue };
                match &i.trait_ {
                    Some((_, t, _)) => {
                        traits.entry(ty).or_default().insert(tokens(t));
                    }
                    None => {
                        for it in &i.items {
                            if let ImplItem::Fn(f) = it
                                && is_pub(&f.vis)
                                && !hidden(&f.attrs)
                            {
                                methods.entry(ty.clone()).or_default().push(tokens(&f.sig));
                            }
                            if let ImplItem::Const(c) = it
                                && is_pub(&c.vis)
                                && !hidden(&c.attrs)
                            {
                                methods.entry(ty.clone()).or_default().push(format!(
                                    "const {}: {}",
                                    c.ident,
                                    tokens(&c.ty)
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    let shown = |at: &str| at.replacen("crate", crate_name, 1);
    let mut lines = BTreeSet::new();
    let emit = |item: &Item, at: &str, name: &str, lines: &mut BTreeSet<String>| {
        let at = shown(at);
        for l in render(item, &at, name) {
            lines.insert(l);
        }
        let attrs = match item {
            Item::Struct(i) => Some(&i.attrs),
            Item::Enum(i) => Some(&i.attrs),
            _ => None,
        };
        for a in attrs
            .into_iter()
            .flatten()
            .filter(|a| a.path().is_ident("derive"))
        {
            let Ok(paths) = a.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            ) else {
                continue;
            };
            for p in paths {
                if let Some(t) = p.segments.last() {
                    lines.insert(format!("impl {} for {at}::{name} (derived)", t.ident));
                }
            }
        }
        if matches!(item, Item::Struct(_) | Item::Enum(_)) {
            let def_name = defined(item).map(|d| d.0).unwrap_or_default();
            for m in methods.get(&def_name).into_iter().flatten() {
                lines.insert(format!("pub {at}::{name}::{m}"));
            }
            for t in traits.get(&def_name).into_iter().flatten() {
                lines.insert(format!("impl {t} for {at}::{name}"));
            }
        }
    };
    for (path, m) in &modules {
        if !m.public {
            continue;
        }
        let module_line = path.replacen("crate", crate_name, 1);
        if path != "crate" {
            lines.insert(format!("pub mod {module_line}"));
        }
        for item in &m.items {
            if let Some((name, vis)) = defined(item)
                && is_pub(vis)
            {
                emit(item, path, &name, &mut lines);
            }
            if let Item::Use(u) = item
                && is_pub(&u.vis)
                && !hidden(&u.attrs)
            {
                let mut found = Vec::new();
                leaves(&u.tree, "", &mut found);
                for (written, given) in found {
                    let target = resolve(path, &written);
                    if given == "*" {
                        let module = target.trim_end_matches("::*");
                        let prefix = format!("{module}::");
                        for (p, (item, name)) in defs.range(prefix.clone()..) {
                            if !p.starts_with(&prefix) {
                                break;
                            }
                            if p[prefix.len()..].contains("::") {
                                continue;
                            }
                            if defined(item).is_some_and(|(_, v)| is_pub(v)) {
                                emit(item, path, name, &mut lines);
                            }
                        }
                    } else if let Some((item, _)) = defs.get(&target) {
                        emit(item, path, &given, &mut lines);
                    } else {
                        // Another crate's item, or a module.
                        lines.insert(format!("pub use {}::{given} = {written}", shown(path)));
                    }
                }
            }
        }
    }
    let mut out = String::new();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}
