//! Batch upload: download the template, choose a file (parsed in the browser, in a worker),
//! review and fix the list, submit it as one idempotent batch, fix what failed and submit
//! again. The unsubmitted list is kept in the browser until it is submitted or reset, for the
//! officer who uploaded it: another officer signing in on the same browser does not see it,
//! and signing out forgets it.

mod browser;
mod details;
pub mod model;
mod table;

use std::collections::{BTreeSet, HashMap};

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use crate::api::batch::{precheck_batch, submit_batch};
use crate::components::ErrorNotice;
use crate::components::{ConfirmDialog, SessionContext};
use crate::domain::limits::SUBMIT_CHUNK_ROWS;
use crate::domain::{Email, FieldError};
use crate::error::AppError;
use crate::wire::{BatchOutcome, BatchRow, PrecheckRow, RowResult};
use details::DetailsDialog;
use model::{
    chunks_of, counts, describe, group, DraftMeta, DraftRow, Journal, RowState, PRECHECK_ROWS,
    SAVE_CHUNKS,
};
use table::BatchTable;

/// What the page is busy with, for the progress bar.
#[derive(Clone, Debug, PartialEq)]
struct Busy {
    label: String,
    done: usize,
    total: usize,
}

/// The page's state, shared with its parts.
#[derive(Clone, Copy)]
pub(crate) struct Batch {
    /// The signed-in officer, whose list this is (see [`Batch::owner`]).
    session: Option<SessionContext>,
    meta: RwSignal<Option<DraftMeta>>,
    rows: RwSignal<Vec<DraftRow>>,
    busy: RwSignal<Option<Busy>>,
    refusal: RwSignal<Option<(String, String)>>,
    failure: RwSignal<Option<AppError>>,
    announce: RwSignal<String>,
    summary: RwSignal<Option<String>>,
    editing: RwSignal<Option<usize>>,
    confirm_reset: RwSignal<bool>,
    /// Chunks changed since they were last stored, and whether a task is storing them.
    unsaved: StoredValue<BTreeSet<usize>>,
    saving: StoredValue<bool>,
    /// The changes IndexedDB may not have yet, also written to local storage at once.
    journal: StoredValue<Journal>,
    /// A write to IndexedDB failed since the journal was last emptied: it must stay.
    save_failed: StoredValue<bool>,
}

impl Batch {
    fn new(session: Option<SessionContext>) -> Batch {
        Batch {
            session,
            meta: RwSignal::new(None),
            rows: RwSignal::new(Vec::new()),
            busy: RwSignal::new(None),
            refusal: RwSignal::new(None),
            failure: RwSignal::new(None),
            announce: RwSignal::new(String::new()),
            summary: RwSignal::new(None),
            editing: RwSignal::new(None),
            confirm_reset: RwSignal::new(false),
            unsaved: StoredValue::new(BTreeSet::new()),
            saving: StoredValue::new(false),
            journal: StoredValue::new(Journal::default()),
            save_failed: StoredValue::new(false),
        }
    }

    /// Whose list this is: the signed-in officer's address in lowercase (the layout shows
    /// this page only to a signed-in officer).
    fn owner(self) -> String {
        self.session
            .and_then(|s| s.0.try_get_untracked().flatten())
            .and_then(Result::ok)
            .and_then(|s| s.user)
            .map(|u| u.email.to_lowercase())
            .unwrap_or_default()
    }

    /// Makes `journal` the journal, in memory and in the browser's local storage.
    fn keep_journal(self, journal: Journal) {
        self.journal.set_value(journal);
        self.journal.with_value(browser::write_journal);
    }

