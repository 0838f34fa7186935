//! Value types carried on ports and their compatibility rules.

use serde::{Deserialize, Serialize};

/// The type of a value flowing through a node port.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PortType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
    Json,
    File,
    Binary,
}

/// How well an output of one type fits an input of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    Ok,
    /// Allowed, but only checked when the value arrives (json into a typed port).
    Warn,
    Incompatible,
}

impl PortType {
    pub const ALL: [PortType; 9] = [
        Self::String,
        Self::Number,
        Self::Integer,
        Self::Boolean,
        Self::Array,
        Self::Object,
        Self::Json,
        Self::File,
        Self::Binary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Array => "array",
            Self::Object => "object",
            Self::Json => "json",
            Self::File => "file",
            Self::Binary => "binary",
        }
    }

    /// Whether an output of type `self` may feed an input of type `to`.
    pub fn compatibility(self, to: PortType) -> Compatibility {
        use PortType::*;
        match (self, to) {
            (a, b) if a == b => Compatibility::Ok,
            (Integer, Number) => Compatibility::Ok,
            (_, Json) => Compatibility::Ok,
            (Json, _) => Compatibility::Warn,
            _ => Compatibility::Incompatible,
        }
    }

    /// Whether a literal JSON value (a default, a node-level input) has this type.
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match self {
            Self::String => v.is_string(),
            Self::Number => v.is_number(),
            Self::Integer => v.is_i64() || v.is_u64(),
            Self::Boolean => v.is_boolean(),
            Self::Array => v.is_array(),
            Self::Object => v.is_object(),
            Self::Json => true,
            // Files and binaries cannot be given as literals in a graph.
            Self::File | Self::Binary => matches!(v, V::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_feeds_number_but_not_the_reverse() {
        assert_eq!(
            PortType::Integer.compatibility(PortType::Number),
            Compatibility::Ok
        );
        assert_eq!(
            PortType::Number.compatibility(PortType::Integer),
            Compatibility::Incompatible
        );
    }

    #[test]
    fn anything_feeds_json_and_json_feeds_anything_with_a_warning() {
        for t in PortType::ALL {
            assert_eq!(t.compatibility(PortType::Json), Compatibility::Ok);
            if t != PortType::Json {
                assert_eq!(PortType::Json.compatibility(t), Compatibility::Warn);
            }
        }
    }

    #[test]
    fn unrelated_types_are_incompatible() {
        assert_eq!(
            PortType::String.compatibility(PortType::Integer),
            Compatibility::Incompatible
        );
        assert_eq!(
            PortType::Array.compatibility(PortType::Object),
            Compatibility::Incompatible
        );
    }

    #[test]
    fn port_type_names_round_trip_and_unknown_names_are_rejected() {
        for t in PortType::ALL {
            let s = serde_json::to_string(&t).unwrap();
            assert_eq!(s, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<PortType>(&s).unwrap(), t);
        }
        assert!(serde_json::from_str::<PortType>("\"float\"").is_err());
    }
}
