//! Every row checked against the mapping and the importer's scope, without
//! writing anything: a row yields a [`Draft`] or the problems that stop it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dates::{self, DateDetection, DateFormat};
use crate::mapping::{Field, Mapping, Source, Vocab};
use crate::table::{RawRow, Table};

pub const MAX_TITLE: usize = 500;
pub const MAX_DESCRIPTION: usize = 100_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 64;
pub const MAX_EXTERNAL_ID: usize = 128;
pub const MAX_ASSIGNEES: usize = 50;

/// A person the importer may assign, found by username or email.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: u64,
    pub username: String,
    pub email: Option<String>,
}

/// What the rows are checked against.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub statuses: Vocab,
    pub priorities: Vocab,
    /// Users the importer may assign in the target client.
    pub people: Vec<Person>,
    /// External ids already imported into the target client.
    pub existing_ids: HashSet<String>,
}

/// A mistake in the mapping itself, before any row is looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("the title must be mapped to a column or a constant")]
    NoTitle,
    #[error("the mapping names column `{0}`, which the file does not have")]
    NoSuchColumn(String),
    #[error("`{value}` is not a valid {field} for every row")]
    BadConstant { field: &'static str, value: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ImportSeverity)]
pub enum Severity {
    /// The row cannot be imported.
    Error,
    /// The row is imported, but look (it updates an earlier import).
    Warning,
}

/// One problem of one row, located as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ImportProblem)]
pub struct Problem {
    /// The row number as the spreadsheet shows it.
    pub row: u32,
    /// The header of the column (or the field, for constants).
    pub column: String,
    pub value: String,
    pub reason: String,
    pub severity: Severity,
}

/// A task ready to be created, in the import's vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub title: String,
    pub description: String,
    /// A status key from [`Scope::statuses`]; `None` is the default status.
    pub status: Option<String>,
    /// A priority key; `None` is the default priority.
    pub priority: Option<String>,
    pub assignees: Vec<u64>,
    pub due: Option<NaiveDateTime>,
    pub tags: Vec<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RowResult {
    pub row: u32,
    pub draft: Option<Draft>,
    pub problems: Vec<Problem>,
    /// The external id was imported before: applying updates that task.
    pub updates_existing: bool,
}

impl RowResult {
    pub fn is_valid(&self) -> bool {
        self.draft.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub rows: Vec<RowResult>,
    pub valid: usize,
    pub invalid: usize,
    /// Valid rows that carry a warning.
    pub warnings: usize,
    pub dates: DateDetection,
}

enum Get {
    Col(usize),
    Const(String),
    Nothing,
}

fn resolve(table: &Table, m: &Mapping, f: Field) -> Result<Get, MappingError> {
    Ok(match m.fields.get(&f) {
        None => Get::Nothing,
        Some(Source::Constant(v)) => Get::Const(v.trim().to_string()),
        Some(Source::Column(c)) => Get::Col(column(table, c)?),
    })
}

fn column(table: &Table, name: &str) -> Result<usize, MappingError> {
    table
        .headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| MappingError::NoSuchColumn(name.to_string()))
}

fn value<'a>(g: &'a Get, row: &'a RawRow) -> &'a str {
    match g {
        Get::Col(i) => row.cell(*i),
        Get::Const(v) => v.as_str(),
        Get::Nothing => "",
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
}

/// Validates every row. The due-date format is `mapping.date_format`, or the
/// one detected from the column; ambiguous dates without a choice are an
/// error on their rows, never a guess.
pub fn validate(table: &Table, m: &Mapping, scope: &Scope) -> Result<Outcome, MappingError> {
    let title = resolve(table, m, Field::Title)?;
    if matches!(title, Get::Nothing) {
        return Err(MappingError::NoTitle);
    }
    let description = resolve(table, m, Field::Description)?;
    let status = resolve(table, m, Field::Status)?;
    let priority = resolve(table, m, Field::Priority)?;
    let assignees = resolve(table, m, Field::Assignees)?;
    let due = resolve(table, m, Field::DueDate)?;
    let tags = resolve(table, m, Field::Tags)?;
    let external = resolve(table, m, Field::ExternalId)?;
    let custom: Vec<(usize, &str)> = m
        .custom
        .iter()
        .map(|c| column(table, c).map(|i| (i, c.as_str())))
        .collect::<Result<_, _>>()?;
    for (field, get, vocab, tbl) in [
        ("status", &status, &scope.statuses, &m.status_values),
        ("priority", &priority, &scope.priorities, &m.priority_values),
    ] {
        if let Get::Const(v) = get {
            if !v.is_empty() && vocab.resolve(tbl, v).is_none() {
                return Err(MappingError::BadConstant {
                    field,
                    value: v.clone(),
                });
            }
        }
    }
    let detection = match &due {
        Get::Col(i) => dates::detect(table.rows.iter().map(|r| r.cell(*i))),
        Get::Const(v) => dates::detect([v.as_str()]),
        Get::Nothing => dates::detect(std::iter::empty()),
    };
    let date_format: Option<DateFormat> = m.date_format.or(if detection.ambiguous {
        None
    } else {
        detection.format
    });
    let name_of = |g: &Get, f: Field| match g {
        Get::Col(i) => table.headers[*i].clone(),
        _ => f.as_str().to_string(),
    };
    let mut people: HashMap<String, u64> = HashMap::new();
    for p in &scope.people {
        people.insert(p.username.to_lowercase(), p.id);
        if let Some(e) = &p.email {
            people.insert(e.to_lowercase(), p.id);
        }
    }
    let mut seen_ids: HashMap<String, u32> = HashMap::new();
    let mut out = Vec::with_capacity(table.rows.len());
    let (mut valid, mut invalid, mut warnings) = (0, 0, 0);

    for row in &table.rows {
        let mut problems = Vec::new();
        let mut problem = |g: &Get, f: Field, v: &str, reason: String, severity: Severity| {
            problems.push(Problem {
                row: row.number,
                column: name_of(g, f),
                value: v.to_string(),
                reason,
                severity,
            })
        };
        let err = Severity::Error;

        // Line breaks in a title become spaces; other control characters refuse.
        let raw_title = value(&title, row);
        let t: String = raw_title.split_whitespace().collect::<Vec<_>>().join(" ");
        if t.is_empty() {
            problem(
                &title,
                Field::Title,
                raw_title,
                "a title is required".into(),
                err,
            );
        } else if t.chars().count() > MAX_TITLE {
            problem(
                &title,
                Field::Title,
                raw_title,
                format!("longer than {MAX_TITLE} characters"),
                err,
            );
        } else if t.chars().any(char::is_control) {
            problem(
                &title,
                Field::Title,
                raw_title,
                "contains control characters".into(),
                err,
            );
        }

        let mut desc = value(&description, row).to_string();
        for (i, name) in &custom {
            let v = row.cell(*i);
            if !v.is_empty() {
                if !desc.is_empty() {
                    desc.push_str("\n\n");
                }
                desc.push_str(&format!("**{name}:** {v}"));
            }
        }
        if desc.chars().count() > MAX_DESCRIPTION {
            problem(
                &description,
                Field::Description,
                "",
                format!("longer than {MAX_DESCRIPTION} characters"),
                err,
            );
        }

        let mut keyed =
            |g: &Get, f: Field, vocab: &Vocab, tbl: &BTreeMap<String, String>, what: &str| {
                let v = value(g, row);
                if v.is_empty() {
                    return None;
                }
                match vocab.resolve(tbl, v) {
                    Some(k) => Some(k.to_string()),
                    None => {
                        problem(
                            g,
                            f,
                            v,
                            format!("`{v}` is not a {what}; map it to one"),
                            err,
                        );
                        None
                    }
                }
            };
        let st = keyed(
            &status,
            Field::Status,
            &scope.statuses,
            &m.status_values,
            "status",
        );
        let pr = keyed(
            &priority,
            Field::Priority,
            &scope.priorities,
            &m.priority_values,
            "priority",
        );

        let mut who = Vec::new();
        let raw_who = value(&assignees, row);
        for name in split_list(raw_who) {
            match people.get(&name.to_lowercase()) {
                Some(id) => {
                    if !who.contains(id) {
                        who.push(*id);
                    }
                }
                None => problem(
                    &assignees,
                    Field::Assignees,
                    name,
                    format!("`{name}` is not a user you may assign in this client"),
                    err,
                ),
            }
        }
        if who.len() > MAX_ASSIGNEES {
            problem(
                &assignees,
                Field::Assignees,
                raw_who,
                format!("more than {MAX_ASSIGNEES} assignees"),
                err,
            );
        }

        let raw_due = value(&due, row);
        let due_at = if raw_due.is_empty() {
            None
        } else {
            match date_format {
                Some(f) => match dates::parse(raw_due, f) {
                    Some(d) => Some(d),
                    None => {
                        problem(
                            &due,
                            Field::DueDate,
                            raw_due,
                            format!("`{raw_due}` is not a date in the format {}", f.as_str()),
                            err,
                        );
                        None
                    }
                },
                None if detection.ambiguous => {
                    problem(
                        &due,
                        Field::DueDate,
                        raw_due,
                        "the date format is ambiguous (day/month or month/day): choose one".into(),
                        err,
                    );
                    None
                }
                None => {
                    problem(
                        &due,
                        Field::DueDate,
                        raw_due,
                        format!("`{raw_due}` is not a date"),
                        err,
                    );
                    None
                }
            }
        };

        let raw_tags = value(&tags, row);
        let mut tag_list: Vec<String> = Vec::new();
        for t in split_list(raw_tags) {
            if t.chars().count() > MAX_TAG || t.chars().any(char::is_control) {
                problem(
                    &tags,
                    Field::Tags,
                    t,
                    format!("a tag must be 1-{MAX_TAG} characters"),
                    err,
                );
            } else if !tag_list.iter().any(|x| x == t) {
                tag_list.push(t.to_string());
            }
        }
        if tag_list.len() > MAX_TAGS {
            problem(
                &tags,
                Field::Tags,
                raw_tags,
                format!("more than {MAX_TAGS} tags"),
                err,
            );
        }

        let raw_ext = value(&external, row);
        let mut updates_existing = false;
        let ext = if raw_ext.is_empty() {
            None
        } else if raw_ext.chars().count() > MAX_EXTERNAL_ID {
            problem(
                &external,
                Field::ExternalId,
                raw_ext,
                format!("longer than {MAX_EXTERNAL_ID} characters"),
                err,
            );
            None
        } else if let Some(first) = seen_ids.get(raw_ext) {
            problem(
                &external,
                Field::ExternalId,
                raw_ext,
                format!("duplicate: row {first} has the same external id"),
                err,
            );
            None
        } else {
            seen_ids.insert(raw_ext.to_string(), row.number);
            if scope.existing_ids.contains(raw_ext) {
                updates_existing = true;
                problem(
                    &external,
                    Field::ExternalId,
                    raw_ext,
                    "already imported: applying updates that task".into(),
                    Severity::Warning,
                );
            }
            Some(raw_ext.to_string())
        };

        let ok = !problems.iter().any(|p| p.severity == Severity::Error);
        let draft = ok.then_some(Draft {
            title: t,
            description: desc,
            status: st,
            priority: pr,
            assignees: who,
            due: due_at,
            tags: tag_list,
            external_id: ext,
        });
        if ok {
            valid += 1;
            if !problems.is_empty() {
                warnings += 1;
            }
        } else {
            invalid += 1;
        }
        out.push(RowResult {
            row: row.number,
            draft,
            problems,
            updates_existing,
        });
    }
    Ok(Outcome {
        rows: out,
        valid,
        invalid,
        warnings,
        dates: detection,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{priority_vocab, suggest, Choice};
    use crate::table::{Grid, HeaderChoice};
    use crate::Limits;

    fn table(rows: &[&[&str]]) -> Table {
        let grid = Grid {
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| RawRow {
                    number: i as u32 + 1,
                    cells: r.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        };
        Table::from_grid(grid, HeaderChoice::Auto, &Limits::default()).unwrap()
    }

    fn scope() -> Scope {
        Scope {
            statuses: Vocab {
                choices: vec![
                    Choice {
                        key: "1".into(),
                        label: "New".into(),
                    },
                    Choice {
                        key: "4".into(),
                        label: "Completed".into(),
                    },
                ],
                synonyms: [("done".to_string(), "4".to_string())].into(),
            },
            priorities: priority_vocab(),
            people: vec![Person {
                id: 7,
                username: "mia".into(),
                email: Some("mia@example.com".into()),
            }],
            existing_ids: ["OLD-1".to_string()].into(),
        }
    }

    #[test]
    fn rows_validate_with_their_problems_located() {
        let t = table(&[
            &["Title", "Status", "Prio", "Owner", "Due", "Tags", "ID"],
            &[
                "Write spec",
                "Done",
                "P1",
                "MIA@example.com",
                "2026-04-03",
                "a, b; a",
                "X-1",
            ],
            &["", "Someday", "", "bob", "2026-02-31", "", "X-1"],
            &["Again", "", "", "", "", "", "OLD-1"],
        ]);
        let m = suggest(&t.headers);
        let o = validate(&t, &m, &scope()).unwrap();
        assert_eq!((o.valid, o.invalid, o.warnings), (2, 1, 1));
        let d = o.rows[0].draft.as_ref().unwrap();
        assert_eq!(d.status.as_deref(), Some("4"));
        assert_eq!(d.priority.as_deref(), Some("critical"));
        assert_eq!(d.assignees, [7]);
        assert_eq!(d.tags, ["a", "b"]);
        assert_eq!(d.due.unwrap().to_string(), "2026-04-03 00:00:00");
        let bad = &o.rows[1];
        assert_eq!(bad.row, 3);
        let reasons: Vec<(&str, &str)> = bad
            .problems
            .iter()
            .map(|p| (p.column.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("Title", ""),
                ("Status", "Someday"),
                ("Owner", "bob"),
                ("Due", "2026-02-31"),
                ("ID", "X-1")
            ]
        );
        assert!(o.rows[2].updates_existing);
        assert_eq!(o.rows[2].problems[0].severity, Severity::Warning);
    }

    #[test]
    fn ambiguous_dates_need_a_choice() {
        let t = table(&[
            &["Title", "Due"],
            &["A", "03/04/2026"],
            &["B", "01/02/2026"],
        ]);
        let mut m = suggest(&t.headers);
        let o = validate(&t, &m, &scope()).unwrap();
        assert!(o.dates.ambiguous);
        assert_eq!(o.invalid, 2);
        m.date_format = Some(DateFormat::Mdy);
        let o = validate(&t, &m, &scope()).unwrap();
        assert_eq!(o.valid, 2);
        assert_eq!(
            o.rows[0].draft.as_ref().unwrap().due.unwrap().to_string(),
            "2026-03-04 00:00:00"
        );
    }

    #[test]
    fn mapping_mistakes_are_reported_before_rows() {
        let t = table(&[&["Name"], &["A"]]);
        assert_eq!(
            validate(&t, &Mapping::default(), &scope()).unwrap_err(),
            MappingError::NoTitle
        );
        let mut m = Mapping::default();
        m.fields
            .insert(Field::Title, Source::Column("Summary".into()));
        assert_eq!(
            validate(&t, &m, &scope()).unwrap_err(),
            MappingError::NoSuchColumn("Summary".into())
        );
        m.fields.insert(Field::Title, Source::Column("Name".into()));
        m.fields
            .insert(Field::Priority, Source::Constant("extreme".into()));
        assert!(matches!(
            validate(&t, &m, &scope()),
            Err(MappingError::BadConstant { .. })
        ));
        m.fields
            .insert(Field::Priority, Source::Constant("High".into()));
        m.custom = vec!["Name".into()];
        let o = validate(&t, &m, &scope()).unwrap();
        assert_eq!(o.rows[0].draft.as_ref().unwrap().description, "**Name:** A");
    }
}
