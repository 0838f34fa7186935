//! What the model may see, built through the same reads the API uses and
//! stripped of anything secret: template code, secret parameter values and
//! defaults never reach it, and a graph is masked as the API masks it.

use katalusis_crds::{Graph, ParamKind, TemplateSpec};
use serde_json::{json, Value};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// The node library as the model reads it: name, version, what it does,
/// typed ports and parameters. No code, no secret defaults.
pub fn library_for_model(specs: &[(u32, TemplateSpec)]) -> Value {
    let nodes: Vec<Value> = specs
        .iter()
        .map(|(version, s)| {
            let ports = |ps: &[katalusis_crds::template::PortSpec]| -> Vec<Value> {
                ps.iter()
                    .map(|p| {
                        let mut v = json!({"name": p.name, "type": p.port_type});
                        if p.required {
                            v["required"] = json!(true);
                        }
                        if !p.description.is_empty() {
                            v["description"] = json!(p.description);
                        }
                        v
                    })
                    .collect()
            };
            let params: Vec<Value> = s
                .parameters
                .iter()
                .map(|p| {
                    let mut v = json!({"name": p.name, "kind": p.kind});
                    if p.required {
                        v["required"] = json!(true);
                    }
                    if !p.options.is_empty() {
                        v["options"] = json!(p.options);
                    }
                    if p.kind != ParamKind::Secret {
                        if let Some(d) = &p.default {
                            v["default"] = d.clone();
                        }
                    }
                    let help = if p.help.is_empty() { &p.label } else { &p.help };
                    if !help.is_empty() {
                        v["help"] = json!(help);
                    }
                    v
                })
                .collect();
            let mut v = json!({
                "template": {"name": s.name, "version": version},
                "title": s.title,
                "inputs": ports(&s.inputs),
                "outputs": ports(&s.outputs),
                "parameters": params,
            });
            if !s.description.is_empty() {
                v["description"] = json!(s.description);
            }
            if let Some(kind) = s.builtin {
                v["builtin"] = json!(kind);
            }
            v
        })
        .collect();
    Value::Array(nodes)
}

/// The newest version of every template in the library, the flow nodes
/// included (the node library a manager may use in any workflow).
pub async fn versioned_library(state: &AppState) -> Result<Vec<(u32, TemplateSpec)>, ApiError> {
    let rows = db::templates::list_latest(
        &state.db,
        &db::templates::Filter {
            q: None,
            category: None,
            include_deleted: false,
        },
    )
    .await?;
    rows.into_iter()
        .map(|row| {
            let mut spec = row.spec()?;
            spec.code.clear();
            Ok((row.version, spec))
        })
        .collect::<anyhow::Result<_>>()
        .map_err(ApiError::Internal)
}

/// A graph as the model may see it: secret values replaced by `{"set": true}`
/// (plain strings in secret parameters too, as a client may send them).
pub async fn masked_graph(state: &AppState, mut graph: Graph) -> Result<Graph, ApiError> {
    let catalog = db::templates::catalog_for(&state.db, &graph.template_refs()).await?;
    crate::secrets::params::mask(&mut graph, |r| catalog.get(r).map(|(s, _)| s));
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_shows_ports_and_parameters_but_no_code_or_secret_defaults() {
        let spec: TemplateSpec = serde_json::from_value(json!({
            "name": "mail.send", "title": "Send mail", "description": "Sends one email",
            "code": "SECRET_CODE", "inputs": [{"name": "to", "type": "string", "required": true}],
            "outputs": [{"name": "id", "type": "string"}],
            "parameters": [
                {"name": "password", "kind": "secret", "required": true},
                {"name": "mode", "kind": "select", "options": ["a", "b"], "default": "a"}
            ]
        }))
        .unwrap();
        let v = library_for_model(&[(3, spec)]);
        let text = v.to_string();
        assert!(!text.contains("SECRET_CODE"));
        assert_eq!(v[0]["template"], json!({"name": "mail.send", "version": 3}));
        assert_eq!(
            v[0]["inputs"][0],
            json!({"name": "to", "type": "string", "required": true})
        );
        assert_eq!(v[0]["parameters"][1]["default"], "a");
        assert!(v[0]["parameters"][0].get("default").is_none());
    }
}
