//! Invite user status: everyone the officer's agency invited, with their TechPass account,
//! SEED licence and email delivery states. The search, filter, sort and page live in the
//! address (a plain GET form and links, so the page works before hydration and a refresh
//! keeps them); once hydrated, the page asks every few seconds whether anything changed and
//! reloads the list when it has (an invitee signing up shows without a reload). Rows can be
//! chosen for Resend, Revoke or Request SEED onboarding, each confirmed first.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{
    list_invitations, request_seed, resend_invitations, retry_provisioning, revoke_invitations,
};
use crate::components::{ConfirmDialog, ErrorNotice, PageHeading};
use crate::domain::AccountState;
use crate::error::AppError;
use crate::format::{sg_date_time, thousands};
use crate::wire::{ActionOutcome, SortKey, StatusPage, StatusQuery, StatusRow};

/// How often the page asks whether the list changed.
const POLL_MS: u64 = 3000;

#[component]
pub fn InviteStatusPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| StatusQuery::from_params(|k| p.get(k))));
    // Bumped when the server says something changed.
    let refresh = RwSignal::new(0u32);
    let list = Resource::new(
        move || (query.get(), refresh.get()),
        |(q, _)| list_invitations(q),
    );
    watch_for_changes(list, refresh);
    let actions = Actions {
        selected: RwSignal::new(BTreeSet::new()),
        asking: RwSignal::new(None),
        outcome: RwSignal::new(None),
        busy: RwSignal::new(false),
        refresh,
    };
    provide_context(actions);
    // A new search, filter, sort or page starts with nothing chosen.
    Effect::new(move |_| {
        query.track();
        actions.selected.set(BTreeSet::new());
    });

    view! {
        <PageHeading
            title="Invite user status"
            lead=concat!(
                "The users your agency invited, their TechPass account status and their SEED licence status. ",
                "Names appear once they are known: when the person signs up, or when their account was created for them.",
            )
        />
        <SearchForm query/>
        <Outcome/>
        <Confirm/>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || list.get().map(|answer| match answer {
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
                Ok(page) => view! { <StatusTable page/> }.into_any(),
            })}
        </Transition>
    }
}

/// Resend, Revoke or Request SEED onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Resend,
    Revoke,
    RequestSeed,
    /// Provisioning failed: put the account back in the queue.
    Retry,
}

impl Action {
    /// The button that asks for it.
    fn label(self) -> &'static str {
        match self {
            Action::Resend => "Resend",
            Action::Revoke => "Revoke",
            Action::RequestSeed => "Request SEED onboarding",
            Action::Retry => "Retry",
        }
    }

    /// The confirmation's title, for `n` chosen invitations.
    fn question(self, n: usize) -> String {
        match self {
            Action::Resend | Action::Revoke => format!("{} {}?", self.label(), invitations(n)),
            Action::Retry => format!("Make the TechPass account again for {}?", invitations(n)),
            Action::RequestSeed => format!("Request SEED onboarding for {}?", invitations(n)),
        }
    }

    /// The confirmation's button: the action's own button, but for SEED's shorter word.
    fn confirm(self) -> &'static str {
        match self {
            Action::RequestSeed => "Request",
            other => other.label(),
        }
    }

    /// What it did, for `n` rows.
    fn done(self, n: usize) -> String {
        let people = || {
            format!(
                "{} {}",
                thousands(n as u64),
                if n == 1 { "person" } else { "people" }
            )
        };
        match self {
            Action::Resend => format!("Sent a new link to {}.", people()),
            Action::Revoke => format!("Revoked {}.", invitations(n)),
            Action::RequestSeed => format!("Requested SEED onboarding for {}.", people()),
            Action::Retry => format!("Asked TechPass again for {}.", invitations(n)),
        }
    }

    /// The heading of the rows it was not done for (`n` of them).
    fn not_done(self, n: usize) -> String {
        match self {
            Action::Resend => format!("{} could not be resent:", invitations(n)),
            Action::Revoke => format!("{} could not be revoked:", invitations(n)),
            Action::Retry => format!("{} could not be retried:", invitations(n)),
            Action::RequestSeed => {
                format!(
                    "SEED onboarding could not be requested for {}:",
                    invitations(n)
                )
            }
        }
    }
}

