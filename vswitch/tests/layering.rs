//! The import direction of the crate's modules, checked on the source: engine ← features ←
//! config/control ← daemon. `LAYERS` is the one place that says which module may name which;
//! a file that names a module its layer may not fails this test with the file and the line.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Which modules each layer's files may name (besides their own module). The features share
/// only the engine, the header views, the system helpers, `forwarding`, `model` and the
/// `feature` trait the config manager reaches them through.
const FEATURES: &[&str] = &["bridge", "router", "dhcp", "firewall", "vxlan", "nat"];
const BELOW_FEATURES: &[&str] = &[
    "pipeline",
    "packet",
    "sys",
    "forwarding",
    "model",
    "feature",
];

/// What a module may import, by the module's name.
fn allowed(module: &str, file: &Path) -> Vec<&'static str> {
    // A feature's `tests.rs` (or `*_tests.rs`) drives the whole switch through the config
    // harness: test code sits above every layer.
    let name = file.file_name().and_then(|f| f.to_str()).unwrap_or("");
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return vec!["*"];
    }
    let mut ok: Vec<&'static str> = match module {
        "packet" | "sys" => vec![],
        "model" => vec!["packet"],
        "pipeline" => vec!["packet", "sys"],
        "forwarding" => vec!["pipeline", "packet", "sys"],
        "feature" => vec!["pipeline", "forwarding", "model"],
        // The graph: the engine, what features share, and every feature.
        "datapath" => [BELOW_FEATURES, FEATURES].concat(),
        "config" => [BELOW_FEATURES, FEATURES, &["datapath"]].concat(),
        "control" => [
            BELOW_FEATURES,
            FEATURES,
            &["datapath", "config", "dpdk", "vtep_agent", "telemetry"],
        ]
        .concat(),
        // The hardware_vtep agent edits the model through the config manager, like a handler.
        "vtep_agent" => [BELOW_FEATURES, FEATURES, &["datapath", "config"]].concat(),
        // Flow export reads the features' tables and the model through the config manager.
        "telemetry" => [BELOW_FEATURES, FEATURES, &["datapath", "config"]].concat(),
        "dpdk" => vec!["pipeline", "packet", "sys", "model", "config"],
        m if FEATURES.contains(&m) => BELOW_FEATURES.to_vec(),
        // lib.rs, main.rs, daemon.rs: the daemon wires everything.
        _ => return vec!["*"],
    };
    // A feature's api.rs is its control handler: it runs in the control layer, on the config
    // manager and the published snapshot (never a sibling feature's internals).
    if FEATURES.contains(&module) && file.file_name().is_some_and(|f| f == "api.rs") {
        ok.extend(["config", "datapath"]);
    }
    ok
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's top-level modules, as lib.rs declares them.
fn modules(src: &Path) -> BTreeSet<String> {
    let lib = fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

/// The top-level modules a line of code names as `crate::NAME` (comments ignored).
fn named<'a>(line: &'a str, modules: &BTreeSet<String>) -> Vec<&'a str> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(i, _)| {
            let rest = &code[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|m| modules.contains(*m))
        .collect()
}

fn violations(src: &Path) -> Vec<String> {
    let modules = modules(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let module = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|m| m.trim_end_matches(".rs"))
            .unwrap_or("");
        let ok = allowed(module, rel);
        if ok.contains(&"*") {
            continue;
        }
        let text = fs::read_to_string(&file).expect("source file");
        for (n, line) in text.lines().enumerate() {
            for m in named(line, &modules) {
                if m != module && !ok.contains(&m) {
                    found.push(format!(
                        "{}:{}: {module} may not name {m} (allowed: {})",
                        rel.display(),
                        n + 1,
                        ok.join(", ")
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn imports_go_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "layering:\n{}", found.join("\n"));
}

#[test]
fn unsafe_stays_in_dpdk_and_sys() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let found: Vec<String> = files
        .iter()
        .filter(|f| {
            let rel = f.strip_prefix(&src).expect("under src");
            !rel.starts_with("dpdk") && !rel.starts_with("sys")
        })
        .filter_map(|f| {
            let text = fs::read_to_string(f).expect("source file");
            text.lines()
                .position(|l| {
                    let code = l.split("//").next().unwrap_or("");
                    code.contains("unsafe ") || code.contains("unsafe{")
                })
                .map(|n| format!("{}:{}", f.display(), n + 1))
        })
        .collect();
    assert!(
        found.is_empty(),
        "unsafe outside dpdk/ and sys/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_sibling_import() {
    // A feature naming a sibling, and the engine naming a feature, are both caught.
    let modules: BTreeSet<String> = ["router", "dhcp", "pipeline"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        named("use crate::dhcp::stage; // crate::router", &modules),
        ["dhcp"]
    );
    let router = allowed("router", Path::new("router/stage.rs"));
    assert!(!router.contains(&"dhcp"));
    assert!(!allowed("pipeline", Path::new("pipeline/mod.rs")).contains(&"router"));
    assert!(allowed("router", Path::new("router/api.rs")).contains(&"config"));
}
