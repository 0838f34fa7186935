//! Writes the benchmark's files: the same 100,000 rows × 10 columns the
//! criterion bench parses, as `tasks-<rows>.csv` and `tasks-<rows>.xlsx`,
//! into the directory given as the first argument (rows: the second,
//! optional).
//! `bench/import_bench.py` uploads them through the API.

#[path = "../tests/common/mod.rs"]
mod common;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let rows: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(100_000);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join(format!("tasks-{rows}.csv")),
        common::csv_rows(rows),
    )?;
    std::fs::write(
        dir.join(format!("tasks-{rows}.xlsx")),
        common::xlsx_rows(rows),
    )?;
    println!("{}", dir.display());
    Ok(())
}
