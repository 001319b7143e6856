//! Fixing many rows outside the page: download the rows that need attention (xlsx or CSV,
//! with an Errors column), fix them in a spreadsheet, and upload the file again to merge it
//! into the list (rows matched by address replace those in the list) or to replace the list.

use leptos::html::Dialog;
use leptos::prelude::*;

use crate::batch::browser;
use crate::batch::model::{attention_table, counts, describe, group, plural, to_csv};
use crate::batch::{Batch, Incoming};
use crate::components::open_modal;

/// Why the last file was not taken.
#[component]
pub(super) fn Refusal() -> impl IntoView {
    let batch = expect_context::<Batch>();
    move || {
        batch.refusal.get().map(|(file, message)| {
            view! {
                <div class="error-summary" role="alert" tabindex="-1" id="upload-error">
                    <h3 class="error-summary__title">{format!("{file} could not be uploaded")}</h3>
                    <p>{message}</p>
                </div>
            }
        })
    }
}

/// A batch file's chooser: the file goes to the worker ([`Batch::upload`]); while a list is
/// open, it is read for a merge.
#[component]
pub(super) fn FileChooser(
    id: &'static str,
    label: &'static str,
    hint: &'static str,
) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            if let Some(file) = browser::take_file(&input) {
                batch.upload(file);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, batch);
    };
    let hint_id = format!("{id}-hint");
    view! {
        <div class="field">
            <label class="field__label" for=id>{label}</label>
            <p class="field__hint" id=hint_id.clone()>{hint}</p>
            <input
                type="file"
                id=id
                class="file-input"
                accept=".xlsx,.xlsm,.csv,.txt,.tsv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
                aria-describedby=hint_id
                disabled=move || batch.busy.get().is_some()
                on:change=on_change
            />
        </div>
    }
}

/// "report.csv" → "report - rows to fix".
fn fix_name(file_name: &str) -> String {
    let stem = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _)| stem);
    format!("{stem} - rows to fix")
}

/// The download of the rows that need attention, and the upload of a corrected file.
#[component]
pub(super) fn FixPanel(attention: Signal<usize>) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let failed = RwSignal::new(None::<String>);
    let name = move || {
        batch
            .meta
            .with_untracked(|m| m.as_ref().map(|m| fix_name(&m.file_name)))
            .unwrap_or_default()
    };
    // A download asked for while the file's rows are still arriving waits for the last of
    // them: the counts that offer it are the whole file's.
    let download_csv = move |_| {
        batch.spawn(async move {
            let Some(table) = rows_to_fix(batch).await else {
                return;
            };
            browser::download(
                &format!("{}.csv", name()),
                "text/csv;charset=utf-8",
                to_csv(&table).as_bytes(),
            );
        });
    };
    let download_xlsx = move |_| {
        batch.spawn(async move {
            let Some(table) = rows_to_fix(batch).await else {
                return;
            };
            match browser::export_xlsx(&table, "Rows to fix").await {
                Ok(bytes) => {
                    failed.set(None);
                    browser::download(
                        &format!("{}.xlsx", name()),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        &bytes,
                    );
                }
                Err(e) => {
                    leptos::logging::warn!("could not make the workbook: {e}");
                    failed.set(Some(
                        "The Excel file could not be made. Download the CSV instead.".into(),
                    ));
                }
            }
        });
    };
    view! {
        <section class="fix" aria-labelledby="fix-heading">
            <h3 id="fix-heading">"Fix rows in a spreadsheet"</h3>
            {move || {
                (attention.get() > 0)
                    .then(|| {
                        view! {
                            <p>
                                {format!(
                                    "Download the {} that {} attention, with what is wrong in an Errors column: ",
                                    plural(attention.get(), "row", "rows"),
                                    if attention.get() == 1 { "needs" } else { "need" },
                                )}
                                <button type="button" class="button button--secondary" on:click=download_xlsx>
                                    "Excel (.xlsx)"
                                </button>
                                " "
                                <button type="button" class="button button--secondary" on:click=download_csv>
                                    "CSV"
                                </button>
                            </p>
                        }
                    })
            }}
            {move || failed.get().map(|f| view! { <p class="error-message" role="alert">{f}</p> })}
            <Refusal/>
            <FileChooser
                id="batch-more"
                label="Upload a corrected file"
                hint="Its rows replace the rows of the list with the same email address, and new addresses are added; or it replaces the whole list. You choose once it is read."
            />
        </section>
    }
}

/// The rows that need attention as a table to download, once every row of the file being
/// read is in the list (`None` if the page was left meanwhile).
async fn rows_to_fix(batch: Batch) -> Option<Vec<Vec<String>>> {
    while batch.loading.try_with_untracked(Option::is_some)? {
        browser::next_task().await;
    }
    batch.rows.try_with_untracked(|rows| attention_table(rows))
}

/// Merge the file read into the list, or replace the list with it.
#[component]
pub(super) fn MergeDialog(incoming: Incoming) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let dialog = NodeRef::<Dialog>::new();
    open_modal(dialog);
    let close = move || {
        if let Some(el) = dialog.get_untracked() {
            el.close();
        }
    };
    let p = &incoming.preview;
    let mut body = format!(
        "Merge: {} with an address in the list will replace {}; {} will be added",
        plural(p.replaced.len(), "row of the file", "rows of the file"),
        if p.replaced.len() == 1 { "it" } else { "them" },
        plural(p.added, "new row", "new rows"),
    );
    if p.invited > 0 {
        body.push_str(&format!(
            "; {} already invited will be left out",
            group(p.invited)
        ));
    }
    body.push('.');
    let replace = format!(
        "Replace: the list becomes {} ({}).",
        incoming.meta.file_name,
        describe(counts(&incoming.rows))
    );
    view! {
        <dialog
            class="dialog dialog--small"
            node_ref=dialog
            aria-labelledby="merge-title"
            aria-describedby="merge-body"
            on:cancel=move |ev: leptos::ev::Event| {
                ev.prevent_default();
                close();
                batch.drop_incoming();
                browser::focus("batch-more");
            }
        >
            <div class="dialog__body">
                <h2 id="merge-title">{format!("Merge {} into the list?", incoming.meta.file_name)}</h2>
                <div id="merge-body">
                    <p>{body}</p>
                    <p>{replace}</p>
                </div>
                <div class="dialog__actions">
                    <button
                        type="button"
                        class="button"
                        autofocus
                        on:click=move |_| {
                            close();
                            batch.merge_incoming();
                        }
                    >
                        "Merge"
                    </button>
                    <button
                        type="button"
                        class="button button--secondary"
                        on:click=move |_| {
                            close();
                            batch.replace_with_incoming();
                        }
                    >
                        "Replace the list"
                    </button>
                    <button
                        type="button"
                        class="button button--secondary"
                        on:click=move |_| {
                            close();
                            batch.drop_incoming();
                            browser::focus("batch-more");
                        }
                    >
                        "Cancel"
                    </button>
                </div>
            </div>
        </dialog>
    }
}
