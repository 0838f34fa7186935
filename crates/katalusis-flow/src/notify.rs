//! Notification: who hears about it, the message rendered from the node's
//! inputs, and whether a webhook URL is on the admin's allow-list.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{json, Value};

/// Longest rendered message, in characters (a chat message or a short mail).
pub const MAX_MESSAGE_CHARS: usize = 20_000;
/// Longest rendered subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 300;
/// Template steps allowed per rendering, so a loop cannot run away.
const FUEL: u64 = 50_000;

/// Why a Notification node cannot send.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotifyError {
    #[error("name at least one recipient, let the client's managers hear, or give a webhook URL")]
    Nobody,
    #[error("the {0} template cannot be rendered: {1}")]
    Template(&'static str, String),
    #[error("the {0} is longer than {1} characters once rendered")]
    TooLong(&'static str, usize),
    #[error("`{0}` is not an http(s) URL")]
    Url(String),
    #[error("`{0}` is not on the webhook allow-list (Admin → Settings)")]
    NotAllowed(String),
}

/// A Notification node's parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySpec {
    /// Usernames or emails of people to notify in-app (and by email).
    pub recipients: Vec<String>,
    pub client_managers: bool,
    /// Also send email when the server has SMTP configured.
    pub email: bool,
    pub webhook_url: Option<String>,
    pub subject: String,
    pub message: String,
}

fn names(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = v
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    out.sort_unstable_by_key(|s| s.to_lowercase());
    out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    out
}

fn text(params: &BTreeMap<String, Value>, name: &str) -> String {
    params
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

impl NotifySpec {
    pub fn from_params(params: &BTreeMap<String, Value>) -> Result<Self, NotifyError> {
        let recipients = names(params.get("recipients"));
        let client_managers = params
            .get("clientManagers")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let webhook_url =
            Some(text(params, "webhookUrl").trim().to_owned()).filter(|u| !u.is_empty());
        if recipients.is_empty() && !client_managers && webhook_url.is_none() {
            return Err(NotifyError::Nobody);
        }
        Ok(Self {
            recipients,
            client_managers,
            email: params.get("email").and_then(Value::as_bool).unwrap_or(true),
            webhook_url,
            subject: text(params, "subject"),
            message: text(params, "message"),
        })
    }
}

/// A rendered notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    /// Plain text, for the inbox, chat webhooks and the text part of email.
    pub text: String,
    /// The same message HTML-escaped, for the HTML part of email.
    pub html: String,
}

