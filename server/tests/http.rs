//! HTTP tests: the real server on port 0, each on a fresh SQLite and PostgreSQL database.

mod support;

use reqwest::StatusCode;
use support::{spawn, spawn_with, Backend};

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

both_databases!(
    signed_out_visitors_are_sent_to_sign_in_and_back,
    |b| async move {
        let app = spawn(b).await;
        let res = app.get("/invite-users?x=1").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), "/sign-in?next=%2Finvite-users%3Fx%3D1");
        let page = app.get("/sign-in").await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.expect("body");
        assert!(html.contains("Email address") && html.contains("Sign in"));
    }
);

both_databases!(an_officer_signs_in_and_sees_the_overview, |b| async move {
    let app = spawn(b).await;
    let res = app.sign_in("Officer@Agency.gov.sg").await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("techbiz_session="))
        .expect("session cookie")
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );

    let res = app.get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-trace-id"));
    let html = res.text().await.expect("body");
    assert!(html.contains("Overview"));
    assert!(
        html.contains("Officer@agency.gov.sg"),
        "signed-in address shown"
    );
    assert!(html.contains("Invite users"));

    let html = app.get("/invite-users").await.text().await.expect("body");
    for t in [
        "Email invitation",
        "Create account",
        "Batch upload",
        "When to use",
    ] {
        assert!(html.contains(t), "missing {t}");
    }

    // The session is in the database: the audit log has the sign-in.
    let n: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in'")
        .fetch_one(app.app_state.db.pool())
        .await
        .expect("audit count");
    assert_eq!(n.0, 1);
});

both_databases!(a_vendor_is_told_why_they_cannot_invite, |b| async move {
    let app = spawn(b).await;
    app.sign_in("vendor@example.com").await;
    let res = app.get("/invite-users").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.expect("body");
    assert!(html.contains("Only public officers can invite users"));
    assert!(html.contains("vendor@example.com"));
    assert!(
        !html.contains("Batch upload"),
        "the invitation types stay hidden"
    );
});

both_databases!(a_bad_address_is_refused_naming_the_field, |b| async move {
    let app = spawn(b).await;
    let res = app.sign_in("not an address").await;
    assert!(res.status().is_client_error() || res.status().is_server_error());
    let err: app::AppError = res.json().await.expect("AppError JSON");
    let msg = err.field_message("email").expect("names the email field");
    assert!(msg.contains("space"), "{msg}");
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "still signed out"
    );
});

both_databases!(cross_site_posts_are_refused, |b| async move {
    let app = spawn(b).await;
    for (k, v) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ] {
        let res = app
            .client
            .post(app.url("/api/sign_in"))
            .header(k, v)
            .form(&[("email", "officer@agency.gov.sg")])
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{k}: {v}");
        let err: app::AppError = res.json().await.expect("AppError JSON");
        assert!(matches!(err, app::AppError::Forbidden { .. }));
    }
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
    // The same request from the app's own origin goes through.
    let res = app
        .client
        .post(app.url("/api/sign_in"))
        .header("origin", app.base.clone())
        .form(&[("email", "officer@agency.gov.sg")])
        .send()
        .await
        .expect("POST");
    assert!(!res.status().is_client_error(), "{}", res.status());
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
});

both_databases!(sign_out_ends_the_session, |b| async move {
    let app = spawn(b).await;
    app.sign_in("officer@agency.gov.sg").await;
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    let res = app
        .client
        .post(app.url("/sign-out"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/sign-in");
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
});

both_databases!(dev_sign_in_is_off_unless_configured, |b| async move {
    let app = spawn_with(b, &[("SIGN_IN_MODE", "disabled")]).await;
    let res = app.sign_in("officer@agency.gov.sg").await;
    let err: app::AppError = res.json().await.expect("AppError JSON");
    assert!(matches!(err, app::AppError::Forbidden { .. }), "{err:?}");
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
});

both_databases!(
    an_internal_error_shows_only_a_trace_id_that_is_in_the_log,
    |b| async move {
        let app = spawn(b).await;
        app.sign_in("officer@agency.gov.sg").await;
        // Break the database under the running app.
        app.app_state.db.close().await;
        let res = app.sign_in("officer@agency.gov.sg").await;
        assert!(res.status().is_server_error(), "{}", res.status());
        let header = res
            .headers()
            .get("x-trace-id")
            .and_then(|v| v.to_str().ok())
            .expect("x-trace-id")
            .to_string();
        let body = res.text().await.expect("body");
        assert!(
            !body.to_lowercase().contains("pool"),
            "no internals leak: {body}"
        );
        let err: app::AppError = serde_json::from_str(&body).expect("AppError JSON");
        assert_eq!(err.trace_id(), Some(header.as_str()));
        let log = support::logs().contents();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(&header)).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("internal error") && l.contains("closed")),
            "the detail is logged under the Trace ID: {lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("request finished")),
            "{lines:?}"
        );
    }
);

both_databases!(
    unknown_pages_are_a_clear_404_and_static_files_are_served,
    |b| async move {
        let app = spawn(b).await;
        app.sign_in("officer@agency.gov.sg").await;
        let res = app.get("/no-such-page").await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(res.text().await.expect("body").contains("Page not found"));
        let health = app.get("/healthz").await;
        assert_eq!(health.status(), StatusCode::OK);
    }
);
