//! DESIGN §3: each layer imports only the layers below it.
//!
//! `core` < `store` < `app` < `api` < `server`. Handlers reach the store only through `app`
//! (no repository calls in `api`), and generated protobuf types (`pb`) never appear below
//! `api`. The test reads every source file under `src/` and fails on a `crate::<layer>` path
//! a layer may not use; the binaries (`src/main.rs`, `src/bin/`) sit above everything.

use std::path::{Path, PathBuf};

/// The layers, lowest first.
const LAYERS: [&str; 5] = ["core", "store", "app", "api", "server"];

/// What each layer may name: itself and what is below it, except that `api` goes through
/// `app` and never names `store`.
fn may_use(layer: &str, target: &str) -> bool {
    match layer {
        "core" => target == "core",
        "store" => matches!(target, "core" | "store"),
        "app" => matches!(target, "core" | "store" | "app"),
        "api" => matches!(target, "core" | "app" | "api" | "pb"),
        _ => true,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<name>` the text names, with comments dropped.
fn crate_paths(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = &rest[..at];
            rest = &rest[at + "crate::".len()..];
            // `$crate::` (macros) and `dashboard_service::`-style paths are not ours.
            if before.ends_with('$') || before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
        // `use crate::{a, b}` groups name several layers at once.
        if let Some(at) = code.find("crate::{") {
            let group = &code[at + "crate::{".len()..];
            for part in group.split([',', '}']) {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        }
    }
    found
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for layer in LAYERS {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "src/{layer}/ has no source files");
        for file in files {
            let relative = file
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let source = std::fs::read_to_string(&file).expect("read source");
            let mut targets = crate_paths(&source);
            targets.sort();
            targets.dedup();
            for target in targets {
                let known = LAYERS.contains(&target.as_str()) || target == "pb";
                if !known || may_use(layer, &target) {
                    continue;
                }
                violations.push(format!("src/{relative} ({layer}) imports crate::{target}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_upward_imports() {
    let paths = crate_paths(
        "use crate::store::Store; // crate::server in a comment\nuse crate::{api, core};\n\
         let x = $crate::server::y;",
    );
    assert_eq!(paths, vec!["store", "api", "core"]);
}
