//! Security headers on every response: pages, server functions, static files, downloads,
//! error pages and 404s.
//!
//! The Content-Security-Policy allows scripts from this site and, inline, only those carrying
//! the request's nonce: a fresh random value per request, put in the request's extensions
//! here and given to the page render (`provide`), which writes it on the hydration script
//! and on every script that streams a resource's value. No `'unsafe-inline'` for scripts or
//! styles. `'wasm-unsafe-eval'` lets the page and the batch upload worker compile the wasm
//! bundle; the worker (`public/parse-worker.js`, a module importing `/pkg/…` and
//! `/draft-store.js`) is same-origin, so `worker-src 'self'`.

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

use app::server::settings::Settings;

/// `Clear-Site-Data`, which the sign-out answer carries.
pub const CLEAR_SITE_DATA: HeaderName = HeaderName::from_static("clear-site-data");
/// What a browser forgets at sign-out: local storage and IndexedDB (the unsubmitted batch
/// list and its journal), so the next officer on this browser finds nothing of the last one.
pub const CLEAR_AT_SIGN_OUT: &str = "\"storage\"";

/// How long a browser keeps to https once it has seen this site over https (a year).
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The header is this policy with `{nonce}`, `{connect}` and `{form}` replaced.
const POLICY: &str = "default-src 'self'; \
    script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
    style-src 'self'; \
    img-src 'self'; \
    font-src 'self'; \
    connect-src 'self'{connect}; \
    worker-src 'self'; \
    object-src 'none'; \
    base-uri 'none'; \
    form-action 'self'{form}; \
    frame-ancestors 'none'";

/// What the middleware adds besides the nonce.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    /// `Strict-Transport-Security`, only when the site is reached over https.
    hsts: bool,
    /// Under `cargo leptos watch` (`make watch`), the page's live-reload script connects to
    /// a WebSocket on another port (Leptos renders it when `LEPTOS_WATCH` is set).
    live_reload: bool,
    /// The identity provider's origin, when there is one: the sign-out form's answer
    /// redirects there to end the provider's session too, and browsers hold a form's
    /// redirects to `form-action`.
    provider: Option<std::sync::Arc<str>>,
}

impl SecurityHeaders {
    pub fn new(settings: &Settings, provider_origin: Option<String>) -> SecurityHeaders {
        SecurityHeaders {
            hsts: settings.public_url.starts_with("https://"),
            live_reload: std::env::var_os("LEPTOS_WATCH").is_some(),
            provider: provider_origin.map(Into::into),
        }
    }

    /// The policy for one response, with its nonce.
    pub fn content_security_policy(&self, nonce: &Nonce) -> String {
        let connect = if self.live_reload { " ws: wss:" } else { "" };
        let form = match &self.provider {
            Some(origin) => format!(" {origin}"),
            None => String::new(),
        };
        POLICY
            .replace("{nonce}", nonce)
            .replace("{connect}", connect)
            .replace("{form}", &form)
    }
}

/// The middleware: a fresh nonce into the request, the headers onto the response.
pub async fn add_security_headers(
    State(config): State<SecurityHeaders>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    // The nonce is URL-safe base64, so the policy is always a valid header value.
    if let Ok(policy) = HeaderValue::from_str(&config.content_security_policy(&nonce)) {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    // The sign-up link carries its token in the address: it must not leave in a Referer.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if config.hsts {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    res
}

/// A page render's context with the request's nonce added (provided last, so it replaces
/// the one leptos_axum makes up): the page's scripts carry the nonce the header allows.
pub fn with_nonce(
    context: impl Fn() + Clone + Send + Sync + 'static,
    req: &Request,
) -> impl Fn() + Clone + Send + Sync + 'static {
    let nonce = req.extensions().get::<Nonce>().cloned();
    move || {
        context();
        if let Some(nonce) = nonce.clone() {
            leptos::prelude::provide_context(nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_script_but_the_nonce() {
        let nonce = Nonce::new();
        let config = SecurityHeaders {
            hsts: false,
            live_reload: false,
            provider: None,
        };
        let policy = config.content_security_policy(&nonce);
        assert!(policy.contains(&format!("'nonce-{}'", &*nonce)), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(!policy.contains('{'), "{policy}");
        assert!(policy.contains("connect-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(policy.contains("form-action 'self';"), "{policy}");
        assert_ne!(Nonce::new(), Nonce::new(), "fresh per request");
    }

    #[test]
    fn sign_out_may_go_on_to_the_identity_provider() {
        let config = SecurityHeaders {
            hsts: false,
            live_reload: false,
            provider: Some("https://id.example.gov.sg".into()),
        };
        let policy = config.content_security_policy(&Nonce::new());
        assert!(
            policy.contains("form-action 'self' https://id.example.gov.sg;"),
            "{policy}"
        );
    }
}
