//! Security headers on every response, API and SPA alike.
//!
//! The Content-Security-Policy allows scripts only from this origin, so a
//! script injected into the page (stored XSS in a task title, a template
//! description, …) does not run: no inline script, no inline event handler,
//! no `eval`, no other origin. The Vite build has no inline script (its
//! `index.html` loads one module), so the SPA needs no exception.
//!
//! Styles are looser on purpose: CodeMirror (through `style-mod`) and the
//! dialogs' scroll lock insert `<style>` elements into the document at run
//! time, which `style-src 'self'` would block (a browser test showed the
//! editor losing its layout). `'unsafe-inline'` for styles lets CSS in, not
//! code; a per-response nonce handed to CodeMirror (`EditorView.cspNonce`)
//! would close that too. React and uPlot set styles through the CSSOM,
//! which CSP does not govern. `img-src data:` is for the inline SVG favicon.

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; \
frame-ancestors 'none'";

pub const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

/// Features the SPA never uses, switched off for it and anything it embeds.
pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), \
usb=(), serial=(), bluetooth=(), interest-cohort=()";

/// Two years, the preload list's minimum; only sent over HTTPS, where the
/// browser honours it (RFC 6797 §7.2).
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000";

fn set(router: Router, name: HeaderName, value: &'static str) -> Router {
    router.layer(SetResponseHeaderLayer::if_not_present(
        name,
        HeaderValue::from_static(value),
    ))
}

/// Adds the headers; `https` adds HSTS too.
pub fn apply(router: Router, https: bool) -> Router {
    let router = set(
        router,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    let router = set(router, header::REFERRER_POLICY, REFERRER_POLICY);
    let router = set(
        router,
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS_POLICY,
    );
    let router = set(router, header::X_FRAME_OPTIONS, "DENY");
    let router = set(router, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let router = set(
        router,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if https {
        set(
            router,
            header::STRICT_TRANSPORT_SECURITY,
            STRICT_TRANSPORT_SECURITY,
        )
    } else {
        router
    }
}
