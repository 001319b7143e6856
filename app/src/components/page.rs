//! The top of a page, and the shell of a page that is one form: the patterns every screen
//! repeats, written once so each page shows only what is its own.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;

use super::{Answer, ErrorSummary, FormState};
use crate::error::AppError;

/// A page's name, in the browser tab and as its one `<h1>`, and the lead paragraph under it.
/// While `error` holds (a failed submit, a refused file), the tab's title starts "Error: ".
#[component]
pub fn PageHeading(
    title: &'static str,
    #[prop(optional, into)] lead: Option<String>,
    #[prop(optional)] error: Signal<bool>,
) -> impl IntoView {
    // Read with `try_`: the page may be dropped while a server render still reads this.
    let tab = move || {
        if error.try_get().unwrap_or(false) {
            format!("Error: {title}")
        } else {
            title.to_string()
        }
    };
    view! {
        <Title text=tab/>
        <h1>{title}</h1>
        {lead.map(|lead| view! { <p class="lead">{lead}</p> })}
    }
}

/// What a form page shows instead of its form after a success: made from the answer and a
/// callback that brings back the empty form.
pub type Done<T> = Callback<(T, Callback<()>), AnyView>;

/// The shell of a page that is one form (the children: an `ActionForm` of `action` with the
/// fields and a [`SubmitButton`]). Under the heading, the lead and, after a failed submit, the
/// error summary, with each message the server gave shown on its field too; after a success,
/// what `done` makes of the answer, when there is a `done` (else the form stays).
#[component]
pub fn FormPage<S>(
    title: &'static str,
    #[prop(into)] lead: String,
    action: ServerAction<S>,
    form: FormState,
    #[prop(optional)] done: Option<Done<S::Output>>,
    children: ChildrenFn,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let answer = Answer::new(action.value(), action.pending());
    let error = move || answer.err();
    Effect::new(move |_| {
        if let Some(e) = error() {
            form.show_server_errors(&e);
        }
    });
    let has_error = Signal::derive(move || error().is_some());
    let the_form = move || {
        view! {
            <p class="lead">{lead.clone()}</p>
            {move || error().map(|error| view! { <ErrorSummary error/> })}
            {children()}
        }
    };
    let body = match done {
        None => the_form().into_any(),
        Some(done) => {
            let again = Callback::new(move |_| {
                form.reset();
                answer.clear();
            });
            (move || match answer.ok() {
                Some(answer) => done.run((answer, again)),
                None => the_form().into_any(),
            })
            .into_any()
        }
    };
    view! {
        <PageHeading title error=has_error/>
        {body}
    }
}

/// A form's one primary button, greyed out while `action` is on its way, and then saying
/// `busy` instead of `label` when there is a `busy`.
#[component]
pub fn SubmitButton<S>(
    action: ServerAction<S>,
    label: &'static str,
    #[prop(optional)] busy: Option<&'static str>,
) -> impl IntoView
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    // Taken now and read with `try_` (see `Answer`): the page may be gone when it is read.
    let pending = action.pending();
    let pending = move || pending.try_get().unwrap_or(false);
    let text = move || match busy {
        Some(busy) if pending() => busy,
        _ => label,
    };
    view! {
        <button type="submit" class="button" disabled=pending>
            {text}
        </button>
    }
}
