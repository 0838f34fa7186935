//! Builders for generated fixtures, shared by the corpus test and the bench.

#![allow(dead_code)]

use std::io::{Cursor, Write};

/// `rows` data rows of ten columns, as a tracker export would have them.
pub fn csv_rows(rows: usize) -> String {
    let mut s = String::with_capacity(rows * 110);
    s.push_str("ID,Title,Description,Status,Priority,Assignee,Due date,Tags,Estimate,Component\n");
    for i in 0..rows {
        s.push_str(&format!(
            "T-{i},Task number {i} of the migration,\"Details for {i}, with a comma\",{},{},{},2026-{:02}-{:02},\"ops, q{}\",{}.5,api\n",
            ["New", "In Progress", "Done", "On Hold"][i % 4],
            ["Low", "Medium", "High", "P1"][i % 4],
            ["mia@example.com", "acme", ""][i % 3],
            i % 12 + 1,
            i % 28 + 1,
            i % 4 + 1,
            i % 8,
        ));
    }
    s
}

/// A workbook with the same data as [`csv_rows`] on one sheet.
pub fn xlsx_rows(rows: usize) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let headers = [
        "ID",
        "Title",
        "Description",
        "Status",
        "Priority",
        "Assignee",
        "Due date",
        "Tags",
        "Estimate",
        "Component",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..rows {
        let r = i as u32 + 1;
        ws.write_string(r, 0, format!("T-{i}")).unwrap();
        ws.write_string(r, 1, format!("Task number {i} of the migration"))
            .unwrap();
        ws.write_string(r, 2, format!("Details for {i}, with a comma"))
            .unwrap();
        ws.write_string(r, 3, ["New", "In Progress", "Done", "On Hold"][i % 4])
            .unwrap();
        ws.write_string(r, 4, ["Low", "Medium", "High", "P1"][i % 4])
            .unwrap();
        ws.write_string(r, 5, ["mia@example.com", "acme", ""][i % 3])
            .unwrap();
        let d = ExcelDateTime::from_ymd(2026, (i % 12 + 1) as u8, (i % 28 + 1) as u8).unwrap();
        ws.write_datetime_with_format(r, 6, &d, &date).unwrap();
        ws.write_string(r, 7, format!("ops, q{}", i % 4 + 1))
            .unwrap();
        ws.write_number(r, 8, (i % 8) as f64 + 0.5).unwrap();
        ws.write_string(r, 9, "api").unwrap();
    }
    wb.save_to_buffer().unwrap()
}

/// A ZIP holding `entries` (name, bytes), deflated.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// An XLSX whose sheet inflates to `mb` MiB of nothing.
pub fn xlsx_bomb(mb: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for name in ["[Content_Types].xml", "xl/workbook.xml"] {
        w.start_file(name, opts).unwrap();
        w.write_all(b"<x/>").unwrap();
    }
    w.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..mb {
        w.write_all(&chunk).unwrap();
    }
    w.finish().unwrap().into_inner()
}
