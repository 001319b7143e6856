use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{SignIn, SignInFailure, SignInMethod};
use crate::components::{
    support_mailto, Answer, ErrorSummary, SessionContext, FALLBACK_SUPPORT_EMAIL,
};

/// Sign-in: through TechPass (the identity provider) in production, where this page is where a
/// failed sign-in lands, saying what happened; or the development form.
#[component]
pub fn SignInPage() -> impl IntoView {
    let session = SessionContext::load();
    let method = move || session.0.get().and_then(|r| r.ok()).map(|s| s.sign_in);
    view! {
        <Suspense fallback=|| ()>
            {move || match method() {
                Some(SignInMethod::Provider) => view! { <ProviderSignIn session/> }.into_any(),
                Some(_) => view! { <DevelopmentSignIn session/> }.into_any(),
                None => ().into_any(),
            }}
        </Suspense>
    }
}

/// The address that starts a sign-in at the provider and comes back to `next`.
fn login_href(next: &str) -> String {
    if next.is_empty() {
        "/auth/login".to_string()
    } else {
        format!("/auth/login?next={}", crate::url::percent_encode(next))
    }
}

/// Sign in through TechPass; after a failed attempt, what happened, the Trace ID, and Try again.
#[component]
fn ProviderSignIn(session: SessionContext) -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let failure = query
        .read_untracked()
        .get("error")
        .and_then(|code| SignInFailure::parse(&code));
    let trace = query.read_untracked().get("trace").unwrap_or_default();
    let href = login_href(&next);
    let support = session
        .support_email()
        .unwrap_or_else(|| FALLBACK_SUPPORT_EMAIL.to_string());
    match failure {
        Some(failure) => {
            let mailto = support_mailto(&support, &trace);
            view! {
                <Title text=format!("Error: {}", failure.title())/>
                <main id="main-content" class="main main--narrow sign-in">
                    <h1>{failure.title()}</h1>
                    <div class="notice notice--error" role="alert">
                        <p>{failure.message()}</p>
                        <p>
                            "If you need help, "
                            <a href=mailto>{format!("email {support}")}</a>
                            " and quote the Trace ID."
                        </p>
                        <p class="notice__trace">"Trace ID: " <code>{trace}</code></p>
                    </div>
                    <a class="button" href=href rel="external">"Try again"</a>
                </main>
            }
            .into_any()
        }
        None => view! {
            <Title text="Sign in"/>
            <main id="main-content" class="main main--narrow sign-in">
                <h1>"Sign in to TechBiz"</h1>
                <p>"Public officers and Subscription Admins sign in with their TechPass account."</p>
                <a class="button" href=href rel="external">"Sign in with TechPass"</a>
            </main>
        }
        .into_any(),
    }
}

/// Where the identity provider sends the browser after signing out.
#[component]
pub fn SignedOutPage() -> impl IntoView {
    view! {
        <Title text="You have signed out"/>
        <main id="main-content" class="main main--narrow sign-in">
            <h1>"You have signed out"</h1>
            <p>"You have signed out of TechBiz Invite and of TechPass on this browser."</p>
            <a class="button" href="/auth/login" rel="external">"Sign in again"</a>
        </main>
    }
}

/// Development sign-in: any address typed in is signed in (`SIGN_IN_MODE=dev` only).
#[component]
fn DevelopmentSignIn(session: SessionContext) -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let answer = Answer::new(action.value(), action.pending());
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || answer.err();
    let email_error = move || error().and_then(|e| e.field_message("email"));
    let title = move || {
        if error().is_some() {
            "Error: Sign in".to_string()
        } else {
            "Sign in".to_string()
        }
    };
    let disabled_notice = move || {
        session
            .0
            .get()
            .and_then(|r| r.ok())
            .filter(|s| s.sign_in != SignInMethod::Development)
            .map(|_| {
                view! {
                    <p class="notice">
                        "Development sign-in is switched off here. Sign in through TechPass."
                    </p>
                }
            })
    };
    view! {
        <Title text=title/>
        <main id="main-content" class="main main--narrow sign-in">
            <h1>"Sign in to TechBiz"</h1>
            {disabled_notice}
            {move || error().map(|error| view! { <ErrorSummary error/> })}
            <ActionForm action=action>
                <input type="hidden" name="next" value=next/>
                <div class="field" class:field--error=move || email_error().is_some()>
                    <label class="field__label" for="email">"Email address"</label>
                    <p class="field__hint" id="email-hint">
                        "Your organisation email address, for example name@agency.gov.sg"
                    </p>
                    {move || email_error().map(|m| view! {
                        <p class="field__error" id="email-error">
                            <span class="visually-hidden">"Error: "</span>{m}
                        </p>
                    })}
                    <input
                        class="input"
                        id="email"
                        name="email"
                        type="text"
                        inputmode="email"
                        autocomplete="email"
                        spellcheck="false"
                        aria-invalid=move || email_error().map(|_| "true")
                        aria-describedby=move || {
                            if email_error().is_some() { "email-hint email-error" } else { "email-hint" }
                        }
                    />
                </div>
                <button type="submit" class="button" disabled=move || answer.pending()>
                    "Sign in"
                </button>
            </ActionForm>
        </main>
    }
}
