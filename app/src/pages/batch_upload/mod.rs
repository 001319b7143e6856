//! Batch upload: download the template, choose a file (parsed in the browser, in a worker),
//! review and fix the list, submit it as one idempotent batch, fix what failed and submit
//! again. The unsubmitted list is kept in the browser until it is submitted or reset, for the
//! officer who uploaded it: another officer signing in on the same browser does not see it,
//! and signing out forgets it.
//!
//! This folder holds the page's components only: the page and its panels here, the table in
//! `table`, View details in `details`. The list's state, rules and browser storage are
//! `crate::batch`, whose controller ([`Batch`], shared through the context) is how these
//! components change the list and reach the server (its `api` server functions); like every
//! page, they never import the server's services.

mod details;
mod fix;
mod question;
mod table;

use leptos::prelude::*;

use crate::batch::browser;
use crate::batch::model::{counts, describe, field_label, group, plural, DraftMeta};
use crate::batch::Batch;
use crate::components::ErrorNotice;
use crate::components::{ConfirmDialog, PageHeading, SessionContext};
use details::DetailsDialog;
use fix::{FileChooser, FixPanel, MergeDialog, Refusal};
use question::QuestionPanel;
use table::{BatchTable, Grid};

/// Whose list the page shows: the signed-in officer's address in lowercase (the layout shows
/// this page only to a signed-in officer).
fn owner(session: Option<SessionContext>) -> Signal<String> {
    Signal::derive(move || {
        session
            .and_then(|s| s.0.try_get_untracked().flatten())
            .and_then(Result::ok)
            .and_then(|s| s.user)
            .map(|u| u.email.to_lowercase())
            .unwrap_or_default()
    })
}

#[component]
pub fn BatchUploadPage() -> impl IntoView {
    let batch = Batch::new(owner(use_context::<SessionContext>()));
    provide_context(batch);
    // Whether the kept list was looked for (and restored when there is one).
    let restored = RwSignal::new(false);
    // The list kept from before a refresh comes back once the page is interactive.
    Effect::new(move |_| {
        // The parsing worker, its module compiled while the officer finds the file, so a
        // chosen file is parsed at once (started already as the navigation began, unless the
        // page was loaded on its own: see `BatchUploadRoute::data`).
        browser::warm_worker();
        // A file chosen before the page was interactive (on a slow line the form shows
        // seconds before its code runs): read once the kept list has been looked for, as if
        // chosen then (merged into a restored list, if there is one, as the officer says).
        #[cfg(feature = "hydrate")]
        let early = browser::take_chosen_file("batch-file");
        #[cfg(not(feature = "hydrate"))]
        let early = None;
        batch.spawn(async move {
            batch.restore_then_upload(early).await;
            restored.set(true);
        });
    });
    // The page's own closures read with `try_`: on the server, the layout may render the page
    // twice (once before its session is known), and the first copy's closures can still be
    // read after that copy was dropped; a plain `get` would panic and fail the request.
    let refused = Signal::derive(move || batch.refusal.try_with(Option::is_some).unwrap_or(false));
    // Ctrl+Z (or ⌘Z) anywhere on the page takes back the last Remove or Reset (the listener
    // is the window's: focus may be on the page's body once a removed row has gone).
    let listener = window_event_listener(leptos::ev::keydown, move |ev| {
        if (ev.ctrl_key() || ev.meta_key()) && !ev.shift_key() && ev.key().eq_ignore_ascii_case("z")
        {
            // A text field keeps its own undo.
            let typing = ev
                .target()
                .and_then(|t| leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::Element>(t).ok())
                .is_some_and(|el| {
                    el.matches("input:not([type=file]):not([type=checkbox]):not([type=radio]), textarea, select, [contenteditable]")
                        .unwrap_or(false)
                });
            if !typing && undo(batch) {
                ev.prevent_default();
            }
        }
    });
    on_cleanup(move || listener.remove());
    // What the page's main panel shows: the question, the list or the file chooser. It is
    // drawn again only when this changes, not whenever either signal is set (a list that has
    // finished loading sets `asking` to the None it already was, which would otherwise draw
    // the whole list again, its rows included, in one long task).
    let panel = Memo::new(move |_| {
        (
            batch.asking.try_get().flatten(),
            batch.meta.try_get().flatten(),
        )
    });
    view! {
        <div class="batch-page">
        <PageHeading
            title="Batch upload"
            lead="Create TechPass accounts for many public officers and vendors at once, from a spreadsheet."
            error=refused
        />
        <div class="visually-hidden" role="status" aria-live="polite" data-restored=move || restored.try_get().unwrap_or(false).to_string()>
            {move || batch.announce.try_get().unwrap_or_default()}
        </div>
        {move || batch.failure.try_get().flatten().map(|error| view! { <ErrorNotice error/> })}
        <BusyBar/>
        <UndoNotice/>
        {move || match panel.try_get().unwrap_or_default() {
            (Some(asked), _) => view! { <QuestionPanel asked/> }.into_any(),
            (None, Some(meta)) => view! { <ListPanel meta/> }.into_any(),
            (None, None) => view! { <UploadPanel/> }.into_any(),
        }}
        {move || batch.incoming.try_get().flatten().map(|incoming| view! { <MergeDialog incoming/> })}
        {move || batch.editing.try_get().flatten().map(|pos| view! { <DetailsDialog pos/> })}
        {move || {
            batch
                .confirm_reset
                .try_get()
                .unwrap_or(false)
                .then(|| {
                    let count = batch.rows.with_untracked(|r| counts(r).users);
                    view! {
                        <ConfirmDialog
                            title="Remove all users from this list?"
                            body=format!(
                                "All {} users of this file will be removed from the list. Nothing has been sent for the rows not yet invited.",
                                group(count),
                            )
                            confirm="Confirm"
                            on_confirm=Callback::new(move |_| {
                                batch.confirm_reset.set(false);
                                batch.reset();
                                browser::focus("batch-file");
                            })
                            on_cancel=Callback::new(move |_| {
                                batch.confirm_reset.set(false);
                                browser::focus("batch-reset");
                            })
                        />
                    }
                })
        }}
        </div>
    }
}

