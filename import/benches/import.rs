//! Parse + dry run of 100,000 rows × 10 columns, as CSV and as XLSX
//! (issue targets: ≤ 2 s and ≤ 5 s). `cargo bench -p katalusis-import`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use katalusis_import::mapping::{self, Choice, Vocab};
use katalusis_import::table::HeaderChoice;
use katalusis_import::validate::{validate, Person, Scope};
use katalusis_import::{read_grid, Limits, Table};

fn scope() -> Scope {
    let statuses = ["New", "In Progress", "On Hold", "Completed"];
    Scope {
        statuses: Vocab {
            choices: statuses
                .iter()
                .enumerate()
                .map(|(i, s)| Choice {
                    key: (i + 1).to_string(),
                    label: s.to_string(),
                })
                .collect(),
            synonyms: [("done".to_string(), "4".to_string())].into(),
        },
        priorities: mapping::priority_vocab(),
        people: vec![
            Person {
                id: 2,
                username: "mia".into(),
                email: Some("mia@example.com".into()),
            },
            Person {
                id: 3,
                username: "acme".into(),
                email: Some("acme@example.com".into()),
            },
        ],
        existing_ids: Default::default(),
    }
}

fn dry_run(bytes: &[u8]) -> usize {
    let limits = Limits::default();
    let p = read_grid(bytes, None, &limits).unwrap();
    let t = Table::from_grid(p.grid, HeaderChoice::Auto, &limits).unwrap();
    let m = mapping::suggest(&t.headers);
    let o = validate(&t, &m, &scope()).unwrap();
    assert_eq!(o.invalid, 0);
    o.valid
}

fn bench(c: &mut Criterion) {
    let csv = common::csv_rows(100_000);
    let xlsx = common::xlsx_rows(100_000);
    eprintln!("CSV {} bytes, XLSX {} bytes", csv.len(), xlsx.len());
    let mut g = c.benchmark_group("import_100k_x10");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("csv_parse_and_dry_run", |b| {
        b.iter(|| dry_run(csv.as_bytes()))
    });
    g.bench_function("xlsx_parse_and_dry_run", |b| b.iter(|| dry_run(&xlsx)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