/// The rows chosen, the action waiting for confirmation, and what the last one did.
#[derive(Clone, Copy)]
struct Actions {
    /// Invitation ids.
    selected: RwSignal<BTreeSet<String>>,
    asking: RwSignal<Option<(Action, Vec<String>)>>,
    outcome: RwSignal<Option<(Action, Result<ActionOutcome, AppError>)>>,
    busy: RwSignal<bool>,
    refresh: RwSignal<u32>,
}

impl Actions {
    fn run(self, action: Action, ids: Vec<String>) {
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let result = match action {
                Action::Resend => resend_invitations(ids).await,
                Action::Revoke => revoke_invitations(ids).await,
                Action::RequestSeed => request_seed(ids).await,
                Action::Retry => retry_provisioning(ids).await,
            };
            self.busy.set(false);
            self.selected.set(BTreeSet::new());
            self.outcome.set(Some((action, result)));
            self.refresh.update(|n| *n = n.wrapping_add(1));
        });
    }
}

fn invitations(n: usize) -> String {
    format!(
        "{} {}",
        thousands(n as u64),
        if n == 1 { "invitation" } else { "invitations" }
    )
}

/// The confirmation for the action asked for.
#[component]
fn Confirm() -> impl IntoView {
    let actions = expect_context::<Actions>();
    move || {
        actions.asking.get().map(|(action, ids)| {
            let body = match action {
                Action::Resend => "Each person gets an email with a new link. The links in \
                    earlier emails stop working."
                    .to_string(),
                Action::Revoke => "Their links stop working at once, and they cannot create or \
                    activate an account with them. Accounts that are already active are not \
                    changed."
                    .to_string(),
                Action::RequestSeed => "Each person who has a TechPass account and has not been \
                    asked before gets an email on how to onboard to SEED (public officers: \
                    Onboard to SEED; vendors: a service request in the TechPass service desk), \
                    and their SEED licence becomes Pending."
                    .to_string(),
                Action::Retry => "TechPass is asked again to make each account, as it was \
                    entered. Fix the cause shown first (for example, a username that was \
                    taken). Their email goes once the account exists."
                    .to_string(),
            };
            let title = action.question(ids.len());
            view! {
                <ConfirmDialog
                    title
                    body
                    confirm=action.confirm()
                    on_confirm=Callback::new(move |()| {
                        actions.asking.set(None);
                        actions.run(action, ids.clone());
                    })
                    on_cancel=Callback::new(move |()| actions.asking.set(None))
                />
            }
        })
    }
}

/// What the last Resend, Revoke or Request SEED onboarding did, row by row where it could not.
#[component]
fn Outcome() -> impl IntoView {
    let actions = expect_context::<Actions>();
    move || {
        actions.outcome.get().map(|(action, result)| match result {
            Err(error) => view! { <ErrorNotice error/> }.into_any(),
            Ok(outcome) => {
                let done = action.done(outcome.done.len());
                let refused = outcome.refused.len();
                view! {
                    <div class="notice status-outcome" role="status">
                        <p class="notice__title">{done}</p>
                        {(refused > 0).then(|| view! {
                            <p>{action.not_done(refused)}</p>
                            <ul>
                                {outcome.refused.into_iter().map(|r| view! {
                                    <li>{if r.email.is_empty() { r.reason } else { format!("{} {}", r.email, r.reason) }}</li>
                                }).collect_view()}
                            </ul>
                        })}
                    </div>
                }
                .into_any()
            }
        })
    }
}

