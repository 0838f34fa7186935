//! A workflow template's document and the pure step of instantiating it:
//! parameter values written into the graph and the triggers.

use std::collections::BTreeMap;

use katalusis_crds::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// One value the person instantiating fills in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateParameter {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub help: String,
    /// Where the value goes: `<node>.params.<name>`, `<node>.inputs.<port>`
    /// or `triggers.<index>.<field>`.
    pub target: String,
    /// More places the same value goes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default)]
    pub required: bool,
}

/// A trigger the instantiated workflow gets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateTrigger {
    pub name: String,
    /// As in `POST /api/workflows/{id}/triggers`.
    #[schema(value_type = Object)]
    pub config: Value,
}

/// What a template holds besides its name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    #[schema(value_type = Object)]
    pub graph: Value,
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
    #[serde(default)]
    pub triggers: Vec<TemplateTrigger>,
}

/// A shipped template (`library/workflow-templates/*.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipped {
    pub slug: String,
    pub name: String,
    pub category: String,
    pub description: String,
    #[serde(flatten)]
    pub document: Document,
}

/// The shipped templates, embedded at build time.
pub fn shipped() -> Vec<Shipped> {
    [
        include_str!("../../../library/workflow-templates/approve-high-value-rows.json"),
        include_str!("../../../library/workflow-templates/daily-digest.json"),
        include_str!("../../../library/workflow-templates/escalate-on-hold.json"),
    ]
    .iter()
    .filter_map(|s| match serde_json::from_str(s) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::error!(error = %e, "a shipped workflow template cannot be read");
            None
        }
    })
    .collect()
}

fn place(graph: &mut Value, triggers: &mut [TemplateTrigger], target: &str, value: &Value) -> bool {
    let parts: Vec<&str> = target.splitn(3, '.').collect();
    match parts.as_slice() {
        ["triggers", index, field] => index
            .parse::<usize>()
            .ok()
            .and_then(|i| triggers.get_mut(i))
            .and_then(|t| t.config.as_object_mut())
            .map(|c| c.insert((*field).to_owned(), value.clone()))
            .is_some(),
        [node, section @ ("params" | "inputs"), name] => graph["nodes"]
            .as_array_mut()
            .and_then(|nodes| nodes.iter_mut().find(|n| n["id"] == *node))
            .map(|n| {
                if !n[*section].is_object() {
                    n[*section] = Value::Object(Default::default());
                }
                n[*section][*name] = value.clone();
            })
            .is_some(),
        _ => false,
    }
}

fn is_blank(v: &Value) -> bool {
    v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())
}

/// The graph and triggers with `values` (by parameter name) filled in;
/// defaults fill what is not given. Every missing required value and
/// unknown parameter is reported.
pub fn instantiate(
    doc: &Document,
    values: &BTreeMap<String, Value>,
) -> Result<(Value, Vec<TemplateTrigger>), Vec<FieldError>> {
    let mut errs = Vec::new();
    for name in values.keys() {
        if !doc.parameters.iter().any(|p| &p.name == name) {
            errs.push(FieldError::new(
                format!("values.{name}"),
                "no such parameter",
            ));
        }
    }
    let mut graph = doc.graph.clone();
    let mut triggers = doc.triggers.clone();
    for p in &doc.parameters {
        let value = values
            .get(&p.name)
            .filter(|v| !is_blank(v))
            .or(p.default.as_ref())
            .cloned();
        let Some(value) = value else {
            if p.required {
                errs.push(FieldError::new(format!("values.{}", p.name), "is required"));
            }
            continue;
        };
        for target in std::iter::once(&p.target).chain(&p.also) {
            if !place(&mut graph, &mut triggers, target, &value) {
                errs.push(FieldError::new(
                    format!("parameters.{}", p.name),
                    format!("its target `{target}` is not in the template"),
                ));
            }
        }
    }
    if errs.is_empty() {
        Ok((graph, triggers))
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_shipped_template_reads_and_instantiates_with_its_required_values() {
        let shipped = shipped();
        assert_eq!(shipped.len(), 3);
        for t in shipped {
            let values: BTreeMap<String, Value> = t
                .document
                .parameters
                .iter()
                .filter(|p| p.required && p.default.is_none())
                .map(|p| (p.name.clone(), json!("someone")))
                .collect();
            let (graph, _) =
                instantiate(&t.document, &values).unwrap_or_else(|e| panic!("{}: {e:?}", t.slug));
            let g: katalusis_crds::Graph =
                serde_json::from_value(graph).unwrap_or_else(|e| panic!("{}: {e}", t.slug));
            assert!(!g.nodes.is_empty());
            assert_eq!(
                instantiate(&t.document, &BTreeMap::new()).is_err(),
                !values.is_empty()
            );
        }
    }

    #[test]
    fn values_go_to_params_inputs_and_triggers_and_mistakes_are_named() {
        let doc = Document {
            graph: json!({"nodes": [{"id": "a", "params": {}}, {"id": "b"}], "edges": []}),
            parameters: vec![
                TemplateParameter {
                    name: "who".into(),
                    label: "Who".into(),
                    help: String::new(),
                    target: "a.params.to".into(),
                    also: vec!["b.inputs.to".into()],
                    default: None,
                    required: true,
                },
                TemplateParameter {
                    name: "cron".into(),
                    label: "Cron".into(),
                    help: String::new(),
                    target: "triggers.0.cron".into(),
                    also: vec![],
                    default: Some(json!("0 8 * * *")),
                    required: true,
                },
            ],
            triggers: vec![TemplateTrigger {
                name: "t".into(),
                config: json!({"kind": "schedule", "cron": "", "timezone": "UTC"}),
            }],
        };
        let (graph, triggers) =
            instantiate(&doc, &BTreeMap::from([("who".to_owned(), json!("ana"))])).unwrap();
        assert_eq!(graph["nodes"][0]["params"]["to"], "ana");
        assert_eq!(graph["nodes"][1]["inputs"]["to"], "ana");
        assert_eq!(triggers[0].config["cron"], "0 8 * * *");
        let errs = instantiate(
            &doc,
            &BTreeMap::from([
                ("nobody".to_owned(), json!(1)),
                ("who".to_owned(), json!(" ")),
            ]),
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["values.nobody", "values.who"]);
    }
}
