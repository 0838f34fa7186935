//! What a file is, judged by its bytes only; the name and the declared
//! content type are never consulted.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::ImportError;

/// The two accepted kinds of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub const ALL: [Self; 2] = [Self::Csv, Self::Xlsx];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

const ZIP_LOCAL: &[u8] = b"PK\x03\x04";
const ZIP_EMPTY: &[u8] = b"PK\x05\x06";
const OLE2: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// How much of the start of a file decides whether it is text.
const TEXT_SAMPLE: usize = 64 * 1024;

/// Decides whether `bytes` are a CSV (text) or an XLSX workbook (a ZIP with
/// `[Content_Types].xml` and `xl/workbook.xml`). Anything else is refused
/// with a description of what was detected.
pub fn detect(bytes: &[u8]) -> Result<Format, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    if bytes.starts_with(ZIP_LOCAL) || bytes.starts_with(ZIP_EMPTY) {
        return zip_kind(bytes);
    }
    if bytes.starts_with(OLE2) {
        return Err(unsupported(
            "a legacy Excel 97-2003 workbook (.xls) or another OLE2 document; save it as .xlsx or CSV",
        ));
    }
    if let Some(kind) = infer::get(bytes) {
        if kind.matcher_type() != infer::MatcherType::Text {
            return Err(unsupported(&format!(
                "a file of type {} (.{})",
                kind.mime_type(),
                kind.extension()
            )));
        }
    }
    if is_text(bytes) {
        Ok(Format::Csv)
    } else {
        Err(unsupported(
            "binary data that is neither text nor a workbook",
        ))
    }
}

fn unsupported(detected: &str) -> ImportError {
    ImportError::Unsupported {
        detected: detected.to_string(),
    }
}

fn zip_kind(bytes: &[u8]) -> Result<Format, ImportError> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| unsupported("a damaged ZIP archive"))?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    if has("[Content_Types].xml") && has("xl/workbook.xml") {
        Ok(Format::Xlsx)
    } else if has("[Content_Types].xml") && has("word/document.xml") {
        Err(unsupported("a Word document (.docx)"))
    } else if has("mimetype") && names.iter().any(|n| n.starts_with("content.xml")) {
        Err(unsupported("an OpenDocument file (.ods/.odt)"))
    } else {
        Err(unsupported("a ZIP archive that is not an Excel workbook"))
    }
}

/// Text in any accepted encoding: a UTF-16 BOM, or no NUL bytes and few
/// control characters in the first 64 KiB.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let sample = &bytes[..bytes.len().min(TEXT_SAMPLE)];
    if sample.contains(&0) {
        return false;
    }
    let controls = sample
        .iter()
        .filter(|b| **b < 0x20 && !matches!(**b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    controls * 100 <= sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(names: &[&str]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for n in names {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(b"<x/>").unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn text_is_csv_and_a_workbook_zip_is_xlsx() {
        assert_eq!(detect(b"a,b\n1,2\n").unwrap(), Format::Csv);
        assert_eq!(detect(b"\xEF\xBB\xBFa;b\n").unwrap(), Format::Csv);
        assert_eq!(detect(b"\xFF\xFEa\0,\0b\0").unwrap(), Format::Csv);
        assert_eq!(detect(b"caf\xE9;cr\xE8me\n").unwrap(), Format::Csv);
        let book = zip_with(&["[Content_Types].xml", "xl/workbook.xml"]);
        assert_eq!(detect(&book).unwrap(), Format::Xlsx);
    }

    #[test]
    fn other_content_is_refused_saying_what_it_is() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        let e = detect(png).unwrap_err();
        assert!(e.to_string().contains("image/png"), "{e}");
        let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";
        let e = detect(exe).unwrap_err();
        assert_eq!(e.code(), "unsupported_type");
        let plain = zip_with(&["readme.txt"]);
        let e = detect(&plain).unwrap_err();
        assert!(e
            .to_string()
            .contains("ZIP archive that is not an Excel workbook"));
        let mut xls = OLE2.to_vec();
        xls.extend([0u8; 64]);
        assert!(detect(&xls).unwrap_err().to_string().contains(".xls"));
        assert_eq!(detect(b"").unwrap_err(), ImportError::Empty);
        assert_eq!(detect(b"a\0b\0c").unwrap_err().code(), "unsupported_type");
    }
}
