use leptos::prelude::*;

use crate::error::AppError;
use crate::url::percent_encode;

/// Used only until the session (which carries the configured address) has loaded.
pub const FALLBACK_SUPPORT_EMAIL: &str = "techbiz-support@tech.gov.sg";

/// `mailto:` link with the Trace ID in the subject and body, so support can find the log.
pub fn support_mailto(support_email: &str, trace_id: &str) -> String {
    let subject = format!("TechBiz Invite error (Trace ID {trace_id})");
    let body = format!(
        "Hello,\n\nSomething went wrong in TechBiz Invite.\n\nTrace ID: {trace_id}\n\nWhat I was doing:\n"
    );
    format!(
        "mailto:{support_email}?subject={}&body={}",
        percent_encode(&subject),
        percent_encode(&body)
    )
}

/// A notification for an error that is not about a particular field.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let support = use_context::<super::SessionContext>()
        .and_then(|s| s.support_email())
        .unwrap_or_else(|| FALLBACK_SUPPORT_EMAIL.to_string());
    let body = match &error {
        AppError::Internal { trace_id } => {
            let href = support_mailto(&support, trace_id);
            view! {
                <h2 class="notice__title">"Something went wrong"</h2>
                <p>"Your request was not completed. Try again in a few minutes."</p>
                <p>
                    "If it keeps happening, "
                    <a href=href>{format!("email {support}")}</a>
                    " and quote the Trace ID."
                </p>
                <p class="notice__trace">"Trace ID: " <code>{trace_id.clone()}</code></p>
            }
            .into_any()
        }
        other => view! {
            <h2 class="notice__title">"There is a problem"</h2>
            <p>{other.to_string()}</p>
        }
        .into_any(),
    };
    view! {
        <div class="notice notice--error" role="alert">
            {body}
        </div>
    }
}

/// The GOV.UK-style error summary: a focused alert listing each problem as a link to its field.
#[component]
pub fn ErrorSummary(error: AppError) -> impl IntoView {
    let AppError::Validation { fields } = error else {
        return view! { <ErrorNotice error/> }.into_any();
    };
    let heading = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = heading.get() {
            let _ = el.focus();
        }
    });
    view! {
        <div class="error-summary" role="alert" tabindex="-1" node_ref=heading>
            <h2 class="error-summary__title">"There is a problem"</h2>
            <ul class="error-summary__list">
                {fields
                    .into_iter()
                    .map(|f| {
                        let href = format!("#{}", f.field);
                        let field = f.field.clone();
                        view! {
                            <li>
                                <a href=href on:click=move |ev| focus_field(ev, &field)>
                                    {f.message}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </div>
    }
    .into_any()
}

/// Following an error-summary link puts the cursor in the field, not just scrolls to it.
fn focus_field(ev: leptos::ev::MouseEvent, field: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let target = document()
            .get_element_by_id(field)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(el) = target {
            ev.prevent_default();
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, field);
}

#[cfg(test)]
mod tests {
    use super::support_mailto;

    #[test]
    fn mailto_carries_the_trace_id_in_subject_and_body() {
        let href = support_mailto("help@tech.gov.sg", "t-123");
        assert!(href.starts_with("mailto:help@tech.gov.sg?subject="));
        let (subject, body) = href.split_once("&body=").expect("body");
        assert!(subject.contains("t-123"));
        assert!(body.contains("t-123"));
        assert!(!href.contains(' '), "spaces must be encoded: {href}");
    }
}
