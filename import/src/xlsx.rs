//! XLSX through `calamine`: the archive is measured first (entries and real
//! decompressed bytes, never the sizes the archive claims), then the chosen
//! sheet is read cell by cell so a sparse sheet with a far-away cell cannot
//! make us allocate its whole rectangle.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};

use crate::table::{Grid, RawRow, HEADER_SEARCH};
use crate::{ImportError, Limit, Limits};

/// A workbook's chosen sheet as raw rows.
#[derive(Debug, Clone)]
pub struct Book {
    pub sheets: Vec<String>,
    pub sheet: String,
    pub grid: Grid,
}

/// Refuses archives with too many entries or whose entries really
/// decompress to more than the limit (each is inflated into a counting sink
/// with a budget, so a bomb stops at the limit, not at the end).
pub fn check_archive(bytes: &[u8], limits: &Limits) -> Result<(), ImportError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError::BadWorkbook(e.to_string()))?;
    if zip.len() > limits.max_entries {
        return Err(ImportError::LimitExceeded {
            limit: Limit::Entries,
            max: limits.max_entries as u64,
        });
    }
    let mut left = limits.max_uncompressed_bytes;
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| ImportError::BadWorkbook(e.to_string()))?;
        let mut sink = std::io::sink();
        let n = std::io::copy(&mut entry.take(left + 1), &mut sink)
            .map_err(|e| ImportError::BadWorkbook(e.to_string()))?;
        if n > left {
            return Err(ImportError::LimitExceeded {
                limit: Limit::UncompressedSize,
                max: limits.max_uncompressed_bytes,
            });
        }
        left -= n;
    }
    Ok(())
}

/// The text a cell shows: cached values of formulas, dates as ISO dates
/// (with the time when it is not midnight), integral numbers without `.0`,
/// booleans as `TRUE`/`FALSE`, errors as `#DIV/0!`.
fn cell_text(v: &DataRef<'_>) -> Option<String> {
    Some(match v {
        DataRef::Empty => return None,
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::String(s) => s.trim().to_string(),
        DataRef::SharedString(s) => s.trim().to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => {
            if d.is_duration() {
                number_text(d.as_f64())
            } else {
                match d.as_datetime() {
                    Some(dt) if dt.time() == chrono::NaiveTime::MIN => {
                        dt.date().format("%Y-%m-%d").to_string()
                    }
                    Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
                    None => number_text(d.as_f64()),
                }
            }
        }
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    })
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Reads `sheet` (the first sheet when `None`) of the workbook in `bytes`.
pub fn read(bytes: &[u8], sheet: Option<&str>, limits: &Limits) -> Result<Book, ImportError> {
    check_archive(bytes, limits)?;
    let bad = |e: calamine::XlsxError| ImportError::BadWorkbook(e.to_string());
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    let sheets = wb.sheet_names();
    let name = match sheet {
        Some(s) => sheets
            .iter()
            .find(|n| *n == s)
            .cloned()
            .ok_or_else(|| ImportError::NoSuchSheet(s.to_string()))?,
        None => sheets.first().cloned().ok_or(ImportError::NoRows)?,
    };
    let merged = wb.merge_cells_by_sheet_name(&name).map_err(bad)?;
    let row_cap = limits.max_rows + HEADER_SEARCH;
    let too_many_rows = ImportError::LimitExceeded {
        limit: Limit::Rows,
        max: limits.max_rows as u64,
    };
    let too_many_columns = ImportError::LimitExceeded {
        limit: Limit::Columns,
        max: limits.max_columns as u64,
    };
    // Sparse until the shape is known to be within the limits.
    let mut cells: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    {
        let mut reader = wb.worksheet_cells_reader(&name).map_err(bad)?;
        while let Some(cell) = reader.next_cell().map_err(bad)? {
            let Some(text) = cell_text(cell.get_value()) else {
                continue;
            };
            if text.is_empty() {
                continue;
            }
            let (r, c) = cell.get_position();
            if c as usize >= limits.max_columns {
                return Err(too_many_columns);
            }
            if text.chars().count() > limits.max_cell_chars {
                return Err(ImportError::LimitExceeded {
                    limit: Limit::CellSize,
                    max: limits.max_cell_chars as u64,
                });
            }
            cells.entry(r).or_default().push((c, text));
            if cells.len() > row_cap {
                return Err(too_many_rows);
            }
        }
    }
    // A merged area shows its top-left value in every cell it covers; the
    // copies count against the same row and column limits.
    for m in merged {
        let (r0, c0) = m.start;
        let (r1, c1) = m.end;
        let Some(value) = cells
            .get(&r0)
            .and_then(|row| row.iter().find(|(c, _)| *c == c0))
            .map(|(_, v)| v.clone())
        else {
            continue;
        };
        if c1 as usize >= limits.max_columns {
            return Err(too_many_columns);
        }
        if (r1 - r0) as usize > row_cap {
            return Err(too_many_rows);
        }
        for r in r0..=r1 {
            let row = cells.entry(r).or_default();
            for c in c0..=c1 {
                if !row.iter().any(|(x, _)| *x == c) {
                    row.push((c, value.clone()));
                }
            }
        }
        if cells.len() > row_cap {
            return Err(too_many_rows);
        }
    }
    let rows = cells
        .into_iter()
        .map(|(r, mut row)| {
            row.sort_by_key(|(c, _)| *c);
            let width = row.last().map_or(0, |(c, _)| *c as usize + 1);
            let mut dense = vec![String::new(); width];
            for (c, v) in row {
                dense[c as usize] = v;
            }
            RawRow {
                number: r + 1,
                cells: dense,
            }
        })
        .collect();
    Ok(Book {
        sheets,
        sheet: name,
        grid: Grid { rows },
    })
}
