//! Which column feeds which task field, suggested from header names and
//! synonyms; and how status and priority values translate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dates::DateFormat;

/// The task fields an import can fill.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    Title,
    Description,
    Status,
    Priority,
    /// Emails or usernames, separated by `,` or `;`.
    Assignees,
    DueDate,
    /// Separated by `,` or `;`.
    Tags,
    /// The row's id in the source system; a second import of the same id
    /// updates the task instead of creating another.
    ExternalId,
}

impl Field {
    pub const ALL: [Self; 8] = [
        Self::Title,
        Self::Description,
        Self::Status,
        Self::Priority,
        Self::Assignees,
        Self::DueDate,
        Self::Tags,
        Self::ExternalId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Description => "description",
            Self::Status => "status",
            Self::Priority => "priority",
            Self::Assignees => "assignees",
            Self::DueDate => "dueDate",
            Self::Tags => "tags",
            Self::ExternalId => "externalId",
        }
    }

    /// Normalized header names that mean this field (see [`normalize`]);
    /// English first, with the German words European exports carry.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Self::Title => &[
                "title", "summary", "name", "task", "taskname", "subject", "headline", "issue",
                "item", "titel", "aufgabe",
            ],
            Self::Description => &[
                "description",
                "details",
                "notes",
                "body",
                "desc",
                "text",
                "content",
                "beschreibung",
            ],
            Self::Status => &["status", "state", "stage", "progress", "column", "section"],
            Self::Priority => &[
                "priority",
                "prio",
                "urgency",
                "importance",
                "severity",
                "priorität",
                "prioritat",
            ],
            Self::Assignees => &[
                "assignee",
                "assignees",
                "assignedto",
                "assigned",
                "owner",
                "owners",
                "responsible",
                "people",
                "verantwortlich",
                "zugewiesen",
            ],
            Self::DueDate => &[
                "duedate",
                "due",
                "deadline",
                "dueon",
                "duedatetime",
                "enddate",
                "targetdate",
                "dueby",
                "fällig",
                "fälligkeit",
                "termin",
            ],
            Self::Tags => &[
                "tags",
                "tag",
                "labels",
                "label",
                "categories",
                "category",
                "schlagworte",
            ],
            Self::ExternalId => &[
                "externalid",
                "id",
                "key",
                "issuekey",
                "issueid",
                "ref",
                "reference",
                "ticket",
                "ticketid",
                "number",
                "taskid",
            ],
        }
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ImportSource)]
pub enum Source {
    /// The column with this header name (names, not positions, so a saved
    /// mapping fits the next export of the same sheet).
    Column(String),
    /// The same value on every row.
    Constant(String),
}

/// `fields` as the document states it: one optional property per [`Field`].
fn fields_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    use utoipa::openapi::Ref;
    Field::ALL
        .iter()
        .fold(ObjectBuilder::new().schema_type(Type::Object), |b, f| {
            b.property(f.as_str(), Ref::from_schema_name("ImportSource"))
        })
        .additional_properties(Some(
            AdditionalProperties::<utoipa::openapi::Schema>::FreeForm(false),
        ))
        .build()
}

/// A complete mapping: fields, extra text columns, value tables, date format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Mapping {
    /// Unmapped fields are left empty (status and priority take defaults).
    #[schema(schema_with = fields_schema)]
    pub fields: BTreeMap<Field, Source>,
    /// Columns appended to the description as `**Header:** value` lines.
    pub custom: Vec<String>,
    /// Source status value (as in the file) → status key.
    pub status_values: BTreeMap<String, String>,
    /// Source priority value (as in the file) → priority key.
    pub priority_values: BTreeMap<String, String>,
    /// Required when the due dates are ambiguous.
    pub date_format: Option<DateFormat>,
}

/// Lower-case letters and digits only: `Assigned to` → `assignedto`.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Suggests a column per field from the headers: an exact synonym first,
/// then a header that starts with a synonym of four letters or more
/// (`Due date (UTC)`). Each column feeds at most one field.
pub fn suggest(headers: &[String]) -> Mapping {
    let norm: Vec<String> = headers.iter().map(|h| normalize(h)).collect();
    let mut used = vec![false; headers.len()];
    let mut fields = BTreeMap::new();
    for pass in [true, false] {
        for f in Field::ALL {
            if fields.contains_key(&f) {
                continue;
            }
            let hit = f.synonyms().iter().find_map(|syn| {
                norm.iter().enumerate().position(|(i, h)| {
                    !used[i]
                        && if pass {
                            h == syn
                        } else {
                            syn.chars().count() >= 4 && h.starts_with(syn)
                        }
                })
            });
            if let Some(i) = hit {
                used[i] = true;
                fields.insert(f, Source::Column(headers[i].clone()));
            }
        }
    }
    Mapping {
        fields,
        ..Mapping::default()
    }
}

/// One value a status or priority can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// What the mapping stores (a status id, a priority name).
    pub key: String,
    /// What people call it (`In Progress`).
    pub label: String,
}

/// The values of one vocabulary, with synonyms from other tools.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    pub choices: Vec<Choice>,
    /// Normalized source word → key.
    pub synonyms: BTreeMap<String, String>,
}

