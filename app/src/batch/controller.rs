//! The batch list's controller: the state the page and its parts share, and what changes it
//! (upload through the worker, restore after a refresh, keep in the browser, pre-check,
//! submit with a retry, remove, save, reset). The components that show it live in
//! `pages/batch_upload/`.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use leptos::prelude::*;

use super::browser;
use super::model::{
    self, chunks_of, counts, describe, group, plural, Counts, DraftMeta, DraftRow, Journal,
    RowState, PRECHECK_ROWS, SAVE_CHUNKS,
};
use crate::api::batch::{precheck_batch, submit_batch};
use crate::domain::limits::{SUBMIT_CHUNKS_IN_FLIGHT, SUBMIT_CHUNK_ROWS};
use crate::domain::{FieldError, RawAccount};
use crate::error::AppError;
use crate::import::{Choice, Question};
use crate::wire::{BatchOutcome, BatchRow, PrecheckRow, RowResult};

/// What the page is busy with, for the progress bar.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Busy {
    pub(crate) label: String,
    pub(crate) done: usize,
    pub(crate) total: usize,
}

impl Busy {
    /// Reading a chosen file: `done` of its `total` rows so far (0 of 0 until it is parsed).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn reading(file_name: &str, done: usize, total: usize) -> Busy {
        Busy {
            label: format!("Reading {file_name}"),
            done,
            total,
        }
    }
}

/// A file chosen in the browser (nothing on the server, which never has one).
#[cfg(feature = "hydrate")]
pub(crate) type EarlyFile = web_sys::File;
#[cfg(not(feature = "hydrate"))]
pub(crate) type EarlyFile = std::convert::Infallible;

/// What Undo takes back: the last Remove or Reset, until the next change or submit.
#[derive(Clone, Debug)]
enum Undo {
    Remove {
        pos: usize,
        state: RowState,
    },
    Reset {
        meta: DraftMeta,
        rows: Vec<DraftRow>,
        /// The journal before the reset marked the list cleared.
        journal: Journal,
        /// The chunks that were still to be stored.
        unsaved: BTreeSet<usize>,
    },
}

/// A corrected file read while a list is open, for the officer to merge into the list or to
/// replace it with.
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    pub(crate) meta: DraftMeta,
    pub(crate) rows: Vec<DraftRow>,
    /// What a merge would do.
    pub(crate) preview: model::Merged,
}

/// The worker's question about a chosen file, for the step that asks the officer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Asked {
    pub(crate) file_name: String,
    pub(crate) question: Question,
}

/// The page's state, shared with its parts.
#[derive(Clone, Copy)]
pub(crate) struct Batch {
    /// The signed-in officer's address in lowercase, whose list this is (empty when no one
    /// is known).
    owner: Signal<String>,
    pub(crate) meta: RwSignal<Option<DraftMeta>>,
    pub(crate) rows: RwSignal<Vec<DraftRow>>,
    /// While a file's rows are still arriving: the whole list's counts, as the worker told
    /// them (the rows so far would count too few).
    pub(crate) loading: RwSignal<Option<Counts>>,
    /// A row was removed or saved while the rows were arriving: the clashes within the file
    /// are checked again over the whole list once it is in.
    changed_while_loading: StoredValue<bool>,
    pub(crate) busy: RwSignal<Option<Busy>>,
    /// A file that was not taken: its name and why.
    pub(crate) refusal: RwSignal<Option<(String, String)>>,
    /// A chosen file the worker asked about (which sheet, which column is which): shown as a
    /// step before the list.
    pub(crate) asking: RwSignal<Option<Asked>>,
    /// A file chosen while a list was open, read, waiting for Merge or Replace.
    pub(crate) incoming: RwSignal<Option<Incoming>>,
    /// That file, read again with the officer's answer.
    #[cfg(feature = "hydrate")]
    file: StoredValue<Option<web_sys::File>, LocalStorage>,
    pub(crate) failure: RwSignal<Option<AppError>>,
    /// The live region's text.
    pub(crate) announce: RwSignal<String>,
    /// The outcome of the last Submit.
    pub(crate) summary: RwSignal<Option<String>>,
    /// The row whose View details is open.
    pub(crate) editing: RwSignal<Option<usize>>,
    pub(crate) confirm_reset: RwSignal<bool>,
    /// What the last Remove or Reset did, shown with Undo while it can be taken back.
    undo: RwSignal<Option<(Undo, String)>>,
    /// Chunks changed since they were last stored, and whether a task is storing them.
    unsaved: StoredValue<BTreeSet<usize>>,
    saving: StoredValue<bool>,
    /// The changes IndexedDB may not have yet, also written to local storage at once.
    journal: StoredValue<Journal>,
    /// A write to IndexedDB failed since the journal was last emptied: it must stay.
    save_failed: StoredValue<bool>,
    /// The page's reactive owner ([`Batch::spawn`]).
    page: StoredValue<Option<leptos::reactive::owner::WeakOwner>>,
}

