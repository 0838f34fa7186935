//! The fixture corpus (see `fixtures/README.md`): each file with its
//! expected outcome, through the same entry points the API server uses.

mod common;

use katalusis_import::mapping::{self, Field, Source};
use katalusis_import::table::HeaderChoice;
use katalusis_import::validate::{validate, Scope};
use katalusis_import::{read_grid, report, ImportError, Limit, Limits, Table};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn table(bytes: &[u8]) -> (katalusis_import::Parsed, Table) {
    let p = read_grid(bytes, None, &Limits::default()).unwrap();
    let t = Table::from_grid(p.grid.clone(), HeaderChoice::Auto, &Limits::default()).unwrap();
    (p, t)
}

fn column(t: &Table, m: &katalusis_import::Mapping, f: Field) -> Option<String> {
    match m.fields.get(&f) {
        Some(Source::Column(c)) => {
            assert!(t.headers.contains(c));
            Some(c.clone())
        }
        _ => None,
    }
}

#[test]
fn excel_csv_utf8_with_bom() {
    let (p, t) = table(&fixture("excel-utf8-bom.csv"));
    assert_eq!((p.encoding, p.delimiter), (Some("UTF-8"), Some(',')));
    assert_eq!(t.headers[0], "Title");
    assert_eq!(t.rows[0].cells[0], "Café au lait");
    assert_eq!(t.rows[1].cells[0], "Übersicht ändern");
    let m = mapping::suggest(&t.headers);
    assert_eq!(column(&t, &m, Field::DueDate).as_deref(), Some("Due date"));
    assert_eq!(column(&t, &m, Field::Assignees).as_deref(), Some("Owner"));
}

#[test]
fn european_semicolons_with_decimal_commas() {
    let (p, t) = table(&fixture("european-semicolon.csv"));
    assert_eq!(p.delimiter, Some(';'));
    assert_eq!(t.headers, ["Titel", "Fällig", "Aufwand", "Priorität"]);
    assert_eq!(
        t.rows[0].cells,
        ["Bericht schreiben", "03.04.2026", "1,5", "Hoch"]
    );
    let m = mapping::suggest(&t.headers);
    assert_eq!(column(&t, &m, Field::Title).as_deref(), Some("Titel"));
    assert_eq!(column(&t, &m, Field::DueDate).as_deref(), Some("Fällig"));
    assert_eq!(
        column(&t, &m, Field::Priority).as_deref(),
        Some("Priorität")
    );
    let scope = Scope {
        priorities: mapping::priority_vocab(),
        ..Scope::default()
    };
    let o = validate(&t, &m, &scope).unwrap();
    assert_eq!(o.valid, 2, "{:?}", o.rows[0].problems);
    let d = o.rows[0].draft.as_ref().unwrap();
    assert_eq!(d.due.unwrap().to_string(), "2026-04-03 00:00:00");
    assert_eq!(d.priority.as_deref(), Some("high"));
}

#[test]
fn windows_1252_without_a_bom() {
    let (p, t) = table(&fixture("windows-1252.csv"));
    assert_eq!(p.encoding, Some("windows-1252"));
    assert_eq!(
        t.rows[0].cells,
        ["Café crème", "Déjà vu à la carte – €5", "Done"]
    );
    assert_eq!(t.rows[1].cells[1], "Zoë’s résumé");
}

#[test]
fn utf16_with_a_bom_and_tabs() {
    let (p, t) = table(&fixture("utf16-bom.csv"));
    assert_eq!((p.encoding, p.delimiter), (Some("UTF-16LE"), Some('\t')));
    assert_eq!(t.rows[0].cells, ["Ångström check", "lab, qa"]);
}

#[test]
fn quoted_newlines_and_doubled_quotes() {
    let (_, t) = table(&fixture("quoted-newlines.csv"));
    assert_eq!(t.rows.len(), 2);
    assert_eq!(
        t.rows[0].cells,
        ["Fix \"login\" page", "Steps:\n1. open\n2. click"]
    );
    assert_eq!(t.rows[1].cells, ["Plain", "a, b"]);
    assert_eq!(t.rows[1].number, 3);
}

#[test]
fn duplicate_and_empty_headers() {
    let (_, t) = table(&fixture("duplicate-empty-headers.csv"));
    assert_eq!(
        t.headers,
        ["Title", "Column B", "Title (2)", "Notes", "Notes (2)"]
    );
    assert_eq!(t.rows.len(), 2);
}

#[test]
fn header_only_and_empty_files() {
    let (_, t) = table(&fixture("header-only.csv"));
    assert!(t.rows.is_empty());
    assert_eq!(t.headers, ["Title", "Status", "Due"]);
    assert_eq!(
        read_grid(&fixture("empty.csv"), None, &Limits::default()).unwrap_err(),
        ImportError::Empty
    );
}

#[test]
fn binary_files_renamed_csv_are_refused() {
    let e = read_grid(&fixture("png-renamed.csv"), None, &Limits::default()).unwrap_err();
    assert_eq!(e.code(), "unsupported_type");
    assert!(e.to_string().contains("image/png"), "{e}");
    let e = read_grid(&fixture("exe-renamed.csv"), None, &Limits::default()).unwrap_err();
    assert_eq!(e.code(), "unsupported_type");
    let plain = common::zip_of(&[("notes.txt", b"hello")]);
    let e = read_grid(&plain, None, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("not an Excel workbook"), "{e}");
    let mut xls = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    xls.resize(512, 0);
    assert!(read_grid(&xls, None, &Limits::default())
        .unwrap_err()
        .to_string()
        .contains(".xls"));
}