/// Resend, Revoke and Request SEED onboarding for the chosen rows.
#[component]
fn ActionBar() -> impl IntoView {
    let actions = expect_context::<Actions>();
    let count = move || actions.selected.with(BTreeSet::len);
    let ask = move |action: Action| {
        let ids: Vec<String> = actions.selected.with(|s| s.iter().cloned().collect());
        if !ids.is_empty() {
            actions.asking.set(Some((action, ids)));
        }
    };
    view! {
        <div class="status-actions" role="group" aria-label="Actions for the chosen invitations">
            <span class="status-actions__count" aria-live="polite">
                {move || match count() {
                    0 => "Choose invitations to resend, revoke or request SEED onboarding"
                        .to_string(),
                    n => format!("{} chosen", thousands(n as u64)),
                }}
            </span>
            <button type="button" class="button" disabled=move || count() == 0 || actions.busy.get()
                on:click=move |_| ask(Action::Resend)>"Resend"</button>
            <button type="button" class="button button--warning" disabled=move || count() == 0 || actions.busy.get()
                on:click=move |_| ask(Action::Revoke)>"Revoke"</button>
            <button type="button" class="button" disabled=move || count() == 0 || actions.busy.get()
                on:click=move |_| ask(Action::RequestSeed)>{Action::RequestSeed.label()}</button>
        </div>
    }
}

/// In the browser: asks for the agency's change marker every `POLL_MS` while the tab is
/// visible, and reloads the list when it differs from the one the list was loaded with.
fn watch_for_changes(
    list: Resource<Result<StatusPage, crate::error::AppError>>,
    refresh: RwSignal<u32>,
) {
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || {
                if document().hidden() {
                    return;
                }
                let Some(Ok(shown)) = list.get_untracked() else {
                    return;
                };
                leptos::task::spawn_local(async move {
                    if let Ok(now) = crate::api::status_version().await {
                        if now != shown.version {
                            refresh.update(|n| *n = n.wrapping_add(1));
                        }
                    }
                });
            },
            std::time::Duration::from_millis(POLL_MS),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
}

