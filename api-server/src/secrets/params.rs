//! Pure transforms of a graph's secret parameter values.

use katalusis_crds::template::{is_secret_placeholder, secret_placeholder};
use katalusis_crds::{FieldError, Graph, ParamKind, TemplateRef, TemplateSpec};
use katalusis_vault::{is_sealed, Keyring};
use serde_json::Value;

fn is_secret_param(spec: Option<&TemplateSpec>, name: &str) -> bool {
    spec.and_then(|s| s.parameter(name))
        .is_some_and(|p| p.kind == ParamKind::Secret)
}

/// Prepares an incoming graph for storage: a new secret value (a string) is
/// sealed; the placeholder `{"set": true}` keeps the value `previous` holds
/// for the same node and parameter. Any incoming string is sealed, even one
/// that looks sealed, so a client can never plant a ciphertext it copied.
pub fn seal_incoming<'a>(
    graph: &mut Graph,
    spec_of: impl Fn(&TemplateRef) -> Option<&'a TemplateSpec>,
    previous: Option<&Graph>,
    ring: &Keyring,
) -> Result<(), Vec<FieldError>> {
    let mut errs = Vec::new();
    for node in &mut graph.nodes {
        let spec = spec_of(&node.template);
        for (name, value) in node.params.iter_mut() {
            if is_secret_placeholder(value) {
                let kept = previous
                    .and_then(|g| g.node(&node.id))
                    .and_then(|n| n.params.get(name))
                    .and_then(Value::as_str)
                    .filter(|s| is_sealed(s));
                match kept {
                    Some(sealed) => *value = Value::String(sealed.to_string()),
                    None => errs.push(FieldError::new(
                        format!("graph.nodes.{}.params.{name}", node.id),
                        "has no stored secret to keep; send the value",
                    )),
                }
            } else if is_secret_param(spec, name) {
                if let Some(plain) = value.as_str().filter(|s| !s.is_empty()) {
                    *value = Value::String(ring.seal(plain));
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// `node.param` of every secret parameter given as plain text: fine in a
/// request, which is sealed before it is stored, but not in a resource
/// anyone with read access to the cluster can see.
pub fn plain_secrets<'a>(
    graph: &Graph,
    spec_of: impl Fn(&TemplateRef) -> Option<&'a TemplateSpec>,
) -> Vec<String> {
    let mut found = Vec::new();
    for node in &graph.nodes {
        let spec = spec_of(&node.template);
        for (name, value) in &node.params {
            if value.as_str().is_some_and(|s| !s.is_empty()) && is_secret_param(spec, name) {
                found.push(format!("{}.{name}", node.id));
            }
        }
    }
    found
}

/// The graph as the API shows it: every stored secret replaced by
/// `{"set": true}`. Sealed strings are hidden whatever the template says, so
/// a template change can never expose a ciphertext.
pub fn mask<'a>(graph: &mut Graph, spec_of: impl Fn(&TemplateRef) -> Option<&'a TemplateSpec>) {
    for node in &mut graph.nodes {
        let spec = spec_of(&node.template);
        for (name, value) in node.params.iter_mut() {
            let hide = match value.as_str() {
                Some(s) if is_sealed(s) => true,
                Some(s) => !s.is_empty() && is_secret_param(spec, name),
                None => false,
            };
            if hide {
                *value = secret_placeholder();
            }
        }
    }
}

/// Masks without knowing the templates (only sealed values are hidden).
pub fn mask_sealed(graph: &mut Graph) {
    mask(graph, |_| None);
}

/// A stored parameter value as the node receives it: sealed values opened.
pub fn reveal(ring: &Keyring, node: &str, name: &str, value: &Value) -> anyhow::Result<Value> {
    match value.as_str() {
        Some(s) if is_sealed(s) => ring.open(s).map(Value::String).map_err(|e| {
            anyhow::anyhow!("secret parameter '{name}' of node '{node}' cannot be decrypted: {e}")
        }),
        _ => Ok(value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use katalusis_crds::Node;
    use serde_json::json;

    fn spec() -> TemplateSpec {
        serde_json::from_value(json!({
            "name": "t", "title": "t", "code": "def run(inputs, params, ctx): pass\n",
            "parameters": [
                {"name": "token", "kind": "secret"},
                {"name": "label", "kind": "text"}
            ]
        }))
        .unwrap()
    }

    fn graph(token: Value) -> Graph {
        let node: Node = serde_json::from_value(json!({
            "id": "a", "template": {"name": "t", "version": 1},
            "params": {"token": token, "label": "hi"}
        }))
        .unwrap();
        Graph {
            nodes: vec![node],
            edges: vec![],
        }
    }

    fn ring() -> Keyring {
        Keyring::new(katalusis_vault::Key::generate().0, vec![])
    }

    #[test]
    fn new_secret_values_are_sealed_and_masked() {
        let (ring, spec) = (ring(), spec());
        let mut g = graph(json!("s3cret"));
        seal_incoming(&mut g, |_| Some(&spec), None, &ring).unwrap();
        let stored = g.nodes[0].params["token"].as_str().unwrap().to_string();
        assert!(is_sealed(&stored));
        assert_eq!(ring.open(&stored).unwrap(), "s3cret");
        assert_eq!(g.nodes[0].params["label"], json!("hi"));
        mask(&mut g, |_| Some(&spec));
        assert_eq!(g.nodes[0].params["token"], json!({"set": true}));
        assert_eq!(g.nodes[0].params["label"], json!("hi"));
    }

    #[test]
    fn placeholder_keeps_the_stored_value_and_needs_one() {
        let (ring, spec) = (ring(), spec());
        let mut before = graph(json!("s3cret"));
        seal_incoming(&mut before, |_| Some(&spec), None, &ring).unwrap();
        let mut edit = graph(json!({"set": true}));
        seal_incoming(&mut edit, |_| Some(&spec), Some(&before), &ring).unwrap();
        assert_eq!(
            edit.nodes[0].params["token"],
            before.nodes[0].params["token"]
        );

        let mut fresh = graph(json!({"set": true}));
        let errs = seal_incoming(&mut fresh, |_| Some(&spec), None, &ring).unwrap_err();
        assert_eq!(errs[0].field, "graph.nodes.a.params.token");
    }

    #[test]
    fn a_planted_ciphertext_is_sealed_again_not_trusted() {
        let (ring, spec) = (ring(), spec());
        let planted = ring.seal("someone else's");
        let mut g = graph(json!(planted.clone()));
        seal_incoming(&mut g, |_| Some(&spec), None, &ring).unwrap();
        let stored = g.nodes[0].params["token"].as_str().unwrap();
        assert_eq!(ring.open(stored).unwrap(), planted);
    }

    #[test]
    fn reveal_opens_sealed_values_only() {
        let ring = ring();
        let sealed = json!(ring.seal("x"));
        assert_eq!(reveal(&ring, "a", "p", &sealed).unwrap(), json!("x"));
        assert_eq!(reveal(&ring, "a", "p", &json!(5)).unwrap(), json!(5));
        let other = Keyring::new(katalusis_vault::Key::generate().0, vec![]);
        let e = reveal(&other, "a", "p", &sealed).unwrap_err().to_string();
        assert!(e.contains("'p' of node 'a'"), "{e}");
    }
}
