//! Embeds the starter node library (`library/starter/<name>.json` plus the
//! sibling `<name>.py`) into the binary. The directory is the one list of
//! starter templates: adding a pair of files adds a template.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dir = manifest.join("../library/starter");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    let mut out = String::from("&[\n");
    for name in &names {
        let json = dir.join(format!("{name}.json"));
        let code = dir.join(format!("{name}.py"));
        assert!(
            code.is_file(),
            "{} has no sibling {name}.py",
            json.display()
        );
        for f in [&json, &code] {
            println!("cargo:rerun-if-changed={}", f.display());
        }
        writeln!(
            out,
            "    ({name:?}, include_str!({:?}), include_str!({:?})),",
            json.canonicalize().expect("canonical path"),
            code.canonicalize().expect("canonical path"),
        )
        .expect("write to a String");
    }
    out.push_str("]\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("starter_library.rs");
    std::fs::write(dest, out).expect("writing starter_library.rs");
}