fn environment(escape: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(move |_| {
        if escape {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

fn render_one(
    env: &Environment<'_>,
    what: &'static str,
    source: &str,
    ctx: &Value,
    max: usize,
) -> Result<String, NotifyError> {
    let out = env
        .render_str(source, ctx)
        .map_err(|e| NotifyError::Template(what, e.to_string()))?;
    if out.chars().count() > max {
        return Err(NotifyError::TooLong(what, max));
    }
    Ok(out)
}

/// Renders subject and message with the node's inputs as variables
/// (`{{ value.amount }}`). The template engine has no file or network
/// access and a step budget; unknown names render empty.
pub fn render(
    spec: &NotifySpec,
    inputs: &BTreeMap<String, Value>,
) -> Result<Rendered, NotifyError> {
    let ctx = json!(inputs);
    let plain = environment(false);
    let subject = render_one(&plain, "subject", &spec.subject, &ctx, MAX_SUBJECT_CHARS)?;
    // One line: a subject with a newline would break mail headers.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = render_one(&plain, "message", &spec.message, &ctx, MAX_MESSAGE_CHARS)?;
    let html = render_one(
        &environment(true),
        "message",
        &spec.message,
        &ctx,
        MAX_MESSAGE_CHARS * 6,
    )?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

/// Renders one plain-text template over the inputs (no escaping), with the
/// same sandbox and step budget as notifications.
pub fn render_plain(
    what: &'static str,
    source: &str,
    inputs: &BTreeMap<String, Value>,
    max: usize,
) -> Result<String, NotifyError> {
    render_one(&environment(false), what, source, &json!(inputs), max)
}

/// Checks `url` against the allow-list: an entry allows URLs with the same
/// scheme, host and port whose path starts with the entry's path.
pub fn webhook_allowed(url: &str, allow_list: &[String]) -> Result<url::Url, NotifyError> {
    let parsed = url::Url::parse(url).map_err(|_| NotifyError::Url(url.to_owned()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(NotifyError::Url(url.to_owned()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(NotifyError::Url(url.to_owned()));
    }
    let allowed = allow_list.iter().any(|entry| {
        url::Url::parse(entry).is_ok_and(|e| {
            e.scheme() == parsed.scheme()
                && e.host_str() == parsed.host_str()
                && e.port_or_known_default() == parsed.port_or_known_default()
                && path_within(parsed.path(), e.path())
        })
    });
    if allowed {
        Ok(parsed)
    } else {
        Err(NotifyError::NotAllowed(url.to_owned()))
    }
}

/// Whether `path` is `prefix` or below it (by whole segments).
fn path_within(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The JSON a chat webhook receives: `text` is what Slack and Teams
/// incoming webhooks show; the rest is for other receivers.
pub fn webhook_payload(r: &Rendered, run_id: u64, node: &str) -> Value {
    let text = if r.subject.is_empty() {
        r.text.clone()
    } else if r.text.is_empty() {
        r.subject.clone()
    } else {
        format!("*{}*\n{}", r.subject, r.text)
    };
    json!({
        "text": text,
        "subject": r.subject,
        "message": r.text,
        "runId": run_id,
        "node": node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(subject: &str, message: &str) -> NotifySpec {
        NotifySpec {
            recipients: vec!["ana".into()],
            client_managers: false,
            email: true,
            webhook_url: None,
            subject: subject.into(),
            message: message.into(),
        }
    }

    fn inputs(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).expect("inputs")
    }

    #[test]
    fn templates_see_the_inputs_and_html_is_escaped_only_for_email() {
        let r = render(
            &spec(
                "Order {{ value.id }}\nurgent",
                "{{ value.customer }} owes {{ value.amount }}{% if value.amount > 1000 %} (large){% endif %}",
            ),
            &inputs(json!({"value": {"id": 7, "customer": "<b>Bob</b>", "amount": 1500}})),
        )
        .expect("rendered");
        assert_eq!(r.subject, "Order 7 urgent");
        assert_eq!(r.text, "<b>Bob</b> owes 1500 (large)");
        assert_eq!(r.html, "&lt;b&gt;Bob&lt;&#x2f;b&gt; owes 1500 (large)");
    }

    #[test]
    fn unknown_names_render_empty_and_bad_templates_say_why() {
        let r = render(&spec("{{ nothing.here }}", "x"), &inputs(json!({}))).expect("ok");
        assert_eq!(r.subject, "");
        let e = render(&spec("{% if %}", "x"), &inputs(json!({}))).unwrap_err();
        assert!(matches!(e, NotifyError::Template("subject", _)), "{e}");
    }

    #[test]
    fn a_runaway_template_is_stopped() {
        let e = render(
            &spec(
                "",
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            ),
            &inputs(json!({})),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                NotifyError::Template("message", _) | NotifyError::TooLong(..)
            ),
            "{e}"
        );
    }

    #[test]
    fn the_allow_list_matches_scheme_host_port_and_whole_path_segments() {
        let list = vec![
            "https://hooks.slack.com/services/".to_owned(),
            "http://127.0.0.1:9000/hook".to_owned(),
        ];
        assert!(webhook_allowed("https://hooks.slack.com/services/T1/B2/x", &list).is_ok());
        assert!(webhook_allowed("http://127.0.0.1:9000/hook", &list).is_ok());
        assert!(webhook_allowed("http://127.0.0.1:9000/hook/sub", &list).is_ok());
        for bad in [
            "http://hooks.slack.com/services/T1",
            "https://hooks.slack.com.evil.example/services/T1",
            "https://hooks.slack.com/other",
            "http://127.0.0.1:9001/hook",
            "http://127.0.0.1:9000/hooked",
            "https://user:pw@hooks.slack.com/services/T1",
        ] {
            assert!(webhook_allowed(bad, &list).is_err(), "{bad}");
        }
        assert_eq!(
            webhook_allowed("file:///etc/passwd", &list),
            Err(NotifyError::Url("file:///etc/passwd".into()))
        );
    }

    #[test]
    fn somebody_must_hear_about_it() {
        let none: BTreeMap<String, Value> = BTreeMap::new();
        assert_eq!(NotifySpec::from_params(&none), Err(NotifyError::Nobody));
        let hook = NotifySpec::from_params(&inputs(json!({"webhookUrl": " https://x.example/h "})))
            .expect("webhook only");
        assert_eq!(hook.webhook_url.as_deref(), Some("https://x.example/h"));
        assert!(hook.email);
    }

    #[test]
    fn the_webhook_payload_is_chat_compatible() {
        let r = Rendered {
            subject: "Hi".into(),
            text: "there".into(),
            html: String::new(),
        };
        let p = webhook_payload(&r, 4, "notify");
        assert_eq!(p["text"], "*Hi*\nthere");
        assert_eq!(p["runId"], 4);
    }
}
