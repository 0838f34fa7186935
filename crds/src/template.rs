//! Node templates: the admin-curated library entries a workflow node points at.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::PortType;
use crate::validate::FieldError;

/// Whether `run` is a plain function or a coroutine run under asyncio.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionMode {
    #[default]
    Sync,
    Async,
}

/// How much a node's code is trusted. `restricted` nodes get no network, an
/// import allow-list and a filesystem limited to their temp dir.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TrustLevel {
    #[default]
    Restricted,
    Trusted,
}

impl TrustLevel {
    /// Every trust level.
    pub const ALL: [Self; 2] = [Self::Restricted, Self::Trusted];

    /// The serialized name, also the runner's `--trust` value and the Pod label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restricted => "restricted",
            Self::Trusted => "trusted",
        }
    }
}

/// A dotted Python module name (`json`, `os.path`), as the OpenAPI document
/// states it for the module lists.
#[derive(utoipa::ToSchema)]
#[schema(pattern = r"^\s*[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\s*$")]
#[allow(dead_code)]
pub struct ModuleName(String);

/// The import policy for `restricted` nodes, frozen into each run: modules a
/// node may import (allow) and may never import (block). Block wins over allow.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModuleSettings {
    /// Modules restricted nodes may import.
    #[schema(value_type = Vec<ModuleName>, max_items = 1000)]
    pub allow: Vec<String>,
    /// Modules restricted nodes may never import.
    #[schema(value_type = Vec<ModuleName>, max_items = 1000)]
    pub block: Vec<String>,
}

/// An input or output port of a node template.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub port_type: PortType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: String,
    /// Value used when an input is neither connected nor set on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::resources::json_value_schema")]
    pub default: Option<Value>,
}

/// The widget and value shape of a template parameter.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    Text,
    Textarea,
    Number,
    Boolean,
    Select,
    Multiselect,
    File,
    Secret,
}

/// A parameter a node template takes (configured per node in the editor).
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    #[serde(default)]
    pub label: String,
    pub kind: ParamKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::resources::json_value_schema")]
    pub default: Option<Value>,
    #[serde(default)]
    pub required: bool,
    /// Allowed values of `select` and `multiselect` parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default)]
    pub help: String,
}

/// Resource limits of one node execution.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    pub timeout_seconds: u32,
    pub memory_mib: u32,
    pub cpu_millicores: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout_seconds: 300,
            memory_mib: 512,
            cpu_millicores: 1000,
        }
    }
}

/// Upper bounds for every limit, set by the operator of the installation.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct LimitMaxima {
    pub timeout_seconds: u32,
    pub memory_mib: u32,
    pub cpu_millicores: u32,
}

impl Default for LimitMaxima {
    fn default() -> Self {
        Self {
            timeout_seconds: 3600,
            memory_mib: 4096,
            cpu_millicores: 4000,
        }
    }
}

/// How often a failed node is tried again and how long to wait in between.
#[derive(
    Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrySpec {
    pub max_attempts: u32,
    #[serde(default)]
    pub backoff_seconds: u32,
    #[serde(default = "default_multiplier")]
    pub backoff_multiplier: f64,
}

fn default_multiplier() -> f64 {
    2.0
}

impl Default for RetrySpec {
    fn default() -> Self {
        Self {
            max_attempts: 1,
            backoff_seconds: 0,
            backoff_multiplier: 2.0,
        }
    }
}

/// The validated, versioned content of a node template.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateSpec {
    #[schema(max_length = 100, pattern = r"^[a-z][a-z0-9_.-]*$")]
    pub name: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub category: String,
    pub code: String,
    #[serde(default)]
    pub execution_mode: ExecutionMode,
    #[serde(default)]
    pub inputs: Vec<PortSpec>,
    #[serde(default)]
    pub outputs: Vec<PortSpec>,
    #[serde(default)]
    pub parameters: Vec<ParamSpec>,
    #[serde(default)]
    pub trust_level: TrustLevel,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub retry: RetrySpec,
    /// Container image for this template's node Pods in `kubernetes` mode
    /// (must be on the administrator's allow-list); unset means the node
    /// runtime image. The local executor ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 255, pattern = r"^[a-z0-9][a-z0-9./:@_-]*$")]
    pub image: Option<String>,
    /// Set only on the platform's own `flow.` templates, which the executors
    /// run in-process; refused in templates an administrator saves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<crate::builtin::BuiltinKind>,
}

