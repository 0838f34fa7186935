//! CSV: encoding detection, delimiter sniffing and RFC 4180 parsing (quoted
//! fields with embedded newlines and doubled quotes) through the `csv` crate.

use std::borrow::Cow;

use encoding_rs::Encoding;

use crate::table::{Grid, RawRow};
use crate::{ImportError, Limit, Limits};

/// What was detected while reading a CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvInfo {
    /// The WHATWG name of the encoding (`UTF-8`, `UTF-16LE`, `windows-1252`…).
    pub encoding: &'static str,
    pub delimiter: char,
}

/// The delimiters tried, in order of preference when the evidence ties.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How much text the detectors look at; enough for any real header and a
/// few dozen rows, and bounded so a 10 MB file is not scanned twice.
const DETECT_BYTES: usize = 1024 * 1024;

/// Decodes `bytes` to text: a BOM decides (UTF-8, UTF-16LE/BE); otherwise
/// valid UTF-8 is UTF-8; otherwise `chardetng` guesses a legacy encoding,
/// which for Western European spreadsheets is windows-1252 (a superset of
/// Latin-1 in everything printable).
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, &'static Encoding) {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        return (text, enc);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(s), encoding_rs::UTF_8);
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    let sample = &bytes[..bytes.len().min(DETECT_BYTES)];
    det.feed(sample, sample.len() == bytes.len());
    let enc = det.guess(None, chardetng::Utf8Detection::Deny);
    let (text, _) = enc.decode_without_bom_handling(bytes);
    (text, enc)
}

/// The delimiter whose count per record is the same, and non-zero, on the
/// most of the first records (quotes respected); `,` when nothing fits.
pub fn sniff_delimiter(text: &str) -> u8 {
    let sample = &text[..floor_boundary(text, DETECT_BYTES.min(text.len()))];
    // Per record, the count of each candidate outside quotes.
    let mut records: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut quoted = false;
    let mut any = false;
    for b in sample.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                if any {
                    records.push(counts);
                }
                counts = [0; 4];
                any = false;
                if records.len() >= 50 {
                    break;
                }
            }
            _ if !quoted => {
                if let Some(i) = DELIMITERS.iter().position(|d| *d == b) {
                    counts[i] += 1;
                }
                if !b.is_ascii_whitespace() {
                    any = true;
                }
            }
            _ => {}
        }
    }
    if any && records.len() < 50 {
        records.push(counts);
    }
    let mut best = (0usize, 0usize, b',');
    for (i, d) in DELIMITERS.iter().enumerate() {
        // The most common non-zero count and how many records have it.
        let mut freq: Vec<(usize, usize)> = Vec::new();
        for r in &records {
            let c = r[i];
            if c == 0 {
                continue;
            }
            match freq.iter_mut().find(|(n, _)| *n == c) {
                Some(f) => f.1 += 1,
                None => freq.push((c, 1)),
            }
        }
        let Some(&(mode, hits)) = freq.iter().max_by_key(|(n, h)| (*h, *n)) else {
            continue;
        };
        if (hits, mode) > (best.0, best.1) {
            best = (hits, mode, *d);
        }
    }
    best.2
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Reads a CSV into raw rows numbered as a spreadsheet would show them
/// (record 1 is row 1), with cells trimmed.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<(Grid, CsvInfo), ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    let (text, enc) = decode(bytes);
    let delimiter = sniff_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut number = 0u32;
    // The header and a few title rows above it may come on top of the data.
    let cap = limits.max_rows + crate::table::HEADER_SEARCH;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(ImportError::BadCsv(e.to_string())),
        }
        number += 1;
        let width = (0..record.len())
            .rev()
            .find(|i| !record[*i].trim().is_empty())
            .map_or(0, |i| i + 1);
        if width == 0 {
            continue;
        }
        if width > limits.max_columns {
            return Err(ImportError::LimitExceeded {
                limit: Limit::Columns,
                max: limits.max_columns as u64,
            });
        }
        let mut cells = Vec::with_capacity(width);
        for c in record.iter().take(width) {
            if c.len() > limits.max_cell_chars && c.chars().count() > limits.max_cell_chars {
                return Err(ImportError::LimitExceeded {
                    limit: Limit::CellSize,
                    max: limits.max_cell_chars as u64,
                });
            }
            cells.push(c.trim().to_string());
        }
        rows.push(RawRow { number, cells });
        if rows.len() > cap {
            return Err(ImportError::LimitExceeded {
                limit: Limit::Rows,
                max: limits.max_rows as u64,
            });
        }
    }
    Ok((
        Grid { rows },
        CsvInfo {
            encoding: enc.name(),
            delimiter: delimiter as char,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(g: &Grid) -> Vec<Vec<&str>> {
        g.rows
            .iter()
            .map(|r| r.cells.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn encodings_are_detected() {
        let (t, e) = decode(b"\xEF\xBB\xBFTitle\nCaf\xC3\xA9");
        assert_eq!((t.as_ref(), e.name()), ("Title\nCafé", "UTF-8"));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Tïtle;x".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let (t, e) = decode(&utf16);
        assert_eq!((t.as_ref(), e.name()), ("Tïtle;x", "UTF-16LE"));
        let latin =
            b"Titel;Beschreibung\nCaf\xE9 cr\xE8me br\xFBl\xE9e;\xC0 la carte, d\xE9j\xE0 vu\n";
        let (t, e) = decode(latin);
        assert_eq!(e.name(), "windows-1252");
        assert!(t.contains("Café crème brûlée"), "{t}");
        let (t, _) = decode(b"price \x80 5");
        assert_eq!(t, "price € 5");
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter("Titel;Betrag\nA;1,5\nB;2,25\nC;3\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n"), b'|');
        assert_eq!(sniff_delimiter("\"x;y\",b\n\"1;2\",3\n"), b',');
        assert_eq!(sniff_delimiter("title\nonly one column\n"), b',');
    }

    #[test]
    fn quoted_newlines_and_doubled_quotes_parse() {
        let src = b"Title,Description\n\"Fix \"\"login\"\"\",\"line one\nline two\"\nNext,  spaced  \n,\n";
        let (g, info) = read(src, &Limits::default()).unwrap();
        assert_eq!(info.delimiter, ',');
        assert_eq!(
            cells(&g),
            vec![
                vec!["Title", "Description"],
                vec!["Fix \"login\"", "line one\nline two"],
                vec!["Next", "spaced"],
            ]
        );
        // Record numbers, not line numbers: the quoted newline is one row.
        assert_eq!(g.rows[2].number, 3);
    }

    #[test]
    fn limits_are_named() {
        let limits = Limits {
            max_rows: 3,
            max_columns: 2,
            ..Limits::default()
        };
        let e = read(b"a,b,c\n", &limits).unwrap_err();
        assert_eq!(
            e,
            ImportError::LimitExceeded {
                limit: Limit::Columns,
                max: 2
            }
        );
        // Trailing empty columns do not count.
        assert!(read(b"a,b,,,\n", &limits).is_ok());
        let many = "x\n".repeat(100);
        let e = read(many.as_bytes(), &limits).unwrap_err();
        assert!(matches!(
            e,
            ImportError::LimitExceeded {
                limit: Limit::Rows,
                ..
            }
        ));
    }
}
