//! Rate limits per client address on what can be guessed at or flooded: sign-in, the invitation
//! link (its page and its server functions) and the SEED webhook. Past the burst the answer is
//! 429 with `Retry-After` and a message a person can read; other routes are not limited, and
//! each group has a bucket of its own. The database does not matter here: SQLite only.

use crate::support;

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use support::{spawn, spawn_with, Backend, TestApp};

/// The `Retry-After` of a 429, in seconds.
fn retry_after(res: &Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a 429 has a Retry-After in seconds: {:?}", res.headers()))
}

/// Sends `send` until the first 429 (at most `max` times); returns how many went through
/// before it and the 429 itself.
async fn until_refused<F, Fut>(max: usize, mut send: F) -> (usize, Response)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    for passed in 0..max {
        let res = send().await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            return (passed, res);
        }
    }
    panic!("no 429 after {max} requests");
}

/// Sends `send` until the first 429 (at most `max` times) and checks that what went through
/// before it was the `burst`, and no more than one request for each `every` since `started`;
/// returns the 429.
async fn refused_after_burst<F, Fut>(
    started: Instant,
    burst: usize,
    every: Duration,
    max: usize,
    send: F,
) -> Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let (passed, refused) = until_refused(max, send).await;
    let refills = (started.elapsed().as_secs() / every.as_secs()) as usize + 1;
    assert!(
        (burst..=burst + refills).contains(&passed),
        "{passed} went through"
    );
    refused
}

async fn sign_in_post(app: &TestApp) -> Response {
    app.sign_in("officer@agency.gov.sg").await
}

async fn open_invitation(app: &TestApp) -> Response {
    app.post("open_invitation", &[("token", "no-such-token")])
        .await
}

async fn seed_report(app: &TestApp) -> Response {
    reqwest::Client::new()
        .post(app.url("/webhooks/seed"))
        .header("content-type", "application/json")
        .body(r#"{"reports":[]}"#)
        .send()
        .await
        .expect("POST /webhooks/seed")
}

/// A server function's 429 carries an `AppError` the page shows as it is.
async fn app_error_message(res: Response) -> String {
    let err: app::error::AppError = res.json().await.expect("a 429 from /api/ is an AppError");
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_past_the_burst_is_refused_with_retry_after_and_other_routes_are_not() {
    let app = spawn(Backend::Sqlite).await;
    let started = Instant::now();
    // Default: a burst of 10, then one every 6 s.
    let six_s = Duration::from_secs(6);
    let refused = refused_after_burst(started, 10, six_s, 40, || sign_in_post(&app)).await;
    let wait = retry_after(&refused);
    assert!((1..=7).contains(&wait), "Retry-After: {wait}");
    assert!(refused.headers().contains_key("x-trace-id"));
    let message = app_error_message(refused).await;
    assert!(
        message.contains("Too many") && message.contains(&format!("{wait} second")),
        "{message}"
    );

    // Other routes, and the other groups' buckets, are untouched.
    for _ in 0..20 {
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    }
    let page = app.get("/").await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "still signed in: the overview"
    );
    assert_ne!(
        open_invitation(&app).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_ne!(
        seed_report(&app).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitation_link_page_and_its_server_functions_share_one_limit() {
    let app = spawn(Backend::Sqlite).await;
    let started = Instant::now();
    // Default: a burst of 30, then one a second; the page and the server functions together.
    for _ in 0..10 {
        app.get_expecting("/invitations/accept?token=no-such-token", StatusCode::OK)
            .await;
    }
    let second = Duration::from_secs(1);
    let refused = refused_after_burst(started, 20, second, 60, || open_invitation(&app)).await;
    let wait = retry_after(&refused);
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    assert!(app_error_message(refused).await.contains("Too many"));
    for endpoint in ["complete_sign_up", "activate_account"] {
        let res = app.post(endpoint, &[("token", "no-such-token")]).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "{endpoint}");
    }
    let page = app
        .get_expecting(
            "/invitations/accept?token=no-such-token",
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    retry_after(&page);
    let text = page.text().await.expect("body");
    assert!(
        text.starts_with("Too many"),
        "plain text for a page: {text}"
    );

    // Sign-in has a bucket of its own; the sign-in page is not limited.
    assert_eq!(app.get("/sign-in").await.status(), StatusCode::OK);
    assert_ne!(
        sign_in_post(&app).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_webhook_past_the_burst_is_refused() {
    let app = spawn(Backend::Sqlite).await;
    // Default: a burst of 60, then one a second. Unsigned reports are refused (401) but count.
    let started = Instant::now();
    let second = Duration::from_secs(1);
    let refused = refused_after_burst(started, 60, second, 200, || seed_report(&app)).await;
    retry_after(&refused);
    let text = refused.text().await.expect("body");
    assert!(text.starts_with("Too many"), "{text}");
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_retry_after_seconds_the_client_is_let_in_again() {
    let app = spawn_with(Backend::Sqlite, &[("RATE_LIMIT_SIGN_IN", "2/2s")]).await;
    let (passed, refused) = until_refused(10, || sign_in_post(&app)).await;
    assert_eq!(passed, 2);
    let wait = retry_after(&refused);
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let res = sign_in_post(&app).await;
    assert_ne!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "Retry-After ({wait} s) was long enough"
    );
    app.get_expecting("/", StatusCode::OK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_limit_stops_start_up_naming_the_variable() {
    for var in [
        "RATE_LIMIT_SIGN_IN",
        "RATE_LIMIT_LINKS",
        "RATE_LIMIT_WEBHOOK",
    ] {
        for bad in ["10", "0/1s", "10/0s", "ten/1s", "10/1 fortnight"] {
            let err = server::config::Config::from_lookup(|k| match k {
                "SIGN_IN_MODE" => Some("dev".to_string()),
                _ => (k == var).then(|| bad.to_string()),
            })
            .expect_err(bad)
            .to_string();
            assert!(err.contains(var), "{err} should name {var}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_each_client_has_its_own_bucket_and_cannot_forge_another() {
    let app = spawn_with(
        Backend::Sqlite,
        &[("RATE_LIMIT_PROXIES", "1"), ("RATE_LIMIT_SIGN_IN", "2/1m")],
    )
    .await;
    // The proxy appends the address it saw to X-Forwarded-For.
    let sign_in_from = |forwarded_for: &'static str| {
        app.client
            .post(app.url("/api/sign_in"))
            .header("sec-fetch-site", "same-origin")
            .header("x-forwarded-for", forwarded_for)
            .form(&[("email", "officer@agency.gov.sg")])
            .send()
    };
    for _ in 0..2 {
        let res = sign_in_from("203.0.113.1").await.expect("POST");
        assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let res = sign_in_from("203.0.113.1").await.expect("POST");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // What the client itself put in the header (on the left) does not count.
    let res = sign_in_from("198.51.100.9, 203.0.113.1")
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not held back.
    let res = sign_in_from("203.0.113.1, 203.0.113.2")
        .await
        .expect("POST");
    assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}
