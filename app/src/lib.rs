//! TechBiz Invite: the pages, server functions and rules shared by the server (feature `ssr`)
//! and the browser bundle (feature `hydrate`).
//!
//! The layers, each importing only those below it: `pages/` and `components/` (the screen),
//! `api/` (the server functions the screen calls), `server/` (services and SQL, `ssr` only),
//! `wire/` (what crosses the wire), `import/` (file parsing), `domain/` (the rules, no I/O).
//! This file declares them and routes the pages; nothing imports from it but the entries.

pub mod api;
pub mod batch;
pub mod components;
pub mod domain;
pub mod error;
pub mod format;
pub mod import;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod url;
pub mod wire;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use components::{AppLayout, OfficersOnly};
use pages::{
    AcceptInvitationPage, CreateAccountPage, DevMailboxPage, EmailInvitationPage, InviteUsersPage,
    NotFoundPage, OverviewPage, SignInPage, SignedOutPage,
};

/// The batch upload's address (its route below spells it for `path!`, which takes a literal).
#[cfg(feature = "ssr")]
const BATCH_UPLOAD_PATH: &str = "/invite-users/batch";

/// Notes that the page's code failed before the page was interactive: its module or wasm did
/// not load (the hydration script's promise rejects), or it threw. Inline, ahead of that code,
/// so that it hears a failure that comes before `public/hold-submit.js` (loaded `async`), which
/// reads `pageCodeFailed` when it comes and is called through `onPageCodeFailed` after.
const PAGE_CODE_FAILURE: &str = "(function () {\
    function failed() {\
      if (document.body && document.body.dataset.hydrated === 'true') return;\
      window.pageCodeFailed = true;\
      if (window.onPageCodeFailed) window.onPageCodeFailed();\
    }\
    addEventListener('unhandledrejection', failed);\
    addEventListener('error', function (e) {\
      if (e instanceof ErrorEvent && String(e.filename).includes('/pkg/')) failed();\
    });\
  })();";

/// The HTML document around the app (rendered on the server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The batch page starts its parsing worker from its head (public/parse-warm.js), so the
    // parser compiles and warms up while the page's own code loads; the page then takes it.
    // It starts once the page's own bundle has arrived, so as not to slow its download.
    #[cfg(feature = "ssr")]
    let warm_parser = use_context::<http::request::Parts>()
        .is_some_and(|p| p.uri.path().trim_end_matches('/') == BATCH_UPLOAD_PATH)
        .then(|| {
            format!(
                "/parse-warm.js?after=/{}/{}.wasm",
                options.site_pkg_dir, options.output_name
            )
        });
    #[cfg(not(feature = "ssr"))]
    let warm_parser: Option<String> = None;
    view! {
        <!DOCTYPE html>
        <html lang="en-SG">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <script nonce=leptos::nonce::use_nonce() inner_html=PAGE_CODE_FAILURE></script>
                <HydrationScripts options/>
                <MetaTags/>
                // A form submitted before the page is interactive waits for it (see the file).
                <script async src="/hold-submit.js" nonce=leptos::nonce::use_nonce()></script>
                {warm_parser.map(|src| {
                    view! { <script type="module" src=src nonce=leptos::nonce::use_nonce()></script> }
                })}
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/techbiz-invite.css"/>
        <Title formatter=|text: String| format!("{text} – TechBiz Invite")/>
        <Router>
            <Routes fallback=|| view! { <NotFoundPage/> }>
                <Route path=path!("/sign-in") view=SignInPage/>
                <Route path=path!("/signed-out") view=SignedOutPage/>
                <Route path=path!("/invitations/accept") view=AcceptInvitationPage/>
                <Route path=path!("/dev/mailbox") view=DevMailboxPage/>
                <ParentRoute path=path!("") view=AppLayout>
                    <Route path=path!("") view=|| view! { <OfficersOnly><OverviewPage/></OfficersOnly> }/>
                    <Route path=path!("invite-users") view=|| view! { <OfficersOnly><InviteUsersPage/></OfficersOnly> }/>
                    <Route path=path!("invite-users/email") view=|| view! { <OfficersOnly><EmailInvitationPage/></OfficersOnly> }/>
                    <Route path=path!("invite-users/create") view=|| view! { <OfficersOnly><CreateAccountPage/></OfficersOnly> }/>
                    <Route path=path!("invite-users/batch") view=lazy::batch_upload()/>
                    <Route path=path!("invite-users/status") view=lazy::invite_status()/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The two heaviest pages are loaded with their route, not with every page: the page's
/// bundle is split at them (scripts/build.sh runs `wasm-split`), and a page that shows one of
/// them preloads its part. On the server they render as any route does. (The parsing
/// worker's bundle, which has neither feature, never routes: it takes the pages as they are.)
#[cfg(any(feature = "hydrate", feature = "ssr"))]
mod lazy {
    use leptos::prelude::*;
    use leptos_router::{lazy_route, ChooseView, Lazy, LazyRoute};

    use crate::components::OfficersOnly;
    use crate::pages::{BatchUploadPage, InviteStatusPage};

    pub fn batch_upload() -> impl ChooseView {
        Lazy::<BatchUploadRoute>::new()
    }

    pub fn invite_status() -> impl ChooseView {
        Lazy::<InviteStatusRoute>::new()
    }

    /// The batch upload page (its list, grid and the worker's hand-over).
    struct BatchUploadRoute;

    #[lazy_route]
    impl LazyRoute for BatchUploadRoute {
        /// Runs as the navigation starts, while the page's own code is still loading: the
        /// parsing worker and its module (in the main bundle's glue) start now, not once the
        /// page has rendered, so an officer who chooses a file the moment the page shows gets
        /// it parsed by a worker that has compiled and warmed up (the route's code loads in
        /// about as long as the parser takes to compile).
        fn data() -> Self {
            crate::batch::browser::warm_worker();
            BatchUploadRoute
        }

        fn view(_this: Self) -> AnyView {
            view! { <OfficersOnly><BatchUploadPage/></OfficersOnly> }.into_any()
        }
    }

    /// The invite user status page (its table, filters and search).
    struct InviteStatusRoute;

    #[lazy_route]
    impl LazyRoute for InviteStatusRoute {
        fn data() -> Self {
            InviteStatusRoute
        }

        fn view(_this: Self) -> AnyView {
            view! { <OfficersOnly><InviteStatusPage/></OfficersOnly> }.into_any()
        }
    }
}

#[cfg(not(any(feature = "hydrate", feature = "ssr")))]
mod lazy {
    use leptos_router::ChooseView;

    pub fn batch_upload() -> impl ChooseView {
        crate::pages::BatchUploadPage
    }

    pub fn invite_status() -> impl ChooseView {
        crate::pages::InviteStatusPage
    }
}