#[test]
fn formula_cells_are_text_and_neutralized_in_reports() {
    let (_, t) = table(&fixture("formula-injection.csv"));
    assert_eq!(t.rows[0].cells, ["=1+1", "+SUM(A1:A9)"]);
    let mut m = mapping::suggest(&t.headers);
    // Make every row fail so all of them land in the report.
    m.fields
        .insert(Field::Status, Source::Constant(String::new()));
    m.fields
        .insert(Field::Assignees, Source::Constant("nobody".into()));
    let o = validate(&t, &m, &Scope::default()).unwrap();
    assert_eq!(o.invalid, 3);
    let csv = String::from_utf8(report::error_report(&t, &o)).unwrap();
    let mut r =
        csv::ReaderBuilder::new().from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(r.headers().unwrap().iter().next_back(), Some("errors"));
    let cells: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(cells[0][..2], ["'=1+1", "'+SUM(A1:A9)"]);
    assert_eq!(cells[1][..2], ["'@cmd", "'-2+3"]);
    assert!(cells[2][0].starts_with("'=HYPERLINK"));
    // The description cell started with a tab, which the parser trims;
    // what is left is plain text.
    assert_eq!(cells[2][1], "Tabbed");
}

#[test]
fn a_workbook_with_dates_numbers_booleans_formulas_merges_and_two_sheets() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Tasks").unwrap();
    ws.write_string(0, 0, "Title").unwrap();
    ws.write_string(0, 1, "Due").unwrap();
    ws.write_string(0, 2, "Estimate").unwrap();
    ws.write_string(0, 3, "Billable").unwrap();
    ws.write_string(0, 4, "Total").unwrap();
    ws.write_string(0, 5, "Team").unwrap();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (r, title) in ["Plan", "Build", "Ship"].iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 0, *title).unwrap();
        let d = ExcelDateTime::from_ymd(2026, 3, r as u8 + 1).unwrap();
        ws.write_datetime_with_format(r, 1, &d, &date).unwrap();
        ws.write_number(r, 2, r as f64 * 1.5).unwrap();
        ws.write_boolean(r, 3, r % 2 == 1).unwrap();
        ws.write_formula(
            r,
            4,
            Formula::new(format!("=C{}*2", r + 1)).set_result(format!("{}", r as f64 * 3.0)),
        )
        .unwrap();
    }
    ws.merge_range(1, 5, 3, 5, "Platform", &Format::new())
        .unwrap();
    let other = wb.add_worksheet();
    other.set_name("Archive").unwrap();
    other.write_string(0, 0, "Title").unwrap();
    other.write_string(1, 0, "Old").unwrap();
    let bytes = wb.save_to_buffer().unwrap();

    let p = read_grid(&bytes, None, &Limits::default()).unwrap();
    assert_eq!(p.sheets, ["Tasks", "Archive"]);
    assert_eq!(p.sheet.as_deref(), Some("Tasks"));
    let t = Table::from_grid(p.grid, HeaderChoice::Auto, &Limits::default()).unwrap();
    assert_eq!(
        t.rows[0].cells,
        ["Plan", "2026-03-02", "1.5", "TRUE", "3", "Platform"]
    );
    assert_eq!(
        t.rows[1].cells,
        ["Build", "2026-03-03", "3", "FALSE", "6", "Platform"]
    );
    assert_eq!(t.rows[2].cells[5], "Platform");
    let archive = read_grid(&bytes, Some("Archive"), &Limits::default()).unwrap();
    assert_eq!(archive.grid.rows[1].cells, ["Old"]);
    assert_eq!(
        read_grid(&bytes, Some("Nope"), &Limits::default()).unwrap_err(),
        ImportError::NoSuchSheet("Nope".into())
    );
    let m = mapping::suggest(&t.headers);
    let o = validate(&t, &m, &Scope::default()).unwrap();
    assert_eq!(o.valid, 3);
    assert_eq!(
        o.rows[0].draft.as_ref().unwrap().due.unwrap().to_string(),
        "2026-03-02 00:00:00"
    );
}

#[test]
fn a_zip_bomb_stops_at_the_uncompressed_limit() {
    let limits = Limits {
        max_uncompressed_bytes: 8 * 1024 * 1024,
        ..Limits::default()
    };
    let bomb = common::xlsx_bomb(16);
    assert!(bomb.len() < 100 * 1024, "the bomb is small: {}", bomb.len());
    let e = read_grid(&bomb, None, &limits).unwrap_err();
    assert_eq!(
        e,
        ImportError::LimitExceeded {
            limit: Limit::UncompressedSize,
            max: 8 * 1024 * 1024
        }
    );
    let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("f{i}"), vec![])).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", b"<x/>"),
        ("xl/workbook.xml", b"<x/>"),
    ];
    entries.extend(many.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    let e = read_grid(
        &common::zip_of(&entries),
        None,
        &Limits {
            max_entries: 10,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::LimitExceeded {
                limit: Limit::Entries,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_hundred_thousand_rows_parse_and_one_more_is_refused() {
    let csv = common::csv_rows(100_000);
    let (_, t) = table(csv.as_bytes());
    assert_eq!(t.rows.len(), 100_000);
    assert_eq!(t.rows[99_999].number, 100_001);
    let over = common::csv_rows(100_001);
    let p = read_grid(over.as_bytes(), None, &Limits::default()).unwrap();
    let e = Table::from_grid(p.grid, HeaderChoice::Auto, &Limits::default()).unwrap_err();
    assert_eq!(
        e,
        ImportError::LimitExceeded {
            limit: Limit::Rows,
            max: 100_000
        }
    );
}