pub const MAX_RETRY_ATTEMPTS: u32 = 10;

/// A plausible container image reference (`registry/name:tag` or `@sha256:`):
/// checked here so a typo is refused on save rather than when a Pod fails to pull.
pub fn is_image_reference(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'.' | b'/' | b':' | b'@' | b'_' | b'-')
        })
}

/// Template and port names: identifiers that are safe in Python, URLs and labels.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

/// Template names additionally allow `-` and `.` (`text.upper`, `csv-read`).
pub fn is_template_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c))
        && s.len() <= 100
}

impl TemplateSpec {
    /// Every problem with the template at once, as field paths an editor can show.
    pub fn validate(&self, maxima: &LimitMaxima) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if !is_template_name(&self.name) {
            errs.push(FieldError::new(
                "name",
                "must start with a lowercase letter and contain only a-z, 0-9, '_', '-', '.' (at most 100)",
            ));
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            errs.push(FieldError::new("title", "must be 1 to 200 characters"));
        }
        if self.category.chars().count() > 100 {
            errs.push(FieldError::new(
                "category",
                "must be at most 100 characters",
            ));
        }
        if self.builtin.is_some() {
            // Executed by the platform: there is no code to check.
        } else if self.code.trim().is_empty() {
            errs.push(FieldError::new(
                "code",
                "must define run(inputs, params, ctx)",
            ));
        } else if !defines_run(&self.code, self.execution_mode) {
            let want = match self.execution_mode {
                ExecutionMode::Sync => "def run(inputs, params, ctx)",
                ExecutionMode::Async => "async def run(inputs, params, ctx)",
            };
            errs.push(FieldError::new(
                "code",
                format!("must define `{want}` at top level for this execution mode"),
            ));
        }
        if let Some(image) = &self.image {
            if !is_image_reference(image) {
                errs.push(FieldError::new(
                    "image",
                    "must be a container image reference such as registry.example/nodes/pandas:1",
                ));
            }
        }
        validate_ports("inputs", &self.inputs, &mut errs);
        validate_ports("outputs", &self.outputs, &mut errs);
        for (i, p) in self.outputs.iter().enumerate() {
            if p.default.is_some() {
                errs.push(FieldError::new(
                    format!("outputs[{i}].default"),
                    "outputs cannot have a default",
                ));
            }
        }
        validate_params(&self.parameters, &mut errs);
        validate_limits("limits", &self.limits, maxima, &mut errs);
        if self.retry.max_attempts == 0 || self.retry.max_attempts > MAX_RETRY_ATTEMPTS {
            errs.push(FieldError::new(
                "retry.maxAttempts",
                format!("must be between 1 and {MAX_RETRY_ATTEMPTS}"),
            ));
        }
        if self.retry.backoff_seconds > 3600 {
            errs.push(FieldError::new(
                "retry.backoffSeconds",
                "must be at most 3600",
            ));
        }
        if !(1.0..=10.0).contains(&self.retry.backoff_multiplier) {
            errs.push(FieldError::new(
                "retry.backoffMultiplier",
                "must be between 1 and 10",
            ));
        }
        errs
    }

    pub fn input(&self, name: &str) -> Option<&PortSpec> {
        self.inputs.iter().find(|p| p.name == name)
    }

    pub fn output(&self, name: &str) -> Option<&PortSpec> {
        self.outputs.iter().find(|p| p.name == name)
    }

    pub fn parameter(&self, name: &str) -> Option<&ParamSpec> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

/// A cheap syntactic check; the runner reports real syntax errors when the node runs.
fn defines_run(code: &str, mode: ExecutionMode) -> bool {
    code.lines().any(|l| match mode {
        ExecutionMode::Sync => l.starts_with("def run("),
        ExecutionMode::Async => l.starts_with("async def run("),
    })
}

