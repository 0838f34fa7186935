//! CSV the platform writes (error reports): every cell that a spreadsheet
//! would run as a formula is neutralized.

use std::borrow::Cow;

use crate::table::Table;
use crate::validate::Outcome;

/// A cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a
/// leading apostrophe, so Excel, LibreOffice and Sheets show it as text
/// instead of evaluating it (OWASP "CSV injection").
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The error report: the header, then each row with a problem as it was in
/// the file plus an `errors` column (`Column: reason; …`), UTF-8 with a BOM
/// so Excel opens it with the right encoding.
pub fn error_report(table: &Table, outcome: &Outcome) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut header: Vec<Cow<'_, str>> = table.headers.iter().map(|h| neutralize(h)).collect();
    header.push(Cow::Borrowed("errors"));
    // Writing to a Vec cannot fail.
    let _ = w.write_record(header.iter().map(|c| c.as_bytes()));
    for (row, result) in table.rows.iter().zip(&outcome.rows) {
        if result.problems.is_empty() {
            continue;
        }
        let errors = result
            .problems
            .iter()
            .map(|p| format!("row {} {}: {}", p.row, p.column, p.reason))
            .collect::<Vec<_>>()
            .join("; ");
        let mut cells: Vec<Cow<'_, str>> = (0..table.headers.len())
            .map(|i| neutralize(row.cell(i)))
            .collect();
        cells.push(Cow::Owned(neutralize(&errors).into_owned()));
        let _ = w.write_record(cells.iter().map(|c| c.as_bytes()));
    }
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized() {
        for bad in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"] {
            assert!(neutralize(bad).starts_with('\''), "{bad:?}");
        }
        for ok in ["plain", "1+1", "", "a=b"] {
            assert_eq!(neutralize(ok), ok);
        }
    }
}
