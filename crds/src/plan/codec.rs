//! MySQL column codecs for the status vocabularies: a column holds the
//! vocabulary's `as_str` name, and reading an unknown name is a decode error
//! rather than a silent default.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::mysql::{MySql, MySqlTypeInfo, MySqlValueRef};
use sqlx::{Decode, Encode, Type};

use super::state::{FailurePolicy, FailureReason, NodePhase, RunPhase};

macro_rules! text_column {
    ($ty:ty) => {
        impl Type<MySql> for $ty {
            fn type_info() -> MySqlTypeInfo {
                <str as Type<MySql>>::type_info()
            }

            fn compatible(ty: &MySqlTypeInfo) -> bool {
                <str as Type<MySql>>::compatible(ty)
            }
        }

        impl Encode<'_, MySql> for $ty {
            fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'_, MySql>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, MySql> for $ty {
            fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
                let name = <&str as Decode<'r, MySql>>::decode(value)?;
                Ok(name.parse()?)
            }
        }
    };
}

text_column!(NodePhase);
text_column!(RunPhase);
text_column!(FailurePolicy);
text_column!(FailureReason);