fn validate_ports(field: &str, ports: &[PortSpec], errs: &mut Vec<FieldError>) {
    let mut seen = HashSet::new();
    if ports.len() > 64 {
        errs.push(FieldError::new(field, "at most 64 ports"));
    }
    for (i, p) in ports.iter().enumerate() {
        if !is_identifier(&p.name) {
            errs.push(FieldError::new(
                format!("{field}[{i}].name"),
                "must be an identifier (letters, digits, '_', not starting with a digit)",
            ));
        }
        if !seen.insert(p.name.as_str()) {
            errs.push(FieldError::new(
                format!("{field}[{i}].name"),
                format!("duplicate port name '{}'", p.name),
            ));
        }
        if let Some(d) = &p.default {
            if !p.port_type.accepts(d) || matches!(p.port_type, PortType::File | PortType::Binary) {
                errs.push(FieldError::new(
                    format!("{field}[{i}].default"),
                    format!("default is not a valid {}", p.port_type.as_str()),
                ));
            }
        }
        if p.description.chars().count() > 1000 {
            errs.push(FieldError::new(
                format!("{field}[{i}].description"),
                "must be at most 1000 characters",
            ));
        }
    }
}

fn validate_params(params: &[ParamSpec], errs: &mut Vec<FieldError>) {
    let mut seen = HashSet::new();
    for (i, p) in params.iter().enumerate() {
        let at = |f: &str| format!("parameters[{i}].{f}");
        if !is_identifier(&p.name) {
            errs.push(FieldError::new(at("name"), "must be an identifier"));
        }
        if !seen.insert(p.name.as_str()) {
            errs.push(FieldError::new(
                at("name"),
                format!("duplicate parameter name '{}'", p.name),
            ));
        }
        let has_options = matches!(p.kind, ParamKind::Select | ParamKind::Multiselect);
        if has_options && p.options.is_empty() {
            errs.push(FieldError::new(
                at("options"),
                "select parameters need options",
            ));
        }
        if !has_options && !p.options.is_empty() {
            errs.push(FieldError::new(
                at("options"),
                "only select parameters take options",
            ));
        }
        let opt_set: HashSet<&str> = p.options.iter().map(String::as_str).collect();
        if opt_set.len() != p.options.len() {
            errs.push(FieldError::new(at("options"), "options must be unique"));
        }
        if (p.min.is_some() || p.max.is_some()) && p.kind != ParamKind::Number {
            errs.push(FieldError::new(
                at("min"),
                "only number parameters take bounds",
            ));
        }
        if let (Some(lo), Some(hi)) = (p.min, p.max) {
            if lo > hi {
                errs.push(FieldError::new(at("min"), "min must not exceed max"));
            }
        }
        if p.kind == ParamKind::Secret && p.default.is_some() {
            errs.push(FieldError::new(
                at("default"),
                "secrets cannot have a default",
            ));
        } else if let Some(d) = &p.default {
            if let Err(msg) = check_param_value(p, d) {
                errs.push(FieldError::new(at("default"), msg));
            }
        }
    }
}

/// Whether `v` is an acceptable value for parameter `p` (used for defaults and node values).
/// What the API shows instead of a stored secret, and what a client sends
/// back to keep it: `{"set": true}`.
pub fn is_secret_placeholder(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.get("set") == Some(&Value::Bool(true)))
}

/// The placeholder for a stored secret value.
pub fn secret_placeholder() -> Value {
    serde_json::json!({"set": true})
}

pub fn check_param_value(p: &ParamSpec, v: &Value) -> Result<(), String> {
    match p.kind {
        ParamKind::Secret => {
            if !v.is_string() && !is_secret_placeholder(v) {
                return Err(
                    "must be a string (or {\"set\": true} to keep the stored value)".into(),
                );
            }
        }
        ParamKind::Text | ParamKind::Textarea | ParamKind::File => {
            if !v.is_string() {
                return Err("must be a string".into());
            }
        }
        ParamKind::Boolean => {
            if !v.is_boolean() {
                return Err("must be true or false".into());
            }
        }
        ParamKind::Number => {
            let Some(n) = v.as_f64() else {
                return Err("must be a number".into());
            };
            if p.min.is_some_and(|lo| n < lo) || p.max.is_some_and(|hi| n > hi) {
                return Err(format!(
                    "must be between {} and {}",
                    p.min.map_or("-inf".into(), |x| x.to_string()),
                    p.max.map_or("inf".into(), |x| x.to_string())
                ));
            }
        }
        ParamKind::Select => match v.as_str() {
            Some(s) if p.options.iter().any(|o| o == s) => {}
            _ => return Err(format!("must be one of: {}", p.options.join(", "))),
        },
        ParamKind::Multiselect => {
            let ok = v.as_array().is_some_and(|items| {
                items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| p.options.iter().any(|o| o == s)))
            });
            if !ok {
                return Err(format!("must be a list of: {}", p.options.join(", ")));
            }
        }
    }
    Ok(())
}