/// Undo, then focus where the officer can carry on: the restored row's actions, or the
/// restored list.
fn undo(batch: Batch) -> bool {
    let row = batch.undoable_row();
    let list_was_gone = batch.meta.with_untracked(Option::is_none);
    if !batch.undo() {
        return false;
    }
    match row {
        Some(pos) if !list_was_gone => browser::focus(&format!("row-actions-{pos}")),
        _ => browser::focus("list-heading"),
    }
    true
}

/// "Removed row 3 (…)" or "Removed all users of …", with Undo, while it can be taken back.
#[component]
fn UndoNotice() -> impl IntoView {
    let batch = expect_context::<Batch>();
    move || {
        batch.undoable().map(|text| {
            view! {
                <div class="notice notice--undo" id="undo-notice">
                    <p class="undo__text">{text}</p>
                    <button
                        type="button"
                        class="button button--secondary"
                        aria-keyshortcuts="Control+Z"
                        on:click=move |_| {
                            undo(batch);
                        }
                    >
                        "Undo"
                    </button>
                </div>
            }
        })
    }
}

#[component]
fn BusyBar() -> impl IntoView {
    let batch = expect_context::<Batch>();
    move || {
        batch.busy.get().map(|b| {
            let text = if b.total > 0 {
                format!("{}: {} of {}", b.label, group(b.done), group(b.total))
            } else {
                format!("{}…", b.label)
            };
            let value = (b.total > 0).then(|| b.done.to_string());
            let max = (b.total > 0).then(|| b.total.to_string());
            view! {
                <div class="progress" role="status">
                    <label for="batch-progress">{text}</label>
                    <progress id="batch-progress" max=max value=value></progress>
                </div>
            }
        })
    }
}

/// Template links and the file chooser.
#[component]
fn UploadPanel() -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="template-heading">
            <h2 id="template-heading">"1. Download the template"</h2>
            <p>
                "Fill in one user per row. The "
                <strong>"Instructions"</strong>
                " sheet of the Excel template explains each column."
            </p>
            <ul class="links">
                <li>
                    <a href="/templates/techbiz-invite-users.xlsx" download>
                        "Download excel template (.xlsx)"
                    </a>
                </li>
                <li>
                    <a href="/templates/techbiz-invite-users.csv" download>
                        "Download template as CSV"
                    </a>
                </li>
            </ul>
        </section>
        <section class="panel" aria-labelledby="upload-heading">
            <h2 id="upload-heading">"2. Upload user list"</h2>
            <Refusal/>
            <FileChooser
                id="batch-file"
                label="Choose a file"
                hint="Excel workbook (.xlsx) or CSV, up to 40 MB and 100,000 users. The file is read in your browser; nothing is sent until you submit."
            />
        </section>
    }
    .into_any()
}

