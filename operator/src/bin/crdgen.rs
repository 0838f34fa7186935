//! Writes the Workflow and Run CRD YAML into `charts/katalusis/crds/` and
//! `crds/yaml/`, or prints it with `--stdout`.

use anyhow::Context;
use katalusis_operator::crdgen::{crd_files, output_dirs, repo_root};

fn main() -> anyhow::Result<()> {
    let files = crd_files().context("serializing the CRDs")?;
    if std::env::args().any(|a| a == "--stdout") {
        for (_, yaml) in files {
            print!("---\n{yaml}");
        }
        return Ok(());
    }
    for dir in output_dirs(&repo_root()) {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, yaml) in &files {
            let path = dir.join(name);
            std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
