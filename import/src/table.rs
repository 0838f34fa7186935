//! From raw rows to a table: the header row, unique column names, and data
//! rows that keep their row number in the file.

use serde::{Deserialize, Serialize};

use crate::{ImportError, Limit, Limits};

/// How many rows at the top may be title rows above the header.
pub const HEADER_SEARCH: usize = 10;

/// One non-empty row of the file, trailing empty cells removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// The row number as a spreadsheet shows it (1-based).
    pub number: u32,
    pub cells: Vec<String>,
}

/// The non-empty rows of a file or sheet, before a header is chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grid {
    pub rows: Vec<RawRow>,
}

/// Which row holds the column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "row")]
pub enum HeaderChoice {
    /// The first row among the top ones that looks like labels.
    #[default]
    Auto,
    /// This row number (as in the file).
    Row(u32),
    /// No header: every row is data and columns are named by letter.
    None,
}

/// A table ready for mapping: unique column names and data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The header's row number, `None` without a header.
    pub header_row: Option<u32>,
    pub headers: Vec<String>,
    pub rows: Vec<RawRow>,
}

/// `A`, `B`, … `Z`, `AA`: the spreadsheet name of a 0-based column.
pub fn column_letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Whether a cell looks like data (a number, date or amount) rather than a
/// column label.
fn is_data_like(c: &str) -> bool {
    !c.is_empty()
        && c.chars()
            .all(|ch| ch.is_ascii_digit() || " .,/-:+%€$£()".contains(ch))
}

impl RawRow {
    /// The trimmed cell in column `i`, empty beyond the row's end.
    pub fn cell(&self, i: usize) -> &str {
        self.cells.get(i).map_or("", String::as_str)
    }
}

impl Table {
    pub fn from_grid(
        grid: Grid,
        header: HeaderChoice,
        limits: &Limits,
    ) -> Result<Self, ImportError> {
        if grid.rows.is_empty() {
            return Err(ImportError::NoRows);
        }
        let width = grid.rows.iter().map(|r| r.cells.len()).max().unwrap_or(0);
        let header_at = match header {
            HeaderChoice::None => None,
            HeaderChoice::Row(n) => Some(
                grid.rows
                    .iter()
                    .position(|r| r.number == n)
                    .ok_or(ImportError::NoSuchHeaderRow(n))?,
            ),
            HeaderChoice::Auto => Some(detect_header(&grid.rows)),
        };
        let mut rows = grid.rows;
        let (header_row, names) = match header_at {
            Some(i) => {
                let h = rows[i].clone();
                rows.drain(..=i);
                (Some(h.number), h.cells)
            }
            None => (None, Vec::new()),
        };
        if rows.len() > limits.max_rows {
            return Err(ImportError::LimitExceeded {
                limit: Limit::Rows,
                max: limits.max_rows as u64,
            });
        }
        Ok(Self {
            header_row,
            headers: unique_names(&names, width),
            rows,
        })
    }
}

/// The first of the top rows that has at least half the table's width
/// filled with label-like cells; title rows above it are skipped.
fn detect_header(rows: &[RawRow]) -> usize {
    let top = &rows[..rows.len().min(HEADER_SEARCH)];
    let width = top.iter().map(|r| r.cells.len()).max().unwrap_or(0);
    top.iter()
        .position(|r| {
            let filled: Vec<&String> = r.cells.iter().filter(|c| !c.is_empty()).collect();
            filled.len() * 2 >= width && filled.iter().all(|c| !is_data_like(c))
        })
        .unwrap_or(0)
}

/// Header names made unique (`Name`, `Name (2)`); empty ones become
/// `Column C`.
fn unique_names(names: &[String], width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(width);
    for i in 0..width {
        let base = names
            .get(i)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map_or_else(|| format!("Column {}", column_letter(i)), str::to_string);
        let mut name = base.clone();
        let mut n = 2;
        while out.iter().any(|o| o.eq_ignore_ascii_case(&name)) {
            name = format!("{base} ({n})");
            n += 1;
        }
        out.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: &[&[&str]]) -> Grid {
        Grid {
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| RawRow {
                    number: i as u32 + 1,
                    cells: r.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn duplicate_and_empty_headers_get_unique_names() {
        let t = Table::from_grid(
            grid(&[&["Name", "", "name", "Name"], &["a", "b", "c", "d"]]),
            HeaderChoice::Auto,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(t.headers, ["Name", "Column B", "name (2)", "Name (3)"]);
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].number, 2);
    }

    #[test]
    fn a_title_row_above_the_header_is_skipped() {
        let t = Table::from_grid(
            grid(&[
                &["Export of 2026-03-01"],
                &["Title", "Due", "Prio"],
                &["Write", "2026-03-04", "P1"],
            ]),
            HeaderChoice::Auto,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(t.header_row, Some(2));
        assert_eq!(t.headers, ["Title", "Due", "Prio"]);
    }

    #[test]
    fn the_header_can_be_chosen_or_switched_off() {
        let g = grid(&[&["Title", "Due"], &["Write", "2026-03-04"]]);
        let t = Table::from_grid(g.clone(), HeaderChoice::None, &Limits::default()).unwrap();
        assert_eq!(t.headers, ["Column A", "Column B"]);
        assert_eq!(t.rows.len(), 2);
        let t = Table::from_grid(g.clone(), HeaderChoice::Row(2), &Limits::default()).unwrap();
        assert_eq!(t.headers, ["Write", "2026-03-04"]);
        assert_eq!(
            Table::from_grid(g, HeaderChoice::Row(9), &Limits::default()).unwrap_err(),
            ImportError::NoSuchHeaderRow(9)
        );
    }

    #[test]
    fn header_only_has_no_data_rows() {
        let t = Table::from_grid(
            grid(&[&["Title", "Due"]]),
            HeaderChoice::Auto,
            &Limits::default(),
        )
        .unwrap();
        assert!(t.rows.is_empty());
        assert_eq!(column_letter(27), "AB");
    }
}