    /// Saves the chunks holding these rows. The rows go into the journal at once; one task
    /// at a time stores the chunks marked unsaved in IndexedDB, a few per browser task and
    /// each as it is when stored, so writes land in order and a change to every row never
    /// becomes one long task. Once every chunk is stored, the journal is emptied.
    fn persist(self, positions: BTreeSet<usize>) {
        if positions.is_empty() {
            return;
        }
        if let Some(key) = self
            .meta
            .with_untracked(|m| m.as_ref().map(|m| m.key.clone()))
        {
            self.rows.with_untracked(|rows| {
                self.journal
                    .update_value(|j| j.note(&key, rows, &positions))
            });
            self.journal.with_value(browser::write_journal);
        }
        self.unsaved
            .update_value(|u| u.extend(chunks_of(positions)));
        if self.saving.get_value() {
            return;
        }
        self.saving.set_value(true);
        spawn_local(async move {
            loop {
                let next: Vec<usize> = self
                    .unsaved
                    .try_update_value(|u| {
                        let next: Vec<usize> = u.iter().copied().take(SAVE_CHUNKS).collect();
                        for c in &next {
                            u.remove(c);
                        }
                        next
                    })
                    .unwrap_or_default();
                if next.is_empty() {
                    break;
                }
                let entries = self
                    .rows
                    .with_untracked(|r| browser::chunk_entries(r, next));
                if let Err(e) = browser::save_entries(entries).await {
                    self.save_failed.set_value(true);
                    leptos::logging::warn!("could not keep the list in this browser: {e}");
                }
            }
            self.saving.set_value(false);
            // Everything noted is in IndexedDB now (unless a write failed: then the journal
            // is the only copy of those changes, and a refresh applies it).
            if !self.save_failed.get_value() && self.journal.with_value(|j| !j.cleared) {
                self.keep_journal(Journal::default());
            }
        });
    }

    /// Removes a row (kept as a tombstone so stored chunks stay aligned).
    pub(crate) fn remove(self, pos: usize) {
        let mut changed = BTreeSet::from([pos]);
        let mut gone = String::new();
        self.rows.update(|rows| {
            if let Some(row) = rows.get_mut(pos) {
                row.state = RowState::Removed;
                gone = format!("Removed row {} ({})", row.line, row.raw.email.trim());
            }
            changed.extend(model::recheck_duplicates(rows));
        });
        self.announce.set(gone);
        self.persist(changed);
    }

    /// Saves View details: checks the row again, and asks the server about its address and
    /// username.
    pub(crate) fn save(self, pos: usize, raw: crate::domain::RawAccount) {
        let mut changed = BTreeSet::from([pos]);
        self.rows.update(|rows| {
            if let Some(row) = rows.get_mut(pos) {
                row.edit(raw);
            }
            changed.extend(model::recheck_duplicates(rows));
        });
        let line = self
            .rows
            .with_untracked(|r| r.get(pos).map(|r| r.line).unwrap_or_default());
        self.announce.set(format!("Saved row {line}"));
        self.persist(changed);
        spawn_local(async move { self.precheck(vec![pos]).await });
    }

    /// Asks the server which rows clash with existing accounts, pending invitations or taken
    /// usernames, and marks them: one call for up to [`PRECHECK_ROWS`] rows, one call per
    /// browser task for more, so no main-thread task grows with the file.
    async fn precheck(self, positions: Vec<usize>) {
        for (n, part) in positions.chunks(PRECHECK_ROWS).enumerate() {
            if n > 0 {
                browser::next_task().await;
            }
            if let Err(e) = self.precheck_part(part).await {
                self.failure.set(Some(e));
                return;
            }
        }
    }

    async fn precheck_part(self, positions: &[usize]) -> Result<(), AppError> {
        let request: Vec<PrecheckRow> = self.rows.with_untracked(|rows| {
            positions
                .iter()
                .filter_map(|&p| rows.get(p))
                .filter(|r| r.state == RowState::Ready && Email::parse(&r.raw.email).is_ok())
                .map(|r| PrecheckRow {
                    row_id: r.id.clone(),
                    email: r.raw.email.clone(),
                    username: r.raw.username.clone(),
                })
                .collect()
        });
        if request.is_empty() {
            return Ok(());
        }
        let issues = precheck_batch(request).await?;
        let mut changed = BTreeSet::new();
        self.rows.update(|rows| {
            let at: HashMap<String, usize> = positions
                .iter()
                .filter_map(|&p| Some((rows.get(p)?.id.clone(), p)))
                .collect();
            for &p in positions {
                if let Some(row) = rows.get_mut(p) {
                    if !row.server_problems.is_empty() {
                        row.server_problems.clear();
                        changed.insert(p);
                    }
                }
            }
            for issue in issues {
                if let Some(&p) = at.get(&issue.row_id) {
                    rows[p]
                        .server_problems
                        .push(FieldError::new(&issue.field, issue.message));
                    changed.insert(p);
                }
            }
        });
        self.persist(changed);
        Ok(())
    }

