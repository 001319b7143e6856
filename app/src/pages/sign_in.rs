use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::SignIn;
use crate::components::{Answer, ErrorSummary, SessionContext};

/// Development sign-in (until the portal's identity provider is wired in).
#[component]
pub fn SignInPage() -> impl IntoView {
    let session = SessionContext::load();
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
            .filter(|s| !s.dev_sign_in)
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
            <Suspense fallback=|| ()>{disabled_notice}</Suspense>
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