/// The priority keys and what Jira, Linear and Asana exports call them.
pub fn priority_vocab() -> Vocab {
    let choices = [
        ("low", "Low"),
        ("medium", "Medium"),
        ("high", "High"),
        ("critical", "Critical"),
    ]
    .into_iter()
    .map(|(k, l)| Choice {
        key: k.into(),
        label: l.into(),
    })
    .collect();
    let pairs: &[(&str, &str)] = &[
        ("p0", "critical"),
        ("p1", "critical"),
        ("urgent", "critical"),
        ("highest", "critical"),
        ("blocker", "critical"),
        ("sehrhoch", "critical"),
        ("kritisch", "critical"),
        ("p2", "high"),
        ("major", "high"),
        ("hoch", "high"),
        ("p3", "medium"),
        ("normal", "medium"),
        ("mittel", "medium"),
        ("p4", "low"),
        ("p5", "low"),
        ("minor", "low"),
        ("lowest", "low"),
        ("trivial", "low"),
        ("niedrig", "low"),
    ];
    Vocab {
        choices,
        synonyms: pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    }
}

/// Source words for a status by its role on the board.
pub const DONE_WORDS: &[&str] = &[
    "done",
    "closed",
    "complete",
    "completed",
    "resolved",
    "finished",
    "fixed",
    "erledigt",
];
pub const OPEN_WORDS: &[&str] = &[
    "todo",
    "open",
    "backlog",
    "new",
    "notstarted",
    "offen",
    "neu",
];
pub const ACTIVE_WORDS: &[&str] = &[
    "inprogress",
    "doing",
    "started",
    "wip",
    "active",
    "inbearbeitung",
    "inreview",
    "review",
];
pub const PAUSED_WORDS: &[&str] = &["blocked", "waiting", "paused", "onhold", "wartend"];

impl Vocab {
    /// The key `raw` means by itself: a label or key, case and spacing
    /// ignored, or a synonym.
    pub fn lookup(&self, raw: &str) -> Option<&str> {
        let n = normalize(raw);
        if n.is_empty() {
            return None;
        }
        self.choices
            .iter()
            .find(|c| normalize(&c.label) == n || normalize(&c.key) == n)
            .map(|c| c.key.as_str())
            .or_else(|| self.synonyms.get(&n).map(String::as_str))
    }

    /// The key `raw` maps to: the user's table (keys compared normalized)
    /// first, then [`Vocab::lookup`].
    pub fn resolve<'a>(
        &'a self,
        table: &'a BTreeMap<String, String>,
        raw: &str,
    ) -> Option<&'a str> {
        let n = normalize(raw);
        table
            .iter()
            .find(|(k, _)| normalize(k) == n)
            .map(|(_, v)| v.as_str())
            .filter(|v| self.choices.iter().any(|c| c.key == *v))
            .or_else(|| self.lookup(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fields_are_suggested_from_synonyms() {
        let m = suggest(&h(&[
            "Summary",
            "Assigned to",
            "Prio",
            "Deadline",
            "Labels",
            "Issue key",
            "Notes",
            "State",
        ]));
        let col = |f: Field| match m.fields.get(&f) {
            Some(Source::Column(c)) => c.as_str(),
            _ => "",
        };
        assert_eq!(col(Field::Title), "Summary");
        assert_eq!(col(Field::Assignees), "Assigned to");
        assert_eq!(col(Field::Priority), "Prio");
        assert_eq!(col(Field::DueDate), "Deadline");
        assert_eq!(col(Field::Tags), "Labels");
        assert_eq!(col(Field::ExternalId), "Issue key");
        assert_eq!(col(Field::Description), "Notes");
        assert_eq!(col(Field::Status), "State");
        let m = suggest(&h(&["Owner", "Due date (UTC)", "Title"]));
        assert_eq!(
            m.fields.get(&Field::DueDate),
            Some(&Source::Column("Due date (UTC)".into()))
        );
        assert_eq!(
            m.fields.get(&Field::Assignees),
            Some(&Source::Column("Owner".into()))
        );
        assert!(suggest(&h(&["Foo", "Bar"])).fields.is_empty());
    }

    #[test]
    fn values_resolve_through_the_table_then_labels_then_synonyms() {
        let v = priority_vocab();
        let none = BTreeMap::new();
        assert_eq!(v.resolve(&none, "HIGH"), Some("high"));
        assert_eq!(v.resolve(&none, "P1"), Some("critical"));
        assert_eq!(v.resolve(&none, "whenever"), None);
        let table: BTreeMap<String, String> = [("Whenever".to_string(), "low".to_string())].into();
        assert_eq!(v.resolve(&table, "whenever"), Some("low"));
        // A table entry pointing at no valid key is ignored.
        let bad: BTreeMap<String, String> = [("P1".to_string(), "extreme".to_string())].into();
        assert_eq!(v.resolve(&bad, "P1"), Some("critical"));
    }

    #[test]
    fn mappings_serialize_compactly() {
        let mut m = Mapping::default();
        m.fields
            .insert(Field::Title, Source::Column("Summary".into()));
        m.fields
            .insert(Field::Priority, Source::Constant("high".into()));
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["fields"]["title"]["column"], "Summary");
        assert_eq!(j["fields"]["priority"]["constant"], "high");
        let back: Mapping = serde_json::from_value(j).unwrap();
        assert_eq!(back, m);
    }
}
