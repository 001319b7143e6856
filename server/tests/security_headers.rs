//! Security headers on every kind of response, and the nonce that lets a page's own inline
//! scripts (and no others) run; the sign-out answer has the browser forget what it keeps.

use crate::support;

use reqwest::StatusCode;
use support::{header, signed_in, spawn, spawn_with, Backend};

/// Checks the headers every response must carry and returns the policy's script nonce.
fn expect_security_headers(res: &reqwest::Response, what: &str) -> String {
    let policy = header(res, "content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy header"));
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{what}: no {name} in the policy: {policy}"))
            .to_string()
    };
    let scripts = directive("script-src");
    assert!(
        !policy.contains("'unsafe-inline'"),
        "{what}: the policy allows inline scripts or styles: {policy}"
    );
    assert!(
        !policy.contains("'unsafe-eval'") && !policy.contains('*'),
        "{what}: the policy allows eval or any host: {policy}"
    );
    assert!(
        scripts.contains("'wasm-unsafe-eval'"),
        "{what}: the wasm bundle could not compile: {scripts}"
    );
    assert_eq!(
        directive("frame-ancestors"),
        "frame-ancestors 'none'",
        "{what}"
    );
    assert_eq!(directive("worker-src"), "worker-src 'self'", "{what}");
    assert_eq!(directive("object-src"), "object-src 'none'", "{what}");
    assert_eq!(
        header(res, "referrer-policy").as_deref(),
        Some("no-referrer"),
        "{what}: the sign-up link's token would leave in a Referer"
    );
    assert_eq!(
        header(res, "x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(res, "strict-transport-security"),
        None,
        "{what}: HSTS over plain http"
    );
    let nonce = scripts
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{what}: no nonce in {scripts}"))
        .to_string();
    assert!(nonce.len() >= 16, "{what}: a short nonce: {nonce}");
    nonce
}

/// Every `<script …>` tag of a page, as written.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script")
        .map(|(at, _)| {
            let end = html[at..].find('>').map_or(html.len(), |e| at + e + 1);
            &html[at..end]
        })
        .collect()
}

/// Every script of the page carries the header's nonce, and the page has inline scripts (so
/// this checks something).
fn expect_scripts_carry(html: &str, nonce: &str, what: &str) {
    let tags = script_tags(html);
    assert!(
        tags.iter().any(|t| !t.contains(" src=")),
        "{what}: no inline script found (the hydration script is one): {html}"
    );
    for tag in tags {
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "{what}: a script without the header's nonce {nonce}: {tag}"
        );
    }
}

both_databases!(
    every_response_carries_the_security_headers_and_pages_the_nonce,
    |b| async move {
        let app = spawn(b).await;

        // Pages, signed out and signed in, including one that streams resources.
        let res = app.get_expecting("/sign-in", StatusCode::OK).await;
        let nonce = expect_security_headers(&res, "sign-in page");
        expect_scripts_carry(&res.text().await.expect("body"), &nonce, "sign-in page");

        let res = app.sign_in("officer@agency.gov.sg").await;
        assert!(!res.status().is_client_error(), "{}", res.status());
        expect_security_headers(&res, "server function answer");

        let mut nonces = vec![nonce];
        for path in ["/", "/invite-users/status", "/invite-users/batch"] {
            let res = app.get(path).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let nonce = expect_security_headers(&res, path);
            expect_scripts_carry(&res.text().await.expect("body"), &nonce, path);
            nonces.push(nonce);
        }
        let fresh: std::collections::HashSet<&String> = nonces.iter().collect();
        assert_eq!(fresh.len(), nonces.len(), "a nonce repeated: {nonces:?}");

        // Another server function, a static file, a download, a 404, a redirect.
        let res = app.post("get_session", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        expect_security_headers(&res, "get_session");
        let res = app.get("/favicon.svg").await;
        expect_security_headers(&res, "static file /favicon.svg");
        let res = app
            .get_expecting("/templates/techbiz-invite-users.csv", StatusCode::OK)
            .await;
        expect_security_headers(&res, "template download");
        let res = app
            .get_expecting("/no-such-page", StatusCode::NOT_FOUND)
            .await;
        let nonce = expect_security_headers(&res, "404 page");
        expect_scripts_carry(&res.text().await.expect("body"), &nonce, "404 page");
        let res = app.another_browser().get("/invite-users").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        expect_security_headers(&res, "redirect to sign in");

        // An error answer: the database closed under the running app.
        app.app_state.db.close().await;
        let res = app.sign_in("officer@agency.gov.sg").await;
        assert!(res.status().is_server_error(), "{}", res.status());
        expect_security_headers(&res, "internal error");
    }
);

both_databases!(hsts_is_sent_only_when_the_site_is_https, |b| async move {
    // https is a real deployment: development sign-in refuses it, so production settings.
    let mut vars = support::PRODUCTION.to_vec();
    vars.push(("PUBLIC_URL", "https://invite.tech.gov.sg"));
    let app = spawn_with(b, &vars).await;
    let res = app.get_expecting("/sign-in", StatusCode::OK).await;
    let hsts = header(&res, "strict-transport-security").expect("HSTS over https");
    assert!(hsts.starts_with("max-age="), "{hsts}");
    let res = app.get("/no-such-page").await;
    assert!(header(&res, "strict-transport-security").is_some(), "404");
});

both_databases!(
    sign_out_has_the_browser_forget_what_it_keeps,
    |b| async move {
        let app = signed_in(b, "officer@agency.gov.sg").await;
        let res = app.sign_out().await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let clear = header(&res, "clear-site-data").expect("a Clear-Site-Data header");
        assert!(
            clear.split(',').any(|d| d.trim() == "\"storage\""),
            "local storage and IndexedDB (the batch list) are not cleared: {clear}"
        );
        expect_security_headers(&res, "sign-out");
    }
);