impl Batch {
    /// A controller for the list of `owner` (read when the list is stored or restored).
    pub(crate) fn new(owner: Signal<String>) -> Batch {
        Batch {
            owner,
            meta: RwSignal::new(None),
            rows: RwSignal::new(Vec::new()),
            loading: RwSignal::new(None),
            changed_while_loading: StoredValue::new(false),
            busy: RwSignal::new(None),
            refusal: RwSignal::new(None),
            asking: RwSignal::new(None),
            incoming: RwSignal::new(None),
            #[cfg(feature = "hydrate")]
            file: StoredValue::new_local(None),
            failure: RwSignal::new(None),
            announce: RwSignal::new(String::new()),
            summary: RwSignal::new(None),
            editing: RwSignal::new(None),
            confirm_reset: RwSignal::new(false),
            undo: RwSignal::new(None),
            unsaved: StoredValue::new(BTreeSet::new()),
            saving: StoredValue::new(false),
            journal: StoredValue::new(Journal::default()),
            save_failed: StoredValue::new(false),
            page: StoredValue::new(Owner::current().map(|o| o.downgrade())),
        }
    }

    /// Runs `task` as one of the page's: it ends when the page does (the officer went to
    /// another page), at its next await, instead of reading the page's state once that is
    /// gone (which panics). What it left undone is what a refresh at that moment leaves: the
    /// list kept in the browser and its journal come back with the page, and a submit under
    /// the list's key can be sent again.
    pub(crate) fn spawn(self, task: impl std::future::Future<Output = ()> + 'static) {
        let Some(page) = self
            .page
            .try_get_value()
            .flatten()
            .and_then(|page| page.upgrade())
        else {
            return;
        };
        // (Untracked: a task spawned from an effect must not make it depend on what it reads.)
        page.with(|| untrack(|| leptos::task::spawn_local_scoped_with_cancellation(task)));
    }

    fn owner(self) -> String {
        self.owner.try_get_untracked().unwrap_or_default()
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
        if let Some(key) = self.list_key() {
            self.rows.with_untracked(|rows| {
                self.journal
                    .update_value(|j| j.note(&key, rows, &positions))
            });
            self.journal.with_value(browser::write_journal);
        }
        self.unsaved
            .update_value(|u| u.extend(chunks_of(positions)));
        self.save_unsaved();
    }