/// Search (email or name) and the status filter: a GET form, so it needs no script.
#[component]
fn SearchForm(query: Memo<StatusQuery>) -> impl IntoView {
    let q = move || query.get();
    view! {
        <form class="status-search" method="get" action=StatusQuery::PATH role="search">
            <div class="field">
                <label class="field__label" for="status-q">"Search by email or name"</label>
                <p class="field__hint" id="status-q-hint">
                    "The start of any word of the address or name: " <i>"tan"</i> ", "
                    <i>"mei tan"</i> ", " <i>"@acme.com"</i>
                </p>
                <input class="input" id="status-q" name="q" type="search"
                    aria-describedby="status-q-hint"
                    prop:value=move || q().search maxlength=StatusQuery::MAX_SEARCH/>
            </div>
            <div class="field">
                <label class="field__label" for="status-filter">"TechPass account status"</label>
                <select class="input" id="status-filter" name="status">
                    <option value="" selected=move || q().status.is_none()>"All"</option>
                    {AccountState::ALL.into_iter().map(|s| view! {
                        <option value=s.param() selected=move || q().status == Some(s)>{s.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            // Keep the sort and page size; a new search starts at page 1.
            {move || {
                let q = q();
                let d = StatusQuery::default();
                view! {
                    {(q.sort != d.sort).then(|| view! { <input type="hidden" name="sort" value=q.sort.param()/> })}
                    {(q.descending != q.sort.descending_by_default()).then(|| view! {
                        <input type="hidden" name="dir" value=if q.descending { "desc" } else { "asc" }/>
                    })}
                    {(q.per_page != d.per_page).then(|| view! { <input type="hidden" name="per_page" value=q.per_page.to_string()/> })}
                }
            }}
            <button class="button" type="submit">"Search"</button>
            {move || (!q().search.is_empty() || q().status.is_some()).then(|| view! {
                <a class="status-search__clear" href=StatusQuery::PATH>"Clear search and filter"</a>
            })}
        </form>
    }
}

#[component]
fn StatusTable(page: StatusPage) -> impl IntoView {
    let q = page.query.clone();
    let first = (u64::from(q.page) - 1) * u64::from(q.per_page) + 1;
    let last = (first + page.rows.len() as u64).saturating_sub(1);
    let summary = if page.total == 0 {
        if q.search.is_empty() && q.status.is_none() {
            "No one has been invited yet.".to_string()
        } else {
            "No invitations match your search.".to_string()
        }
    } else {
        format!(
            "Showing {}–{} of {} {}",
            thousands(first),
            thousands(last),
            thousands(page.total),
            if page.total == 1 {
                "invitation"
            } else {
                "invitations"
            }
        )
    };
    let pages = page.pages();
    let rows = page.rows.clone();
    let csv = q.export_href("csv");
    let xlsx = q.export_href("xlsx");
    let page_ids: Vec<String> = page.rows.iter().map(|r| r.id.clone()).collect();
    let actions = expect_context::<Actions>();
    let all_chosen = {
        let ids = page_ids.clone();
        move || {
            !ids.is_empty()
                && actions
                    .selected
                    .with(|s| ids.iter().all(|id| s.contains(id)))
        }
    };
    let choose_all = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        actions.selected.update(|s| {
            for id in &page_ids {
                if on {
                    s.insert(id.clone());
                } else {
                    s.remove(id);
                }
            }
        });
    };
    let header = move |key: SortKey, label: &'static str| {
        let sorted = q.sort == key;
        let aria_sort = match (sorted, q.descending) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        };
        let href = q.sorted_by(key).href();
        let arrow = match (sorted, q.descending) {
            (false, _) => "",
            (true, true) => " ▼",
            (true, false) => " ▲",
        };
        view! {
            <th scope="col" aria-sort=aria_sort>
                <a href=href class="sort-link">{label}<span aria-hidden="true">{arrow}</span></a>
            </th>
        }
    };
    view! {
        <p class="status-summary" role="status" aria-live="polite">{summary}</p>
        {(!rows.is_empty()).then(|| view! {
            <p class="status-export">
                "Download this list (every page, with this search and filter): "
                <a href=csv download rel="external">"CSV"</a>
                " or "
                <a href=xlsx download rel="external">"Excel (.xlsx)"</a>
            </p>
        })}
        {(!rows.is_empty()).then(|| view! { <ActionBar/> })}
        {(!rows.is_empty()).then(|| view! {
            <div class="table-scroll">
                <table class="table status-table">
                    <caption class="visually-hidden">"Invited users"</caption>
                    <thead>
                        <tr>
                            <th scope="col" class="col-select">
                                <input type="checkbox" aria-label="Choose every invitation on this page"
                                    prop:checked=all_chosen on:change=choose_all/>
                            </th>
                            {header(SortKey::Email, "Email")}
                            {header(SortKey::Name, "Name")}
                            <th scope="col">"Officer or vendor"</th>
                            <th scope="col">"Invitation type"</th>
                            <th scope="col">"Invited by"</th>
                            {header(SortKey::InvitedOn, "Invited on")}
                            {header(SortKey::Status, "TechPass account")}
                            <th scope="col">"SEED licence"</th>
                            <th scope="col">"Email delivery"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|row| view! { <StatusRowView row/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        }.into_any())}
        {(pages > 1).then(|| view! { <Pager query=page.query.clone() pages/> })}
    }
    .into_any()
}

#[component]
fn StatusRowView(row: StatusRow) -> impl IntoView {
    let name = row.name();
    let actions = expect_context::<Actions>();
    let id = row.id.clone();
    let chosen = {
        let id = id.clone();
        move || actions.selected.with(|s| s.contains(&id))
    };
    let toggle = {
        let id = id.clone();
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            actions.selected.update(|s| {
                if on {
                    s.insert(id.clone());
                } else {
                    s.remove(&id);
                }
            });
        }
    };
    let resend_one = (row.account == AccountState::Expired).then(|| {
        let email = row.email.clone();
        let id = id.clone();
        view! {
            <button type="button" class="link-button"
                on:click=move |_| actions.asking.set(Some((Action::Resend, vec![id.clone()])))>
                "Resend"<span class="visually-hidden">{format!(" to {email}")}</span>
            </button>
        }
    });
    let request_seed_one = row.can_request_seed().then(|| {
        let email = row.email.clone();
        view! {
            <button type="button" class="link-button"
                on:click=move |_| actions.asking.set(Some((Action::RequestSeed, vec![id.clone()])))>
                "Request"<span class="visually-hidden">{format!(" SEED onboarding for {email}")}</span>
            </button>
        }
    });
    let retry_one = (row.account == AccountState::ProvisioningFailed).then(|| {
        let email = row.email.clone();
        let id = row.id.clone();
        view! {
            <button type="button" class="link-button"
                on:click=move |_| actions.asking.set(Some((Action::Retry, vec![id.clone()])))>
                "Retry"<span class="visually-hidden">{format!(" making the account of {email}")}</span>
            </button>
        }
    });
    let problem = row
        .problem
        .clone()
        .filter(|_| row.account == AccountState::ProvisioningFailed)
        .map(|p| view! { <span class="status-problem">{format!(" ({p})")}</span> });
    let state_class = match row.account {
        AccountState::Active => "tag tag--success",
        AccountState::Expired
        | AccountState::Revoked
        | AccountState::DeliveryFailed
        | AccountState::ProvisioningFailed => "tag tag--error",
        AccountState::Invited | AccountState::Created | AccountState::Provisioning => {
            "tag tag--info"
        }
    };
    view! {
        <tr data-email=row.email.clone()>
            <td class="col-select">
                <input type="checkbox" aria-label=format!("Select {}", row.email)
                    prop:checked=chosen on:change=toggle/>
            </td>
            <td class="status-table__email">{row.email.clone()}</td>
            <td>{match name {
                Some(n) => view! { <span>{n}</span> }.into_any(),
                None => view! { <span class="muted">"Not known yet"</span> }.into_any(),
            }}</td>
            <td>{row.kind_label()}</td>
            <td>{row.type_label()}</td>
            <td>{row.invited_by.clone()}</td>
            <td>{sg_date_time(row.invited_on)}</td>
            <td><span class=state_class>{row.account.label()}</span>{problem}{resend_one}{retry_one}</td>
            <td>{row.seed.label()}{request_seed_one}</td>
            <td>{row.delivery.label()}</td>
        </tr>
    }
    .into_any()
}

#[component]
fn Pager(query: StatusQuery, pages: u32) -> impl IntoView {
    let page = query.page;
    let prev = (page > 1).then(|| query.at_page(page - 1).href());
    let next = (page < pages).then(|| query.at_page(page + 1).href());
    view! {
        <nav class="pager" aria-label="Pages of the list">
            {prev.map(|href| view! { <a class="pager__link" href=href rel="prev">"Previous page"</a> })}
            <span class="pager__where">{format!("Page {} of {}", thousands(u64::from(page)), thousands(u64::from(pages)))}</span>
            {next.map(|href| view! { <a class="pager__link" href=href rel="next">"Next page"</a> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_seed_onboarding_says_what_it_asks_and_did() {
        let a = Action::RequestSeed;
        assert_eq!(a.question(1), "Request SEED onboarding for 1 invitation?");
        assert_eq!(a.question(2), "Request SEED onboarding for 2 invitations?");
        assert_eq!(a.done(1), "Requested SEED onboarding for 1 person.");
        assert_eq!(a.done(1200), "Requested SEED onboarding for 1,200 people.");
        assert_eq!(
            a.not_done(1),
            "SEED onboarding could not be requested for 1 invitation:"
        );
        // Resend and Revoke still read as before.
        assert_eq!(Action::Resend.question(1), "Resend 1 invitation?");
        assert_eq!(Action::Resend.done(2), "Sent a new link to 2 people.");
        assert_eq!(
            Action::Revoke.not_done(3),
            "3 invitations could not be revoked:"
        );
    }
}
