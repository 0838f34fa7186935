//! Condition: a CEL expression over the node's inputs picks an output branch.

use std::collections::BTreeSet;

use cel::{Context, Program, Value as CelValue};
use serde_json::{Map, Value};

/// Largest expression accepted, so a pasted document is refused early.
const MAX_EXPRESSION_BYTES: usize = 4_096;

/// Why a condition could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConditionError {
    /// The expression is empty.
    #[error("the expression is empty")]
    Empty,
    /// The expression is longer than allowed.
    #[error("the expression is longer than {MAX_EXPRESSION_BYTES} bytes")]
    TooLong,
    /// The expression is not valid CEL.
    #[error("the expression is not valid CEL: {0}")]
    Syntax(String),
    /// The expression names something that is not an input.
    #[error("`{name}` is not an input of this node (inputs: {known})")]
    UnknownInput {
        /// The name used in the expression.
        name: String,
        /// The inputs that exist, comma-separated.
        known: String,
    },
    /// Evaluating failed (a missing field, a type mismatch, a division by zero).
    #[error("evaluating the expression failed: {0}")]
    Evaluation(String),
    /// A yes/no condition did not return a boolean.
    #[error("the expression returned {0}, not true or false")]
    NotBoolean(String),
    /// A switch returned a value that is not one of its cases and it has no default.
    #[error("the expression returned {value}, which is none of the cases {cases}")]
    NoCase {
        /// The value returned.
        value: String,
        /// The cases, comma-separated.
        cases: String,
    },
}

/// The branch a condition took and the value that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The output port whose edges carry on: `true`/`false`, or a case name.
    pub branch: String,
    /// The expression's result, shown in the editor on the last run's data.
    pub result: Value,
}

/// A compiled condition: yes/no (`cases` empty) or a switch over `cases`.
#[derive(Debug)]
pub struct Condition {
    program: Program,
    cases: Vec<String>,
}

/// The branch a switch takes when no case matches, if the node has it.
pub const DEFAULT_CASE: &str = "default";

/// A Switch node's case ports, in order; each matches the value of the
/// parameter of the same name (empty ones are unused).
pub const SWITCH_PORTS: [&str; 4] = ["case1", "case2", "case3", "case4"];

/// Evaluates a Switch: the port whose case value the expression returned,
/// else `default`. `cases` pairs each used port with its value.
pub fn switch_port(
    expression: &str,
    inputs: &BTreeSet<String>,
    cases: &[(String, String)],
    values: &Map<String, Value>,
) -> Result<(String, Value), ConditionError> {
    let mut wanted: Vec<String> = cases.iter().map(|(_, v)| v.clone()).collect();
    wanted.push(DEFAULT_CASE.to_owned());
    let decision = Condition::compile(expression, inputs, &wanted)?.evaluate(values)?;
    let port = cases
        .iter()
        .find(|(_, v)| *v == decision.branch)
        .map_or_else(|| DEFAULT_CASE.to_owned(), |(p, _)| p.clone());
    Ok((port, decision.result))
}

impl Condition {
    /// Compiles `expression`; `inputs` are the names it may use, `cases` the
    /// switch's output ports (empty for a yes/no condition).
    pub fn compile(
        expression: &str,
        inputs: &BTreeSet<String>,
        cases: &[String],
    ) -> Result<Self, ConditionError> {
        let expression = expression.trim();
        if expression.is_empty() {
            return Err(ConditionError::Empty);
        }
        if expression.len() > MAX_EXPRESSION_BYTES {
            return Err(ConditionError::TooLong);
        }
        // The parser reports positions in its own words; keep its message.
        let program = std::panic::catch_unwind(|| Program::compile(expression))
            .map_err(|_| ConditionError::Syntax("the parser gave up".into()))?
            .map_err(|e| ConditionError::Syntax(e.to_string()))?;
        let references = program.references();
        for name in references.variables() {
            if !inputs.contains(name) {
                return Err(ConditionError::UnknownInput {
                    name: name.to_owned(),
                    known: inputs.iter().cloned().collect::<Vec<_>>().join(", "),
                });
            }
        }
        Ok(Self {
            program,
            cases: cases.to_vec(),
        })
    }