    /// Stores the chunks noted as unsaved, a few per browser task, unless that is under way;
    /// and not while a new list loads: its worker stores the list after the page has painted
    /// the first rows, so the changes wait (in the journal) and are stored once it is done
    /// ([`Batch::take`]), after the list, not under it.
    fn save_unsaved(self) {
        if self.saving.get_value() || self.loading.with_untracked(Option::is_some) {
            return;
        }
        self.saving.set_value(true);
        self.spawn(async move {
            loop {
                // A new list began loading meanwhile: the rest waits for its worker.
                if self.loading.with_untracked(Option::is_some) {
                    self.saving.set_value(false);
                    return;
                }
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

    /// Removes a row (kept as a tombstone so stored chunks stay aligned); Undo brings it
    /// back.
    pub(crate) fn remove(self, pos: usize) {
        self.note_change_while_loading();
        let mut changed = BTreeSet::from([pos]);
        let mut gone = None;
        self.rows.update(|rows| {
            if let Some(row) = rows.get_mut(pos) {
                gone = Some((
                    row.state,
                    format!("Removed row {} ({})", row.line, row.raw.email.trim()),
                ));
                row.state = RowState::Removed;
            }
            changed.extend(model::recheck_duplicates(rows));
        });
        if let Some((state, text)) = gone {
            self.offer_undo(Undo::Remove { pos, state }, text);
        }
        self.persist(changed);
    }

    fn offer_undo(self, undo: Undo, text: String) {
        self.undo.set(Some((undo, text.clone())));
        self.announce.set(format!("{text}. Undo is available"));
    }

    /// The last Remove or Reset can no longer be undone (another change, a submit, a file).
    fn forget_undo(self) {
        if self.undo.with_untracked(Option::is_some) {
            self.undo.set(None);
        }
    }

    /// What the last Remove or Reset did ("Removed row 3 (…)"), while it can be undone.
    pub(crate) fn undoable(self) -> Option<String> {
        self.undo
            .try_with(|u| u.as_ref().map(|(_, text)| text.clone()))
            .flatten()
    }

    /// The row the last Remove took away, while it can be undone.
    pub(crate) fn undoable_row(self) -> Option<usize> {
        self.undo.with_untracked(|u| match u {
            Some((Undo::Remove { pos, .. }, _)) => Some(*pos),
            _ => None,
        })
    }

    /// Takes back the last Remove or Reset: the list, and the copy kept in the browser, are
    /// as they were before it. Returns whether there was one.
    pub(crate) fn undo(self) -> bool {
        let Some((undo, _)) = self.undo.try_update(Option::take).flatten() else {
            return false;
        };
        match undo {
            Undo::Remove { pos, state } => {
                let mut changed = BTreeSet::from([pos]);
                let mut line = 0;
                self.rows.update(|rows| {
                    if let Some(row) = rows.get_mut(pos) {
                        row.state = state;
                        line = row.line;
                    }
                    changed.extend(model::recheck_duplicates(rows));
                });
                self.announce.set(format!("Row {line} is back in the list"));
                self.persist(changed);
            }
            Undo::Reset {
                meta,
                rows,
                journal,
                unsaved,
            } => {
                let text = format!("{} is back: {}", meta.file_name, describe(counts(&rows)));
                self.rows.set(rows);
                self.meta.set(Some(meta));
                // The kept list was never cleared: the journal's marker goes, its notes stay.
                self.keep_journal(journal);
                self.persist(unsaved.into_iter().map(|c| c * model::CHUNK_ROWS).collect());
                self.announce.set(text);
            }
        }
        true
    }

    /// Saves View details: checks the row again, and asks the server about its address and
    /// username.
    pub(crate) fn save(self, pos: usize, raw: RawAccount) {
        self.note_change_while_loading();
        self.forget_undo();
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
        self.spawn(async move { self.precheck(vec![pos]).await });
    }

    /// Set a value: one field of the selected rows (those not yet invited) gets `value`; each
    /// row is checked again, as after View details.
    pub(crate) fn set_value(self, positions: &BTreeSet<usize>, field: &str, value: String) {
        self.note_change_while_loading();
        self.forget_undo();
        let mut changed = BTreeSet::new();
        self.rows.update(|rows| {
            for &p in positions {
                let Some(row) = rows.get_mut(p).filter(|r| r.state == RowState::Ready) else {
                    continue;
                };
                let mut raw = row.raw.clone();
                if let Some(slot) = raw.value_mut(field) {
                    slot.clone_from(&value);
                    row.edit(raw);
                    changed.insert(p);
                }
            }
            changed.extend(model::recheck_duplicates(rows));
        });
        self.announce.set(format!(
            "Set {} to “{}” for {}",
            model::field_label(field),
            value.trim(),
            plural(changed.len(), "row", "rows")
        ));
        let recheck: Vec<usize> = changed.iter().copied().collect();
        self.persist(changed);
        self.spawn(async move { self.precheck(recheck).await });
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
        let list = self.list_key();
        // Each row sent with where it is.
        let sent: Vec<(usize, PrecheckRow)> = self.rows.with_untracked(|rows| {
            positions
                .iter()
                .filter_map(|&p| Some((p, rows.get(p)?)))
                // A valid address (its rule's problem is kept with the row: no parse again).
                .filter(|(_, r)| {
                    r.state == RowState::Ready && !r.problems.iter().any(|p| p.field == "email")
                })
                .map(|(p, r)| {
                    let row = PrecheckRow {
                        row_id: r.id(),
                        email: r.raw.email.clone(),
                        username: r.raw.username.clone(),
                    };
                    (p, row)
                })
                .collect()
        });
        if sent.is_empty() {
            return Ok(());
        }
        let issues = precheck_batch(sent.iter().map(|(_, r)| r.clone()).collect()).await?;
        // The answer is about the rows as they were sent. A list that is another by now
        // (Reset, a new file: its rows have the same ids) gets none of it, nor a row whose
        // address or username changed meanwhile (its own check answers for it).
        if self.list_key() != list {
            return Ok(());
        }
        let mut changed = BTreeSet::new();
        self.rows.update(|rows| {
            let at: HashMap<&str, usize> = sent
                .iter()
                .filter(|(p, sent)| {
                    rows.get(*p).is_some_and(|r| {
                        r.id() == sent.row_id
                            && r.raw.email == sent.email
                            && r.raw.username == sent.username
                    })
                })
                .map(|(p, sent)| (sent.row_id.as_str(), *p))
                .collect();
            for &p in at.values() {
                if !rows[p].server_problems.is_empty() {
                    rows[p].server_problems.clear();
                    changed.insert(p);
                }
            }
            for issue in issues {
                if let Some(&p) = at.get(issue.row_id.as_str()) {
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

    /// The key of the list on the page (a new one for each uploaded file), if there is one.
    fn list_key(self) -> Option<String> {
        self.meta
            .with_untracked(|m| m.as_ref().map(|m| m.key.clone()))
    }

    /// Submits every row that has no known problem, in chunks under the list's key; marks
    /// each row with the server's answer.
    pub(crate) async fn submit(self) {
        let Some(meta) = self.meta.get_untracked() else {
            return;
        };
        self.failure.set(None);
        self.summary.set(None);
        self.forget_undo();
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
        self.busy.set(Some(Busy {
            label: "Submitting".into(),
            done: 0,
            total,
        }));
        let send = move |chunk: Vec<usize>| {
            let batch: Vec<BatchRow> = self.rows.with_untracked(|rows| {
                chunk
                    .iter()
                    .map(|&p| BatchRow {
                        row_id: rows[p].id(),
                        raw: rows[p].raw.clone(),
                    })
                    .collect()
            });
            let (key, file_name) = (meta.key.clone(), meta.file_name.clone());
            async move {
                let mut answer = submit_batch(key.clone(), file_name.clone(), batch.clone()).await;
                if matches!(
                    answer,
                    Err(AppError::Transport { .. } | AppError::Internal { .. })
                ) {
                    // Safe to repeat: rows already invited under this key are not invited again.
                    browser::next_task().await;
                    answer = submit_batch(key, file_name, batch).await;
                }
                (chunk, answer)
            }
        };
        // The parts go SUBMIT_CHUNKS_IN_FLIGHT at a time; their answers are taken in order.
        let mut answers = futures::stream::iter(
            positions
                .chunks(SUBMIT_CHUNK_ROWS)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>(),
        )
        .map(send)
        .buffered(SUBMIT_CHUNKS_IN_FLIGHT);
        let mut done = 0;
        while let Some((chunk, answer)) = answers.next().await {
            done += chunk.len();
            self.busy.set(Some(Busy {
                label: "Submitting".into(),
                done,
                total,
            }));
            match answer {
                Ok(outcome) => self.apply(&chunk, outcome),
                Err(e @ (AppError::Unauthenticated | AppError::Forbidden { .. })) => {
                    self.failure.set(Some(e));
                    break;
                }
                Err(e) => self.mark_failed(&chunk, &e),
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
            let at: HashMap<String, usize> = chunk.iter().map(|&p| (rows[p].id(), p)).collect();
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

    /// Takes a chosen file through the worker into the list (see [`Batch::read_file`]).
    #[cfg(feature = "hydrate")]
    pub(crate) fn upload(self, file: web_sys::File) {
        self.file.set_value(Some(file));
        self.read_file(Choice::default());
    }

    /// [`Batch::restore`], then [`Batch::upload`] of `early`, a file chosen before the page
    /// was interactive (if any), shown as being read from the start (the chooser, which the
    /// page has emptied, is disabled meanwhile, so it is not chosen twice).
    pub(crate) async fn restore_then_upload(self, early: Option<EarlyFile>) {
        #[cfg(feature = "hydrate")]
        if let Some(file) = &early {
            self.busy.set(Some(Busy::reading(&file.name(), 0, 0)));
        }
        self.restore().await;
        #[cfg(feature = "hydrate")]
        if let Some(file) = early {
            self.upload(file);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = early;
    }

    /// Reads the chosen file again with the officer's answer to the worker's question.
    pub(crate) fn answer(self, choice: Choice) {
        #[cfg(feature = "hydrate")]
        self.read_file(choice);
        #[cfg(not(feature = "hydrate"))]
        let _ = choice;
    }

    /// Leaves the question unanswered: back to choosing a file.
    pub(crate) fn cancel_question(self) {
        #[cfg(feature = "hydrate")]
        self.file.set_value(None);
        self.asking.set(None);
        self.announce.set("Choose a file".into());
        browser::focus("batch-file");
    }

    /// Has the worker read the chosen file: the counts and the first rows are shown as soon
    /// as the worker sends them, the rest of the rows follow a chunk per browser task (the
    /// page stays busy, so nothing is submitted or reset meanwhile). When the worker asks
    /// which sheet or which column is which, the question is shown instead.
    #[cfg(feature = "hydrate")]
    fn read_file(self, choice: Choice) {
        let Some(file) = self.file.get_value() else {
            return;
        };
        let file_name = file.name();
        // A file chosen while a list is open is merged into it or replaces it, as the officer
        // says once it is read: the worker does not store it.
        let merging = self.meta.with_untracked(Option::is_some);
        // The worker has the file before anything on the page changes: it reads the file
        // while the page shows that it is reading (which, the moment the page is interactive,
        // took the main thread 10-25 ms before the worker was told).
        let answer =
            browser::parse_file(file, &browser::new_key(), &self.owner(), &choice, !merging);
        self.refusal.set(None);
        self.failure.set(None);
        self.summary.set(None);
        self.forget_undo();
        self.busy.set(Some(Busy::reading(&file_name, 0, 0)));
        self.spawn(async move {
            match self.take(answer, &file_name, merging).await {
                Ok(None) => {
                    self.file.set_value(None);
                    self.asking.set(None);
                    self.busy.set(None);
                    if !merging {
                        // The control that chose the file is gone: focus the list's heading.
                        browser::focus("list-heading");
                        let all: Vec<usize> = (0..self.rows.with_untracked(Vec::len)).collect();
                        self.precheck(all).await;
                    }
                }
                Ok(Some(question)) => {
                    self.busy.set(None);
                    self.announce.set(match &question {
                        Question::Sheet { .. } => {
                            format!("{file_name} has more than one sheet: choose the one with the users")
                        }
                        Question::Columns(_) => {
                            format!("Match the columns of {file_name} to the template's")
                        }
                    });
                    self.asking.set(Some(Asked {
                        file_name,
                        question,
                    }));
                    browser::focus("question-heading");
                }
                Err(message) if merging => {
                    self.file.set_value(None);
                    self.asking.set(None);
                    self.busy.set(None);
                    self.announce
                        .set(format!("{file_name} was not read: {message}"));
                    self.refusal.set(Some((file_name, message)));
                    browser::focus("upload-error");
                }
                Err(message) => {
                    self.file.set_value(None);
                    self.asking.set(None);
                    self.loading.set(None);
                    self.meta.set(None);
                    self.rows.set(Vec::new());
                    // Changes to the rows that were shown went with them.
                    self.unsaved.set_value(BTreeSet::new());
                    self.busy.set(None);
                    self.announce
                        .set(format!("{file_name} was not uploaded: {message}"));
                    self.refusal.set(Some((file_name, message)));
                    browser::focus("upload-error");
                }
            }
        });
    }

    fn note_change_while_loading(self) {
        if self.loading.with_untracked(Option::is_some) {
            self.changed_while_loading.set_value(true);
        }
    }

    /// The worker's answer into the list, as it arrives; or its question.
    #[cfg(feature = "hydrate")]
    async fn take(
        self,
        answer: Result<browser::WorkerAnswer, String>,
        file_name: &str,
        merging: bool,
    ) -> Result<Option<Question>, String> {
        let answer = answer?;
        let (meta, told) = match answer.head().await? {
            browser::Head::List(meta, told) => (meta, told),
            browser::Head::Ask(question) => return Ok(Some(question)),
        };
        self.asking.set(None);
        if merging {
            self.take_incoming(answer, meta, file_name).await?;
            return Ok(None);
        }
        let total = meta.rows;
        let first = answer.chunk().await?.unwrap_or_default();
        let progress = |done: usize| self.busy.set(Some(Busy::reading(file_name, done, total)));
        // A new list: the journal of the last one no longer applies.
        self.keep_journal(Journal::default());
        self.announce
            .set(format!("Uploaded {}: {}", meta.file_name, describe(told)));
        let mut taken = first.len();
        self.changed_while_loading.set_value(false);
        self.loading.set(Some(told));
        // The rows with the counts, in one task: what the counts say is in the list (a
        // download of the rows to fix, say) must be there as soon as they show.
        self.rows.set(first);
        self.meta.set(Some(meta));
        progress(taken);
        // The first rows are painted before more are read (and before the worker, asked for
        // the rest with the next part, stores the list and sends it).
        browser::after_paint().await;
        while let Some(chunk) = answer.chunk().await? {
            taken += chunk.len();
            self.rows.update(|rows| rows.extend(chunk));
            progress(taken);
            browser::next_task().await;
        }
        if taken != total {
            return Err(browser::UNREADABLE.to_string());
        }
        if self.changed_while_loading.get_value() {
            self.changed_while_loading.set_value(false);
            let mut changed = BTreeSet::new();
            self.rows
                .update(|rows| changed = model::recheck_duplicates(rows));
            self.persist(changed);
        }
        self.loading.set(None);
        // The worker is done with the list (kept, or not: it says so in the console), and
        // every row is here: what changed meanwhile can be stored now.
        self.save_unsaved();
        Ok(None)
    }

    /// A file chosen while a list is open, read whole into [`Batch::incoming`] (a chunk per
    /// browser task) for the officer to merge or replace.
    #[cfg(feature = "hydrate")]
    async fn take_incoming(
        self,
        answer: browser::WorkerAnswer,
        meta: DraftMeta,
        file_name: &str,
    ) -> Result<(), String> {
        let mut rows: Vec<DraftRow> = Vec::with_capacity(meta.rows);
        while let Some(chunk) = answer.chunk().await? {
            rows.extend(chunk);
            self.busy
                .set(Some(Busy::reading(file_name, rows.len(), meta.rows)));
            browser::next_task().await;
        }
        if rows.len() != meta.rows {
            return Err(browser::UNREADABLE.to_string());
        }
        let preview = self
            .rows
            .with_untracked(|list| model::merge_preview(list, &rows));
        self.announce.set(format!(
            "{file_name} is read: merge it into the list, or replace the list with it"
        ));
        self.incoming.set(Some(Incoming {
            meta,
            rows,
            preview,
        }));
        Ok(())
    }

    /// Merges the file read while the list was open into the list (see [`model::merge`]) and
    /// stores the whole list again.
    pub(crate) fn merge_incoming(self) {
        let Some(incoming) = self.incoming.try_update(Option::take).flatten() else {
            return;
        };
        let Some(mut meta) = self.meta.get_untracked() else {
            return;
        };
        self.forget_undo();
        let mut merged = model::Merged::default();
        let before = self.rows.with_untracked(Vec::len);
        self.rows
            .update(|rows| merged = model::merge(rows, incoming.rows));
        let text = format!(
            "Merged {}: {} replaced, {} added{}",
            incoming.meta.file_name,
            plural(merged.replaced.len(), "row", "rows"),
            group(merged.added),
            if merged.invited > 0 {
                format!(", {} already invited left out", group(merged.invited))
            } else {
                String::new()
            }
        );
        meta.rows = self.rows.with_untracked(Vec::len);
        meta.notices.push(text.clone());
        self.meta.set(Some(meta));
        self.announce.set(text);
        let changed: Vec<usize> = merged
            .replaced
            .iter()
            .copied()
            .chain(before..before + merged.added)
            .collect();
        self.spawn(async move {
            self.store_whole().await;
            self.precheck(changed).await;
        });
        browser::focus("list-heading");
    }

    /// Replaces the list with the file read while it was open (as a new list, under its own
    /// key).
    pub(crate) fn replace_with_incoming(self) {
        let Some(incoming) = self.incoming.try_update(Option::take).flatten() else {
            return;
        };
        self.forget_undo();
        let text = format!(
            "Uploaded {}: {}",
            incoming.meta.file_name,
            describe(counts(&incoming.rows))
        );
        let all: Vec<usize> = (0..incoming.rows.len()).collect();
        self.rows.set(incoming.rows);
        self.meta.set(Some(incoming.meta));
        self.announce.set(text);
        self.spawn(async move {
            self.store_whole().await;
            self.precheck(all).await;
        });
        browser::focus("list-heading");
    }

    /// Neither merge nor replace: the list stays as it is.
    pub(crate) fn drop_incoming(self) {
        self.incoming.set(None);
        self.announce.set("The list is as it was".into());
    }

    /// Stores the whole list, replacing what this browser kept; the journal then starts over.
    async fn store_whole(self) {
        let Some(meta) = self.meta.get_untracked() else {
            return;
        };
        self.unsaved.set_value(BTreeSet::new());
        let owner = self.owner();
        let stored = self
            .rows
            .with_untracked(|rows| browser::chunk_entries(rows, 0..meta.chunks()));
        match browser::replace_draft(&owner, &meta, stored).await {
            Ok(()) => self.keep_journal(Journal::default()),
            Err(e) => leptos::logging::warn!("could not keep the list in this browser: {e}"),
        }
    }

    /// Brings back the list kept in this browser from before a refresh, if it is the signed-in
    /// officer's, brought up to date with the journal.
    async fn restore(self) {
        let progress = move |done: usize, total: usize| {
            self.busy.set(Some(Busy {
                label: "Restoring your list".into(),
                done,
                total,
            }))
        };
        let journal = browser::read_journal();
        let owner = self.owner();
        match browser::load_draft(&owner, progress).await {
            browser::Kept::Mine(meta, mut rows) => match journal.restore(&meta, &mut rows) {
                // Reset just before the refresh: finish forgetting it.
                None => {
                    if browser::clear_draft().await {
                        self.keep_journal(Journal::default());
                    }
                }
                Some(held) => {
                    self.announce.set(format!(
                        "Restored {}: {}",
                        meta.file_name,
                        describe(counts(&rows))
                    ));
                    self.rows.set(rows);
                    self.meta.set(Some(meta));
                    if held.is_empty() {
                        self.keep_journal(Journal::default());
                    } else {
                        // Store what the journal had, then let it go.
                        self.keep_journal(journal);
                        self.persist(held);
                    }
                }
            },
            browser::Kept::Nothing => self.keep_journal(Journal::default()),
            // Another officer's list (and journal) stay as they are, unseen.
            browser::Kept::Another => {}
        }
        self.busy.set(None);
    }

    /// Reset (after Confirm): the list is gone, and Undo brings it back until the next file.
    /// The copy kept in the browser stays, with the journal marked cleared: a refresh forgets
    /// it (see [`Batch::restore`]), a new file replaces it, Undo takes the mark away.
    pub(crate) fn reset(self) {
        let Some(meta) = self.meta.get_untracked() else {
            return;
        };
        let rows = self.rows.try_update(std::mem::take).unwrap_or_default();
        self.meta.set(None);
        let unsaved = self
            .unsaved
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        let journal = self.journal.get_value();
        // Noted at once: a refresh must not bring the list back.
        self.keep_journal(Journal::cleared(&meta.key));
        self.summary.set(None);
        self.failure.set(None);
        let text = format!("Removed all users of {}", meta.file_name);
        self.offer_undo(
            Undo::Reset {
                meta,
                rows,
                journal,
                unsaved,
            },
            text,
        );
    }
}
