//! Pages under load: many at once, and browsers that stop waiting half-way (the officer
//! clicks elsewhere before the page arrived). Every page that is waited for arrives whole, and
//! the server never panics. (On the server the layout may render a page twice, once before
//! the session is known, and leptos drops the first copy while its closures can still be
//! read; pages read their signals with `try_` where that can happen.)
//! In a test binary of its own: the panic hook it counts with is the whole process's.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use support::{signed_in_with, Backend};

static PANICS: AtomicUsize = AtomicUsize::new(0);

const PATHS: [&str; 9] = [
    "/",
    "/invite-users",
    "/invite-users/create",
    "/invite-users/email",
    "/invite-users/batch",
    "/invite-users/status",
    "/sign-in",
    "/invitations/accept?token=abc",
    "/no-such-page",
];

both_databases!(pages_at_once_and_pages_left_half_way, |b| async move {
    // 120 loads of the invitation link from one address is past its rate limit (30, then
    // one a second): lifted here, where the pages themselves are under test.
    let app = signed_in_with(
        b,
        &[("RATE_LIMIT_LINKS", "100000/1ms")],
        "boss@agency.gov.sg",
    )
    .await;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The server's threads, not a test's own failing assertion.
        let thread = std::thread::current();
        if !thread
            .name()
            .unwrap_or_default()
            .starts_with("pages_at_once")
        {
            PANICS.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    let before = PANICS.load(Ordering::SeqCst);
    let requests = PATHS
        .iter()
        .flat_map(|path| (0..120u64).map(move |i| (*path, i)));
    let answers: Vec<(&str, bool, Option<u16>)> = futures::stream::iter(requests)
        .map(|(path, i)| {
            let app = &app;
            async move {
                let mut req = app.client.get(app.url(path));
                // Every other browser gives up after 0.1 to 3 ms: somewhere between asking
                // and the last byte. The others wait for the whole page.
                let gives_up = i % 2 == 1;
                if gives_up {
                    req = req.timeout(Duration::from_micros(100 + (i % 30) * 100));
                }
                let whole = match req.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let body = res.text().await;
                        body.ok().filter(|b| b.contains("</html>")).map(|_| status)
                    }
                    Err(_) => None,
                };
                (path, gives_up, whole)
            }
        })
        .buffer_unordered(6)
        .collect()
        .await;
    // The render tasks of the abandoned pages finish on their own.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let failed: Vec<_> = answers
        .iter()
        .filter(|(path, gives_up, status)| {
            let expected = if *path == "/no-such-page" { 404 } else { 200 };
            !gives_up && *status != Some(expected)
        })
        .collect();
    let panics = PANICS.load(Ordering::SeqCst) - before;
    println!(
        "{} pages asked for, {} of them waited for; {} not whole or not as expected; {panics} panics",
        answers.len(),
        answers.len() / 2,
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "pages that did not arrive whole: {failed:?}"
    );
    assert_eq!(panics, 0, "the server panicked while serving pages");
});