    /// Evaluates the condition over the node's inputs (missing inputs are `null`).
    pub fn evaluate(&self, inputs: &Map<String, Value>) -> Result<Decision, ConditionError> {
        let mut context = Context::default();
        for name in self.program.references().variables() {
            let value = inputs.get(name).cloned().unwrap_or(Value::Null);
            context
                .add_variable(name, value)
                .map_err(|e| ConditionError::Evaluation(e.to_string()))?;
        }
        let result = self
            .program
            .execute(&context)
            .map_err(|e| ConditionError::Evaluation(e.to_string()))?;
        let shown = to_json(&result);
        let branch = if self.cases.is_empty() {
            match result {
                CelValue::Bool(b) => b.to_string(),
                _ => return Err(ConditionError::NotBoolean(shown.to_string())),
            }
        } else {
            let key = match &shown {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if self.cases.contains(&key) {
                key
            } else if self.cases.iter().any(|c| c == DEFAULT_CASE) {
                DEFAULT_CASE.to_owned()
            } else {
                return Err(ConditionError::NoCase {
                    value: shown.to_string(),
                    cases: self.cases.join(", "),
                });
            }
        };
        Ok(Decision {
            branch,
            result: shown,
        })
    }
}

/// A CEL value as JSON, for display and for matching cases.
fn to_json(value: &CelValue) -> Value {
    match value {
        CelValue::Null => Value::Null,
        CelValue::Bool(b) => Value::Bool(*b),
        CelValue::Int(i) => Value::from(*i),
        CelValue::UInt(u) => Value::from(*u),
        CelValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        CelValue::String(s) => Value::String(s.to_string()),
        CelValue::List(items) => Value::Array(items.iter().map(to_json).collect()),
        CelValue::Map(map) => Value::Object(
            map.map
                .iter()
                .map(|(k, v)| (key_string(k), to_json(v)))
                .collect(),
        ),
        other => Value::String(format!("{other:?}")),
    }
}

fn key_string(key: &cel::objects::Key) -> String {
    match key {
        cel::objects::Key::String(s) => s.to_string(),
        cel::objects::Key::Int(i) => i.to_string(),
        cel::objects::Key::Uint(u) => u.to_string(),
        cel::objects::Key::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn inputs(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_yes_no_condition_takes_true_or_false() {
        let c = Condition::compile("row.amount > 1000", &names(&["row"]), &[]).unwrap();
        let high = c
            .evaluate(&inputs(json!({"row": {"amount": 1500}})))
            .unwrap();
        assert_eq!(high.branch, "true");
        assert_eq!(high.result, json!(true));
        let low = c.evaluate(&inputs(json!({"row": {"amount": 20}}))).unwrap();
        assert_eq!(low.branch, "false");
    }

    #[test]
    fn a_switch_node_maps_the_value_to_its_case_port() {
        let cases = vec![
            ("case1".to_owned(), "eu".to_owned()),
            ("case2".to_owned(), "us".to_owned()),
        ];
        let inputs = names(&["value"]);
        let run = |region: &str| {
            let mut m = Map::new();
            m.insert("value".into(), serde_json::json!({"region": region}));
            switch_port("value.region", &inputs, &cases, &m).unwrap()
        };
        assert_eq!(run("us").0, "case2");
        assert_eq!(run("eu").0, "case1");
        assert_eq!(
            run("apac"),
            ("default".to_owned(), Value::String("apac".into()))
        );
    }

    #[test]
    fn a_switch_matches_cases_and_falls_back_to_default() {
        let cases = vec!["eu".to_owned(), "us".to_owned(), DEFAULT_CASE.to_owned()];
        let c = Condition::compile("region", &names(&["region"]), &cases).unwrap();
        assert_eq!(
            c.evaluate(&inputs(json!({"region": "us"}))).unwrap().branch,
            "us"
        );
        assert_eq!(
            c.evaluate(&inputs(json!({"region": "apac"})))
                .unwrap()
                .branch,
            DEFAULT_CASE
        );
        let strict =
            Condition::compile("size(items)", &names(&["items"]), &["1".into(), "2".into()])
                .unwrap();
        assert_eq!(
            strict
                .evaluate(&inputs(json!({"items": [7, 8]})))
                .unwrap()
                .branch,
            "2"
        );
        assert!(matches!(
            strict.evaluate(&inputs(json!({"items": []}))),
            Err(ConditionError::NoCase { .. })
        ));
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        let known = names(&["row"]);
        assert_eq!(
            Condition::compile("  ", &known, &[]).unwrap_err(),
            ConditionError::Empty
        );
        assert!(matches!(
            Condition::compile("row.amount >", &known, &[]),
            Err(ConditionError::Syntax(_))
        ));
        assert!(matches!(
            Condition::compile("amount > 3", &known, &[]),
            Err(ConditionError::UnknownInput { name, .. }) if name == "amount"
        ));
        let long = format!("row.a == '{}'", "x".repeat(MAX_EXPRESSION_BYTES));
        assert_eq!(
            Condition::compile(&long, &known, &[]).unwrap_err(),
            ConditionError::TooLong
        );
    }

    #[test]
    fn evaluation_errors_and_non_booleans_fail_the_node() {
        let c = Condition::compile("row.amount", &names(&["row"]), &[]).unwrap();
        assert!(matches!(
            c.evaluate(&inputs(json!({"row": {"amount": 5}}))),
            Err(ConditionError::NotBoolean(v)) if v == "5"
        ));
        assert!(matches!(
            c.evaluate(&inputs(json!({"row": {}}))),
            Err(ConditionError::Evaluation(_))
        ));
        let div = Condition::compile("row / 0 > 1", &names(&["row"]), &[]).unwrap();
        assert!(div.evaluate(&inputs(json!({"row": 4}))).is_err());
    }
}
