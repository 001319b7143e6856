//! The dialogs of batch upload: View details (the Create account fields of one row, the same
//! rules, Save) and the confirmation before Reset. Both are real modal `<dialog>`s: focus
//! moves in, stays in, and goes back to where it came from on close.

use leptos::html::Dialog;
use leptos::prelude::*;

use crate::batch::browser;
use crate::batch::model::{field_label, RowState};
use crate::batch::Batch;
use crate::components::{open_modal, FormState};
use crate::domain::{NewAccount, SeedRequired};
use crate::pages::invite_forms::{check_account, raw_account, AccountFields};

#[component]
pub fn DetailsDialog(pos: usize) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let dialog = NodeRef::<Dialog>::new();
    open_modal(dialog);
    let row = batch.rows.with_untracked(|r| r.get(pos).cloned());
    let Some(row) = row else {
        batch.editing.set(None);
        return ().into_any();
    };
    let form = FormState::new(check_account);
    for (name, value) in [
        ("email", &row.raw.email),
        ("username", &row.raw.username),
        ("first_name", &row.raw.first_name),
        ("last_name", &row.raw.last_name),
        ("contact_number", &row.raw.contact_number),
        ("organisation", &row.raw.organisation),
        ("department", &row.raw.department),
        ("reason", &row.raw.reason),
    ] {
        form.set(name, value.clone());
    }
    // "Yes", "TRUE", "y" from a spreadsheet show as the radio button they mean.
    let seed = SeedRequired::parse(&row.raw.seed_required)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| row.raw.seed_required.clone());
    form.set("seed_required", seed);
    // What is known against the row shows on its fields from the start.
    let shown: Vec<_> = row.all_problems().cloned().collect();
    let other: Vec<String> = shown
        .iter()
        .filter(|p| !crate::domain::RawAccount::FIELDS.contains(&p.field.as_str()))
        .map(|p| p.message.clone())
        .collect();
    form.show_server_errors(&crate::error::AppError::Validation { fields: shown });
    let invited = row.state == RowState::Invited;
    let line = row.line;
    let close = move || {
        if let Some(el) = dialog.get_untracked() {
            el.close();
        }
        batch.editing.set(None);
        browser::focus(&format!("row-actions-{pos}"));
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let raw = form.with_values(raw_account);
        match NewAccount::parse(&raw) {
            Ok(_) => {
                batch.save(pos, raw);
                close();
            }
            Err(fields) => {
                form.show_server_errors(&crate::error::AppError::Validation { fields });
                browser::focus("details-errors");
            }
        }
    };
    let on_cancel = move |ev: leptos::ev::Event| {
        // Escape: close our way, so the row list and focus stay in step.
        ev.prevent_default();
        close();
    };
    let errors = form.errors_list(&crate::domain::RawAccount::FIELDS);
    view! {
        <dialog class="dialog" node_ref=dialog aria-labelledby="details-title" on:cancel=on_cancel>
            <form class="dialog__body" on:submit=save novalidate>
                <h2 id="details-title">{format!("Row {line}: user details")}</h2>
                {(!other.is_empty())
                    .then(|| {
                        view! {
                            <div class="notice notice--error">
                                {other.into_iter().map(|m| view! { <p>{m}</p> }).collect_view()}
                            </div>
                        }
                    })}
                <div id="details-errors" tabindex="-1" role="alert" class="error-summary" hidden=move || errors.with(Vec::is_empty)>
                    <h3 class="error-summary__title">"There is a problem"</h3>
                    <ul class="error-summary__list">
                        {move || {
                            errors
                                .get()
                                .into_iter()
                                .map(|(field, message)| {
                                    let href = format!("#{field}");
                                    view! {
                                        <li>
                                            <a href=href>{format!("{}: {message}", field_label(&field))}</a>
                                        </li>
                                    }
                                })
                                .collect_view()
                        }}
                    </ul>
                </div>
                {if invited {
                    view! {
                        <p>"This user has been invited; their details can no longer be changed here."</p>
                        <ReadOnly form/>
                    }
                        .into_any()
                } else {
                    view! { <AccountFields form/> }.into_any()
                }}
                <div class="dialog__actions">
                    {(!invited).then(|| view! { <button type="submit" class="button">"Save"</button> })}
                    <button type="button" class="button button--secondary" on:click=move |_| close()>
                        {if invited { "Close" } else { "Cancel" }}
                    </button>
                </div>
            </form>
        </dialog>
    }
    .into_any()
}

/// An invited row's values, not editable.
#[component]
fn ReadOnly(form: FormState) -> impl IntoView {
    let shown = [
        ("email", "Email address"),
        ("username", "TechPass username"),
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("contact_number", "Contact number"),
        ("organisation", "Organisation"),
        ("department", "Department"),
        ("seed_required", "Is onboarding to SEED required?"),
        ("reason", "Reason"),
    ];
    view! {
        <dl class="summary-list">
            {shown
                .into_iter()
                .map(|(name, label)| {
                    view! {
                        <dt>{label}</dt>
                        <dd>{form.value(name)}</dd>
                    }
                })
                .collect_view()}
        </dl>
    }
}
