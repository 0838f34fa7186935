//! Bulk import of tasks from spreadsheets: bytes in, validated rows out.
//!
//! The pipeline is pure and synchronous, so the API server can run it in
//! `spawn_blocking` and tests and benchmarks need neither a server nor a
//! database:
//!
//! 1. [`sniff::detect`] decides by content whether the bytes are CSV text or
//!    an XLSX workbook, and refuses anything else, saying what it saw.
//! 2. [`csv_text::read`] (encoding, delimiter, quoting) or [`xlsx::read`]
//!    (sheets, dates, merged cells, cached formula values, bounded
//!    decompression) turns them into a [`table::Grid`] of raw rows.
//! 3. [`table::Table::from_grid`] finds the header row, drops empty rows and
//!    trailing empty columns and names every column uniquely.
//! 4. [`mapping`] suggests which column feeds which task field and how
//!    status and priority values translate; [`dates`] detects date formats.
//! 5. [`validate::validate`] checks every row against the mapping and the
//!    importer's scope and yields a [`validate::Draft`] or its problems.
//! 6. [`report`] writes the error report CSV, neutralizing formula cells.

pub mod csv_text;
pub mod dates;
pub mod mapping;
pub mod report;
pub mod sniff;
pub mod table;
pub mod validate;
pub mod xlsx;

use std::fmt;

use serde::{Deserialize, Serialize};

/// The resource limits of one import; each has a name so a refusal can say
/// which one was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Data rows (after the header), default 100,000.
    pub max_rows: usize,
    /// Columns with any content, default 200.
    pub max_columns: usize,
    /// Bytes all ZIP entries of a workbook may decompress to, default 200 MiB.
    pub max_uncompressed_bytes: u64,
    /// Entries in a workbook's ZIP, default 10,000.
    pub max_entries: usize,
    /// Characters in one cell, default 100,000 (a task description's limit).
    pub max_cell_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_rows: 100_000,
            max_columns: 200,
            max_uncompressed_bytes: 200 * 1024 * 1024,
            max_entries: 10_000,
            max_cell_chars: 100_000,
        }
    }
}

/// Which limit a file exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Rows,
    Columns,
    UncompressedSize,
    Entries,
    CellSize,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rows => "rows",
            Self::Columns => "columns",
            Self::UncompressedSize => "uncompressed_size",
            Self::Entries => "entries",
            Self::CellSize => "cell_size",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rows => "number of rows",
            Self::Columns => "number of columns",
            Self::UncompressedSize => "uncompressed size of the workbook",
            Self::Entries => "number of entries in the workbook archive",
            Self::CellSize => "size of one cell",
        })
    }
}

/// Why a file cannot be read. `Unsupported` is a refusal by content (415);
/// the others are unreadable or oversized content (422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("{detected} is not accepted: upload a CSV file or an Excel workbook (.xlsx)")]
    Unsupported { detected: String },
    #[error("the {limit} exceeds the limit of {max}")]
    LimitExceeded { limit: Limit, max: u64 },
    #[error("the workbook cannot be read: {0}")]
    BadWorkbook(String),
    #[error("the CSV file cannot be read: {0}")]
    BadCsv(String),
    #[error("the workbook has no sheet named `{0}`")]
    NoSuchSheet(String),
    #[error("the file has no rows")]
    NoRows,
    #[error("header row {0} is not in the file")]
    NoSuchHeaderRow(u32),
}

impl ImportError {
    /// A stable machine-readable code for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_file",
            Self::Unsupported { .. } => "unsupported_type",
            Self::LimitExceeded { .. } => "limit_exceeded",
            Self::BadWorkbook(_) => "bad_workbook",
            Self::BadCsv(_) => "bad_csv",
            Self::NoSuchSheet(_) => "no_such_sheet",
            Self::NoRows => "no_rows",
            Self::NoSuchHeaderRow(_) => "no_such_header_row",
        }
    }
}

pub use dates::DateFormat;
pub use mapping::{Field, Mapping, Source};
pub use sniff::Format;
pub use table::{Grid, Table};

/// Reads any accepted file into a grid: `sheet` chooses a workbook's sheet
/// (the first when `None`).
pub fn read_grid(
    bytes: &[u8],
    sheet: Option<&str>,
    limits: &Limits,
) -> Result<Parsed, ImportError> {
    match sniff::detect(bytes)? {
        Format::Csv => {
            let (grid, info) = csv_text::read(bytes, limits)?;
            Ok(Parsed {
                format: Format::Csv,
                grid,
                encoding: Some(info.encoding),
                delimiter: Some(info.delimiter),
                sheets: vec![],
                sheet: None,
            })
        }
        Format::Xlsx => {
            let book = xlsx::read(bytes, sheet, limits)?;
            Ok(Parsed {
                format: Format::Xlsx,
                grid: book.grid,
                encoding: None,
                delimiter: None,
                sheets: book.sheets,
                sheet: Some(book.sheet),
            })
        }
    }
}

/// A file read into raw rows, with what was detected on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub format: Format,
    pub grid: Grid,
    /// CSV only: the text encoding detected (`UTF-8`, `UTF-16LE`, `windows-1252`…).
    pub encoding: Option<&'static str>,
    /// CSV only: the delimiter detected.
    pub delimiter: Option<char>,
    /// XLSX only: every sheet's name, in workbook order.
    pub sheets: Vec<String>,
    /// XLSX only: the sheet read.
    pub sheet: Option<String>,
}