pub fn validate_limits(field: &str, l: &Limits, maxima: &LimitMaxima, errs: &mut Vec<FieldError>) {
    let checks = [
        ("timeoutSeconds", l.timeout_seconds, maxima.timeout_seconds),
        ("memoryMib", l.memory_mib, maxima.memory_mib),
        ("cpuMillicores", l.cpu_millicores, maxima.cpu_millicores),
    ];
    for (name, v, max) in checks {
        if v == 0 || v > max {
            errs.push(FieldError::new(
                format!("{field}.{name}"),
                format!("must be between 1 and {max}"),
            ));
        }
    }
    if l.memory_mib != 0 && l.memory_mib < 32 {
        errs.push(FieldError::new(
            format!("{field}.memoryMib"),
            "must be at least 32",
        ));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub fn upper_template() -> TemplateSpec {
        serde_json::from_value(json!({
            "name": "text.upper",
            "title": "Uppercase",
            "code": "def run(inputs, params, ctx):\n    return {'text': inputs['text'].upper()}\n",
            "inputs": [{"name": "text", "type": "string", "required": true}],
            "outputs": [{"name": "text", "type": "string"}],
            "parameters": [
                {"name": "mode", "kind": "select", "options": ["a", "b"], "default": "a"},
                {"name": "n", "kind": "number", "min": 0.0, "max": 10.0, "default": 3}
            ]
        }))
        .unwrap()
    }

    fn fields(errs: &[FieldError]) -> Vec<&str> {
        errs.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_well_formed_template_has_no_errors() {
        assert_eq!(upper_template().validate(&LimitMaxima::default()), vec![]);
    }

    #[test]
    fn unknown_port_types_and_fields_are_rejected_when_parsing() {
        let bad = json!({"name": "x", "title": "X", "code": "def run(i,p,c): pass",
            "inputs": [{"name": "a", "type": "float"}]});
        assert!(serde_json::from_value::<TemplateSpec>(bad).is_err());
        let extra = json!({"name": "x", "title": "X", "code": "def run(i,p,c): pass", "colour": 1});
        assert!(serde_json::from_value::<TemplateSpec>(extra).is_err());
    }

    #[test]
    fn duplicate_ports_and_parameters_are_reported_by_path() {
        let mut t = upper_template();
        t.inputs.push(t.inputs[0].clone());
        t.parameters.push(t.parameters[0].clone());
        let errs = t.validate(&LimitMaxima::default());
        assert_eq!(fields(&errs), vec!["inputs[1].name", "parameters[2].name"]);
    }

    #[test]
    fn bad_defaults_are_reported() {
        let mut t = upper_template();
        t.parameters[0].default = Some(json!("c"));
        t.parameters[1].default = Some(json!(11));
        t.inputs[0].default = Some(json!(5));
        let errs = t.validate(&LimitMaxima::default());
        assert_eq!(
            fields(&errs),
            vec![
                "inputs[0].default",
                "parameters[0].default",
                "parameters[1].default"
            ]
        );
    }

    #[test]
    fn limits_above_the_maxima_are_reported() {
        let mut t = upper_template();
        t.limits.timeout_seconds = 10_000;
        t.limits.memory_mib = 0;
        let errs = t.validate(&LimitMaxima::default());
        assert_eq!(
            fields(&errs),
            vec!["limits.timeoutSeconds", "limits.memoryMib"]
        );
    }

    #[test]
    fn code_must_define_run_for_its_mode() {
        let mut t = upper_template();
        t.execution_mode = ExecutionMode::Async;
        assert_eq!(fields(&t.validate(&LimitMaxima::default())), vec!["code"]);
    }

    #[test]
    fn names_must_be_identifiers() {
        let mut t = upper_template();
        t.name = "Bad Name".into();
        t.outputs[0].name = "1x".into();
        assert_eq!(
            fields(&t.validate(&LimitMaxima::default())),
            vec!["name", "outputs[0].name"]
        );
    }
}
