//! A browser that stops waiting for a page (the officer clicks elsewhere before it arrived)
//! must not panic the server. Leptos drops the page's state when the browser goes; the form
//! pages read their actions' answers so that a late read finds nothing instead of panicking.
//! In a test binary of its own: the panic hook it counts with is the whole process's.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{spawn, Backend};

static PANICS: AtomicUsize = AtomicUsize::new(0);

both_databases!(
    pages_left_half_way_do_not_panic_the_server,
    |b| async move {
        let app = spawn(b).await;
        app.sign_in("boss@agency.gov.sg").await;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
        let before = PANICS.load(Ordering::SeqCst);
        let mut answered = 0;
        for path in [
            "/invite-users/create",
            "/invite-users/email",
            "/sign-in",
            "/invitations/accept?token=abc",
        ] {
            for i in 0..150u64 {
                // Gives up after 0.1 to 3 ms: somewhere between asking and the last byte.
                let res = app
                    .client
                    .get(app.url(path))
                    .timeout(Duration::from_micros(100 + (i % 30) * 100))
                    .send()
                    .await;
                if let Ok(res) = res {
                    answered += usize::from(res.bytes().await.is_ok());
                }
            }
        }
        // The render tasks of the abandoned pages finish on their own.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let full = app.get("/invite-users/create").await;
        assert_eq!(full.status(), reqwest::StatusCode::OK);
        let panics = PANICS.load(Ordering::SeqCst) - before;
        println!("{answered} of 600 pages arrived before the browser gave up; {panics} panics");
        assert_eq!(
            panics, 0,
            "the server panicked on pages the browser had left"
        );
    }
);