    /// Submits every row that has no known problem, in chunks under the list's key; marks
    /// each row with the server's answer.
    async fn submit(self) {
        let Some(meta) = self.meta.get_untracked() else {
            return;
        };
        self.failure.set(None);
        self.summary.set(None);
        let ready = |rows: &Vec<DraftRow>| -> Vec<usize> {
            (0..rows.len())
                .filter(|&i| rows[i].is_submittable())
                .collect()
        };
        let candidates = self.rows.with_untracked(ready);
        if candidates.is_empty() {
            self.announce.set(
                "Nothing to submit: fix the rows that need attention in View details first".into(),
            );
            self.summary.set(Some(self.announce.get_untracked()));
            return;
        }
        self.busy.set(Some(Busy {
            label: "Checking the list against existing accounts".into(),
            done: 0,
            total: candidates.len(),
        }));
        self.precheck(candidates).await;
        let positions = self.rows.with_untracked(ready);
        let total = positions.len();
        for (n, chunk) in positions.chunks(SUBMIT_CHUNK_ROWS).enumerate() {
            self.busy.set(Some(Busy {
                label: "Submitting".into(),
                done: n * SUBMIT_CHUNK_ROWS,
                total,
            }));
            let batch: Vec<BatchRow> = self.rows.with_untracked(|rows| {
                chunk
                    .iter()
                    .map(|&p| BatchRow {
                        row_id: rows[p].id.clone(),
                        raw: rows[p].raw.clone(),
                    })
                    .collect()
            });
            let mut answer =
                submit_batch(meta.key.clone(), meta.file_name.clone(), batch.clone()).await;
            if matches!(
                answer,
                Err(AppError::Transport { .. } | AppError::Internal { .. })
            ) {
                // Safe to repeat: rows already invited under this key are not invited again.
                browser::next_task().await;
                answer = submit_batch(meta.key.clone(), meta.file_name.clone(), batch).await;
            }
            match answer {
                Ok(outcome) => self.apply(chunk, outcome),
                Err(e @ (AppError::Unauthenticated | AppError::Forbidden { .. })) => {
                    self.failure.set(Some(e));
                    break;
                }
                Err(e) => self.mark_failed(chunk, &e),
            }
        }
        self.busy.set(None);
        let c = self.rows.with_untracked(|r| counts(r));
        let mut text = format!("{} of {} invited", group(c.invited), group(c.users));
        if c.attention > 0 {
            text.push_str(&format!(
                ". {} need attention: open View details on each, fix it, Save, and submit again",
                group(c.attention)
            ));
        }
        self.announce.set(text.clone());
        self.summary.set(Some(text));
    }

    fn apply(self, chunk: &[usize], outcome: BatchOutcome) {
        self.rows.update(|rows| {
            let at: HashMap<String, usize> =
                chunk.iter().map(|&p| (rows[p].id.clone(), p)).collect();
            for row in outcome.rows {
                let Some(&p) = at.get(&row.row_id) else {
                    continue;
                };
                let r = &mut rows[p];
                match row.result {
                    RowResult::Invited { invitation_id, .. } => {
                        r.state = RowState::Invited;
                        r.invitation_id = Some(invitation_id);
                        r.server_problems.clear();
                        r.trace_id = None;
                    }
                    RowResult::Rejected { fields } => {
                        r.server_problems = fields;
                        r.trace_id = Some(outcome.trace_id.clone());
                    }
                }
            }
            model::recheck_duplicates(rows);
        });
        self.persist(chunk.iter().copied().collect());
    }

    fn mark_failed(self, chunk: &[usize], error: &AppError) {
        let message = match error {
            AppError::Internal { .. } => {
                "Not sent: something went wrong on our side. Submit again; if it keeps happening, email support with the Trace ID".to_string()
            }
            other => format!("Not sent: {other}. Submit again"),
        };
        self.rows.update(|rows| {
            for &p in chunk {
                rows[p].server_problems = vec![FieldError::new("submit", message.clone())];
                rows[p].trace_id = error.trace_id().map(str::to_string);
            }
        });
        self.persist(chunk.iter().copied().collect());
    }

