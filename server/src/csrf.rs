//! Cross-site request refusal for every mutating request (server functions included: Leptos
//! has no CSRF protection of its own). Browsers say where a request comes from in
//! `Sec-Fetch-Site` (all current ones) or `Origin`; a request carrying neither is not from a
//! browser, so it cannot ride on a visitor's cookies and is let through.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if is_same_site(req.headers()) {
        next.run(req).await
    } else {
        tracing::warn!(
            origin = ?req.headers().get(header::ORIGIN),
            sec_fetch_site = ?req.headers().get("sec-fetch-site"),
            "refused a cross-site request"
        );
        let body = AppError::Forbidden {
            message: "This request came from another website and was refused. Open TechBiz Invite directly and try again.".into(),
        };
        (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
    }
}

fn is_same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let origin = origin.to_str().unwrap_or("null");
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        return authority == Some(host);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_same_site;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(is_same_site(&headers(&[("sec-fetch-site", "none")])));
        assert!(!is_same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_same_site(&headers(&[("sec-fetch-site", "same-site")])));
        // Fetch metadata wins over a matching Origin.
        assert!(!is_same_site(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://a.test"),
            ("host", "a.test"),
        ])));
    }

    #[test]
    fn origin_must_match_host() {
        assert!(is_same_site(&headers(&[
            ("origin", "http://a.test:3000"),
            ("host", "a.test:3000")
        ])));
        assert!(!is_same_site(&headers(&[
            ("origin", "http://evil.test"),
            ("host", "a.test")
        ])));
        assert!(!is_same_site(&headers(&[
            ("origin", "null"),
            ("host", "a.test")
        ])));
    }

    #[test]
    fn non_browser_requests_pass() {
        assert!(is_same_site(&headers(&[("host", "a.test")])));
    }
}