/// "Uploaded <file>", the counts, the notices, the table and the actions.
#[component]
fn ListPanel(meta: DraftMeta) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let only_attention = RwSignal::new(false);
    // While the rows are still arriving, the worker's counts of the whole list.
    let c = Memo::new(move |_| {
        batch
            .loading
            .get()
            .unwrap_or_else(|| batch.rows.with(|r| counts(r)))
    });
    let all_done = move || c.get().users > 0 && c.get().invited == c.get().users;
    let file_name = meta.file_name.clone();
    let grid = Grid::new();
    let another = move |_| {
        batch.reset();
        browser::focus("batch-file");
    };
    view! {
        <section class="panel" aria-labelledby="list-heading">
            <h2 id="list-heading" tabindex="-1">{format!("Uploaded {file_name}")}</h2>
            <p class="counts" aria-live="polite">{move || describe(c.get())}</p>
            <p class="hint">
                {move || {
                    let ready = c.get().ready;
                    format!("{} ready to submit", plural(ready, "user", "users"))
                }}
            </p>
            <p class="hint">{meta.format.clone()}</p>
            {(!meta.notices.is_empty())
                .then(|| {
                    view! {
                        <ul class="notices">
                            {meta.notices.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
                        </ul>
                    }
                })}
            <SubmitSummary all_done=Signal::derive(all_done)/>
            <AttentionFilter only_attention attention=Signal::derive(move || c.get().attention)/>
            <SetValue grid/>
            <BatchTable only_attention grid/>
            <FixPanel attention=Signal::derive(move || c.get().attention)/>
            <div class="actions">
                {move || {
                    if all_done() {
                        view! {
                            <button type="button" class="button" on:click=another>
                                "Upload another file"
                            </button>
                        }
                            .into_any()
                    } else {
                        view! {
                            <button
                                type="button"
                                class="button"
                                disabled=move || batch.busy.get().is_some()
                                on:click=move |_| batch.spawn(batch.submit())
                            >
                                "Submit"
                            </button>
                            <button
                                type="button"
                                class="button button--secondary"
                                id="batch-reset"
                                disabled=move || batch.busy.get().is_some()
                                on:click=move |_| batch.confirm_reset.set(true)
                            >
                                "Reset"
                            </button>
                        }
                            .into_any()
                    }
                }}
            </div>
        </section>
    }
    .into_any()
}

/// What the last Submit came to, with the way to the status page once every row is invited.
#[component]
fn SubmitSummary(all_done: Signal<bool>) -> impl IntoView {
    let batch = expect_context::<Batch>();
    move || {
        batch.summary.get().map(|s| {
            let done = all_done.get();
            view! {
                <div
                    class="notice"
                    class:notice--success=done
                    class:notice--warning=!done
                    role="status"
                >
                    <p class="notice__title">{s}</p>
                    {done
                        .then(|| {
                            view! {
                                <p>
                                    <a href="/invite-users/status">"See Invite user status"</a>
                                </p>
                            }
                        })}
                </div>
            }
        })
    }
}

/// Set a value: one column of the selected rows at once.
#[component]
fn SetValue(grid: Grid) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let field = RwSignal::new("organisation".to_string());
    let value = RwSignal::new(String::new());
    let count = move || grid.selected.with(|s| s.len());
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let selected = grid.selected.get_untracked();
        if selected.is_empty() {
            return;
        }
        batch.set_value(&selected, &field.get_untracked(), value.get_untracked());
        grid.selected.set(Default::default());
        value.set(String::new());
        browser::focus("batch-caption");
    };
    move || {
        (count() > 0).then(|| {
            view! {
                <form class="set-value" aria-labelledby="set-value-heading" on:submit=apply>
                    <p id="set-value-heading" class="set-value__count">
                        {format!("{} selected: set a value", plural(count(), "row", "rows"))}
                    </p>
                    <div class="field">
                        <label class="field__label" for="set-value-field">"Column"</label>
                        <select
                            id="set-value-field"
                            class="input"
                            on:change=move |ev| field.set(event_target_value(&ev))
                        >
                            {crate::domain::RawAccount::FIELDS
                                .iter()
                                .map(|f| {
                                    view! {
                                        <option value=*f selected=move || field.get() == *f>
                                            {field_label(f)}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label class="field__label" for="set-value-value">"Value"</label>
                        <input
                            type="text"
                            id="set-value-value"
                            class="input"
                            prop:value=move || value.get()
                            on:input=move |ev| value.set(event_target_value(&ev))
                        />
                    </div>
                    <div class="actions">
                        <button type="submit" class="button">
                            {move || format!("Set for {}", plural(count(), "row", "rows"))}
                        </button>
                        <button
                            type="button"
                            class="button button--secondary"
                            on:click=move |_| grid.selected.set(Default::default())
                        >
                            "Clear selection"
                        </button>
                    </div>
                </form>
            }
        })
    }
}

/// "Show only rows that need attention (n)".
#[component]
fn AttentionFilter(only_attention: RwSignal<bool>, attention: Signal<usize>) -> impl IntoView {
    view! {
        <div class="toolbar">
            <div class="checkbox">
                <input
                    type="checkbox"
                    id="only-attention"
                    prop:checked=move || only_attention.get()
                    on:change=move |ev| only_attention.set(event_target_checked(&ev))
                />
                <label for="only-attention">
                    {move || format!("Show only rows that need attention ({})", group(attention.get()))}
                </label>
            </div>
        </div>
    }
}