    /// Takes a chosen file through the worker into the list.
    #[cfg(feature = "hydrate")]
    fn upload(self, file: web_sys::File) {
        let file_name = file.name();
        self.refusal.set(None);
        self.failure.set(None);
        self.summary.set(None);
        self.busy.set(Some(Busy {
            label: format!("Reading {file_name}"),
            done: 0,
            total: 0,
        }));
        spawn_local(async move {
            let key = browser::new_key();
            let owner = self.owner();
            let answer = browser::parse_file(file, &key, &owner).await;
            let progress = |done: usize, total: usize| {
                self.busy.set(Some(Busy {
                    label: format!("Reading {file_name}"),
                    done,
                    total,
                }))
            };
            let taken = match answer {
                Ok(answer) => browser::take_upload(&answer, progress)
                    .await
                    .map(|(meta, rows)| (meta, rows, answer.stored)),
                Err(message) => Err(message),
            };
            match taken {
                Ok((meta, rows, stored)) => {
                    if !stored {
                        leptos::logging::warn!("could not keep the list in this browser");
                    }
                    let c = counts(&rows);
                    self.announce
                        .set(format!("Uploaded {}: {}", meta.file_name, describe(c)));
                    let all: Vec<usize> = (0..rows.len()).collect();
                    // A new list: the journal of the last one no longer applies.
                    self.keep_journal(Journal::default());
                    self.rows.set(rows);
                    self.meta.set(Some(meta));
                    self.busy.set(None);
                    self.precheck(all).await;
                }
                Err(message) => {
                    self.busy.set(None);
                    self.announce
                        .set(format!("{file_name} was not uploaded: {message}"));
                    self.refusal.set(Some((file_name, message)));
                    browser::focus("upload-error");
                }
            }
        });
    }

    /// Reset (after Confirm): the list and its stored copy are gone.
    fn reset(self) {
        let name = self
            .meta
            .with_untracked(|m| m.as_ref().map(|m| m.file_name.clone()))
            .unwrap_or_default();
        let key = self
            .meta
            .with_untracked(|m| m.as_ref().map(|m| m.key.clone()))
            .unwrap_or_default();
        self.meta.set(None);
        self.rows.set(Vec::new());
        self.unsaved.set_value(BTreeSet::new());
        // Noted at once: a refresh before IndexedDB is cleared must not bring the list back.
        self.keep_journal(Journal::cleared(&key));
        self.summary.set(None);
        self.failure.set(None);
        self.announce.set(format!(
            "Removed all users of {name}. Choose a file to start again"
        ));
        spawn_local(async move {
            let cleared = browser::clear_draft().await;
            if cleared && self.journal.with_value(|j| j.cleared && j.key == key) {
                self.keep_journal(Journal::default());
            }
        });
    }
}

