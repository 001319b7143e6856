use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use super::ErrorNotice;
use crate::api::{get_session, SessionView};
use crate::error::AppError;

/// The visitor's session, loaded once per layout mount and shared with the pages below it.
#[derive(Clone, Copy)]
pub struct SessionContext(pub Resource<Result<SessionView, AppError>>);

impl SessionContext {
    /// A blocking resource: server rendering waits for it, so status codes can still be set.
    pub fn load() -> SessionContext {
        let ctx = SessionContext(Resource::new_blocking(|| (), |_| get_session()));
        provide_context(ctx);
        ctx
    }

    pub fn support_email(&self) -> Option<String> {
        self.0
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|s| s.support_email)
    }
}

/// Sign out: the page first forgets what this browser keeps for the site (the unsubmitted
/// batch list), then sends the form; the server's answer asks the browser to clear the
/// site's storage too. Before hydration the form is sent as it is.
fn sign_out(ev: leptos::ev::SubmitEvent) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(form) = ev.target() {
            ev.prevent_default();
            js::sign_out(&form);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/sign-out.js")]
    extern "C" {
        #[wasm_bindgen(js_name = signOut)]
        pub fn sign_out(form: &JsValue);
    }
}

/// Header, sidebar and main area of every signed-in page; each page is in an [`OfficersOnly`].
/// No `Suspense` holds the `Outlet`: on the server a Suspense walks its children more than
/// once to find what they load, which would build the page below again each time, each build
/// making its own resources and fetching again; the browser would then hydrate the first
/// build's data into the last build's HTML.
#[component]
pub fn AppLayout() -> impl IntoView {
    let session = SessionContext::load();
    view! {
        <a class="skip-link" href="#main-content">"Skip to main content"</a>
        <header class="app-header">
            <a class="app-header__brand" href="/">"TechBiz"</a>
            <Suspense fallback=|| ()>
                {move || {
                    session
                        .0
                        .get()
                        .and_then(|r| r.ok())
                        .and_then(|s| s.user)
                        .map(|u| {
                            view! {
                                <div class="app-header__user">
                                    <span>"Signed in as " <strong>{u.email}</strong></span>
                                    <form method="post" action="/sign-out" on:submit=sign_out>
                                        <button type="submit" class="button button--secondary">
                                            "Sign out"
                                        </button>
                                    </form>
                                </div>
                            }
                        })
                }}
            </Suspense>
        </header>
        <div class="app-body">
            <nav class="sidebar" aria-label="Main">
                <ul>
                    <li><A href="/" exact=true>"Overview"</A></li>
                    <li><A href="/invite-users" exact=true>"Invite Users"</A></li>
                    <li><A href="/invite-users/status">"Invite user status"</A></li>
                </ul>
            </nav>
            <main id="main-content" class="main" tabindex="-1">
                <Outlet/>
            </main>
        </div>
    }
}

/// The page itself for those who may invite (public officers and Subscription Admins); for
/// anyone else, why not. The page is built once, when the session is known (a `Suspend`, not
/// a closure the server's Suspense would run again).
#[component]
pub fn OfficersOnly(children: Children) -> impl IntoView {
    let session = expect_context::<SessionContext>();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {Suspend::new(async move {
                match session.0.await {
                    Ok(SessionView { user: Some(u), .. }) if u.may_invite => children().into_any(),
                    Ok(SessionView { user: Some(u), .. }) => {
                        let reason = u.refusal.unwrap_or_default();
                        view! { <NotAnOfficer email=u.email reason/> }.into_any()
                    }
                    Ok(SessionView { user: None, .. }) => view! {
                        <h1>"Your session has ended"</h1>
                        <p><a href="/sign-in">"Sign in again"</a>" to continue."</p>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NotAnOfficer(email: String, reason: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <leptos_meta::Title text="Only public officers can invite users"/>
        <h1>"Only public officers can invite users"</h1>
        <p>"You are signed in as " <strong>{email}</strong> "."</p>
        <p>{reason}</p>
        <p>
            "If someone needs a TechPass account, ask a public officer in your agency to invite them, or "
            <a href="/sign-in">"sign in with a different account"</a> "."
        </p>
    }
}
