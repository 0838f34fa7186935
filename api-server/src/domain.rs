//! Validated request values. Handlers turn bodies into these before touching the
//! database, collecting every field error so the client sees them all at once.

use katalusis_crds::FieldError;

use crate::error::ApiError;

/// Collects field errors across several parses.
#[derive(Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

pub const USERNAME_MIN_CHARS: usize = 3;
pub const USERNAME_MAX_CHARS: usize = 64;
/// What the OpenAPI schema states (`\w` with Unicode semantics is a subset of
/// what [`username`] accepts, so a client checking it is never refused).
pub const USERNAME_PATTERN: &str = r"^[\w.-]{3,64}$";

pub fn username(field: &str, s: &str) -> Result<String, FieldError> {
    let ok = (USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&s.chars().count())
        && s.chars().all(|c| c.is_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err(FieldError::new(
            field,
            "must be 3-64 letters, digits, '.', '_' or '-'",
        ))
    }
}

pub fn email(field: &str, s: &str) -> Result<String, FieldError> {
    // Bounded as sent, in characters, as the OpenAPI schema states it.
    let ok = s.chars().count() <= 254;
    let s = s.trim();
    let ok = ok
        && !has_control_chars(s)
        && !s.contains(char::is_whitespace)
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if ok {
        Ok(s.to_lowercase())
    } else {
        Err(FieldError::new(field, "must be a valid email address"))
    }
}

/// Free text shown to people: trimmed, bounded, no control characters.
/// The bound applies to the text as sent, the minimum to what is left after
/// trimming, which is what the OpenAPI schema can state (`maxLength` and a
/// pattern that requires a non-space character).
pub fn text(field: &str, s: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.chars().count() < min || s.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_allow_unicode_letters_but_not_punctuation() {
        assert!(username("u", "zoë.müller").is_ok());
        assert!(username("u", "a' OR 1=1 --").is_err());
        assert!(username("u", "ab").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(email("e", " Ann@Example.COM ").unwrap(), "ann@example.com");
        assert!(email("e", "no-at-sign").is_err());
        assert!(email("e", "a@b@c").is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("t", "  hi  ", 1, 10).unwrap(), "hi");
        assert!(text("t", "", 1, 10).is_err());
        assert!(text("t", "a\u{0}b", 1, 10).is_err());
    }
}
