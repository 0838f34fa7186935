//! The import vocabularies: a session's state and the apply mode.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tasks::model::UnknownName;

/// Where an import session stands. `Applied`, `Failed` and `Undone` end a
/// job; a failed apply may be started again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Uploaded; preview, mapping and dry runs happen here.
    Uploaded,
    /// Apply requested, waiting for a worker to claim it.
    Queued,
    /// A worker holds the lease and is writing in one transaction.
    Applying,
    Applied,
    /// The apply wrote nothing (`message` says why).
    Failed,
    /// The tasks the import created were deleted.
    Undone,
}

impl ImportState {
    pub const ALL: [Self; 6] = [
        Self::Uploaded,
        Self::Queued,
        Self::Applying,
        Self::Applied,
        Self::Failed,
        Self::Undone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploaded => "uploaded",
            Self::Queued => "queued",
            Self::Applying => "applying",
            Self::Applied => "applied",
            Self::Failed => "failed",
            Self::Undone => "undone",
        }
    }

    /// Whether the background job has nothing more to do.
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Queued | Self::Applying)
    }

    /// Whether the mapping may still change and an apply may start.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Uploaded | Self::Failed)
    }
}

/// What happens to invalid rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyMode {
    /// One invalid row and nothing is written.
    AllOrNothing,
    /// Valid rows are written, invalid ones skipped.
    ValidOnly,
}

impl ApplyMode {
    pub const ALL: [Self; 2] = [Self::AllOrNothing, Self::ValidOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllOrNothing => "all_or_nothing",
            Self::ValidOnly => "valid_only",
        }
    }
}

macro_rules! text_vocabulary {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        vocabulary: $what,
                        value: s.to_owned(),
                    })
            }
        }
    };
}
text_vocabulary!(ImportState, "import state");
text_vocabulary!(ApplyMode, "apply mode");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip() {
        for s in ImportState::ALL {
            assert_eq!(s.as_str().parse::<ImportState>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for m in ApplyMode::ALL {
            assert_eq!(m.as_str().parse::<ApplyMode>().unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        assert!(!ImportState::Applying.is_settled());
        assert!(ImportState::Failed.is_open());
    }
}