#[component]
pub fn BatchUploadPage() -> impl IntoView {
    let batch = Batch::new(use_context::<SessionContext>());
    provide_context(batch);
    // Whether the kept list was looked for (and restored when there is one).
    let restored = RwSignal::new(false);
    // The list kept from before a refresh comes back once the page is interactive.
    Effect::new(move |_| {
        spawn_local(async move {
            let progress = move |done: usize, total: usize| {
                batch.busy.set(Some(Busy {
                    label: "Restoring your list".into(),
                    done,
                    total,
                }))
            };
            let journal = browser::read_journal();
            let owner = batch.owner();
            match browser::load_draft(&owner, progress).await {
                browser::Kept::Mine(meta, mut rows) => match journal.restore(&meta, &mut rows) {
                    // Reset just before the refresh: finish forgetting it.
                    None => {
                        if browser::clear_draft().await {
                            batch.keep_journal(Journal::default());
                        }
                    }
                    Some(held) => {
                        batch.announce.set(format!(
                            "Restored {}: {}",
                            meta.file_name,
                            describe(counts(&rows))
                        ));
                        batch.rows.set(rows);
                        batch.meta.set(Some(meta));
                        if held.is_empty() {
                            batch.keep_journal(Journal::default());
                        } else {
                            // Store what the journal had, then let it go.
                            batch.keep_journal(journal);
                            batch.persist(held);
                        }
                    }
                },
                browser::Kept::Nothing => batch.keep_journal(Journal::default()),
                // Another officer's list (and journal) stay as they are, unseen.
                browser::Kept::Another => {}
            }
            batch.busy.set(None);
            restored.set(true);
        });
    });
    // The page's own closures read with `try_`: on the server, the layout may render the page
    // twice (once before its session is known), and the first copy's closures can still be
    // read after that copy was dropped; a plain `get` would panic and fail the request.
    let title = move || {
        if batch.refusal.try_with(Option::is_some).unwrap_or(false) {
            "Error: Batch upload"
        } else {
            "Batch upload"
        }
    };
    view! {
        <Title text=title/>
        <h1>"Batch upload"</h1>
        <p class="lead">
            "Create TechPass accounts for many public officers and vendors at once, from a spreadsheet."
        </p>
        <div class="visually-hidden" role="status" aria-live="polite" data-restored=move || restored.try_get().unwrap_or(false).to_string()>
            {move || batch.announce.try_get().unwrap_or_default()}
        </div>
        {move || batch.failure.try_get().flatten().map(|error| view! { <ErrorNotice error/> })}
        <BusyBar/>
        {move || match batch.meta.try_get().flatten() {
            None => view! { <UploadPanel/> }.into_any(),
            Some(meta) => view! { <ListPanel meta/> }.into_any(),
        }}
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
    let batch = expect_context::<Batch>();
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            let file = input.files().and_then(|f| f.get(0));
            if let Some(file) = file {
                // Choosing the same file again (after fixing it) fires a change again.
                input.set_value("");
                batch.upload(file);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, batch);
    };
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
            {move || {
                batch
                    .refusal
                    .get()
                    .map(|(file, message)| {
                        view! {
                            <div class="error-summary" role="alert" tabindex="-1" id="upload-error">
                                <h3 class="error-summary__title">
                                    {format!("{file} could not be uploaded")}
                                </h3>
                                <p>{message}</p>
                            </div>
                        }
                    })
            }}
            <div class="field">
                <label class="field__label" for="batch-file">"Choose a file"</label>
                <p class="field__hint" id="batch-file-hint">
                    "Excel workbook (.xlsx) or CSV, up to 40 MB and 100,000 users. The file is read in your browser; nothing is sent until you submit."
                </p>
                <input
                    type="file"
                    id="batch-file"
                    class="file-input"
                    accept=".xlsx,.xlsm,.csv,.txt,.tsv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
                    aria-describedby="batch-file-hint"
                    disabled=move || batch.busy.get().is_some()
                    on:change=on_change
                />
            </div>
        </section>
    }
    .into_any()
}

/// "Uploaded <file>", the counts, the notices, the table and the actions.
#[component]
fn ListPanel(meta: DraftMeta) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let only_attention = RwSignal::new(false);
    let c = Memo::new(move |_| batch.rows.with(|r| counts(r)));
    let all_done = move || c.get().users > 0 && c.get().invited == c.get().users;
    let file_name = meta.file_name.clone();
    let another = move |_| {
        batch.reset();
        browser::focus("batch-file");
    };
    view! {
        <section class="panel" aria-labelledby="list-heading">
            <h2 id="list-heading">{format!("Uploaded {file_name}")}</h2>
            <p class="counts">{move || describe(c.get())}</p>
            <p class="hint">
                {move || {
                    let ready = c.get().ready;
                    format!("{} ready to submit", model::plural(ready, "user", "users"))
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
            {move || {
                batch
                    .summary
                    .get()
                    .map(|s| {
                        let done = all_done();
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
            }}
            <div class="toolbar">
                <div class="checkbox">
                    <input
                        type="checkbox"
                        id="only-attention"
                        prop:checked=move || only_attention.get()
                        on:change=move |ev| only_attention.set(event_target_checked(&ev))
                    />
                    <label for="only-attention">
                        {move || format!("Show only rows that need attention ({})", group(c.get().attention))}
                    </label>
                </div>
            </div>
            <BatchTable only_attention/>
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
                                on:click=move |_| spawn_local(batch.submit())
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
