//! The list as a table that renders only the rows in view, so 100,000 rows scroll smoothly.
//! It stays a real table for screen readers: caption, column headers, and `aria-rowcount` /
//! `aria-rowindex` telling where the rendered rows sit in the whole list.

use leptos::prelude::*;

use crate::batch::browser;
use crate::batch::model::{field_label, DraftRow, RowState};
use crate::batch::Batch;
use crate::domain::UserKind;

/// Every row is this tall (CSS keeps it so), which makes the visible slice a division.
const ROW_PX: f64 = 52.0;
/// The scroll area's height until it is measured.
const VIEW_PX: f64 = 520.0;
/// Rows rendered above and below the visible ones.
const OVERSCAN: usize = 8;

#[component]
pub fn BatchTable(only_attention: RwSignal<bool>) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let scroll_top = RwSignal::new(0.0_f64);
    let view_px = RwSignal::new(VIEW_PX);
    let open_menu = RwSignal::new(None::<usize>);
    // Positions (into the full list) of the rows the filter shows.
    let shown = Memo::new(move |_| {
        let only = only_attention.get();
        batch.rows.with(|rows| {
            (0..rows.len())
                .filter(|&i| rows[i].is_active() && (!only || rows[i].needs_attention()))
                .collect::<Vec<usize>>()
        })
    });
    // A changed filter starts at the top.
    Effect::new(move |_| {
        only_attention.track();
        scroll_top.set(0.0);
    });
    let window = Memo::new(move |_| {
        let total = shown.with(Vec::len);
        let first = ((scroll_top.get() / ROW_PX) as usize).saturating_sub(OVERSCAN);
        let count = (view_px.get() / ROW_PX).ceil() as usize + 2 * OVERSCAN;
        let first = first.min(total);
        (first, (first + count).min(total), total)
    });
    let visible = move || {
        let (first, last, _) = window.get();
        let positions: Vec<usize> = shown.with(|s| s[first..last].to_vec());
        batch.rows.with(|rows| {
            positions
                .iter()
                .enumerate()
                .filter_map(|(k, &p)| Some((first + k, p, rows.get(p)?.clone())))
                .collect::<Vec<_>>()
        })
    };
    let on_scroll = move |ev: leptos::ev::Event| {
        let el: leptos::web_sys::HtmlElement = event_target(&ev);
        scroll_top.set(f64::from(el.scroll_top()));
        view_px.set(f64::from(el.client_height()).max(ROW_PX));
    };
    // `style:height` sets the height through the CSSOM, which the Content-Security-Policy
    // allows; a `style` attribute is an inline style, which it refuses.
    let spacer = |px: f64| {
        view! {
            <tr class="batch-table__spacer" aria-hidden="true">
                <td colspan="6" style:height=format!("{px}px")></td>
            </tr>
        }
    };
    view! {
        <div
            class="batch-table"
            tabindex="0"
            role="region"
            aria-labelledby="batch-caption"
            on:scroll=on_scroll
        >
            <table aria-rowcount=move || window.get().2 + 1>
                <caption id="batch-caption">
                    {move || {
                        let name = batch
                            .meta
                            .with(|m| m.as_ref().map(|m| m.file_name.clone()).unwrap_or_default());
                        if only_attention.get() {
                            format!("Rows of {name} that need attention")
                        } else {
                            format!("Users in {name}")
                        }
                    }}
                </caption>
                <thead>
                    <tr aria-rowindex="1">
                        <th scope="col" class="col-row">"Row"</th>
                        <th scope="col">"Email address"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col" class="col-kind">"User type"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="col-actions">
                            <span class="visually-hidden">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>
                    {move || spacer(window.get().0 as f64 * ROW_PX)}
                    <For
                        each=visible
                        key=|(index, _, row)| (*index, row.id.clone(), format!("{:?}{:?}", row.state, row.raw), row.problems.len() + row.duplicates.len() + row.server_problems.len())
                        children=move |(index, pos, row)| {
                            view! { <BatchTableRow index pos row open_menu/> }
                        }
                    />
                    {move || {
                        let (_, last, total) = window.get();
                        spacer((total - last) as f64 * ROW_PX)
                    }}
                </tbody>
            </table>
            {move || {
                (shown.with(Vec::is_empty))
                    .then(|| {
                        let text = if only_attention.get() {
                            "No rows need attention."
                        } else {
                            "There are no users in this list."
                        };
                        view! { <p class="batch-table__empty">{text}</p> }
                    })
            }}
        </div>
    }
    .into_any()
}

fn status(row: &DraftRow) -> (&'static str, &'static str) {
    match row.state {
        RowState::Invited => ("Invited", "tag tag--success"),
        RowState::Removed => ("Removed", "tag"),
        RowState::Ready if row.needs_attention() => ("Needs attention", "tag tag--error"),
        RowState::Ready => ("Ready", "tag tag--info"),
    }
}

#[component]
fn BatchTableRow(
    index: usize,
    pos: usize,
    row: DraftRow,
    open_menu: RwSignal<Option<usize>>,
) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let (label, class) = status(&row);
    let problems: Vec<String> = row
        .all_problems()
        .map(|p| format!("{}: {}", field_label(&p.field), p.message))
        .collect();
    let summary = problems.join(". ");
    let kind = match row.kind() {
        Some(UserKind::PublicOfficer) => "Public officer",
        Some(UserKind::Vendor) => "Vendor",
        None => "–",
    };
    let name = format!("{} {}", row.raw.first_name.trim(), row.raw.last_name.trim());
    let line = row.line;
    let menu_id = format!("row-menu-{pos}");
    let button_id = format!("row-actions-{pos}");
    let open = move || open_menu.get() == Some(pos);
    let invited = row.state == RowState::Invited;
    let close_and_focus = move || {
        open_menu.set(None);
        browser::focus(&format!("row-actions-{pos}"));
    };
    let on_menu_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            close_and_focus();
        }
    };
    view! {
        <tr aria-rowindex=index + 2 class:row--attention=row.needs_attention()>
            <td class="col-row">{line}</td>
            <td class="cell-clip" title=row.raw.email.clone()>{row.raw.email.clone()}</td>
            <td class="cell-clip">{name}</td>
            <td class="col-kind">{kind}</td>
            <td class="cell-clip" title=summary.clone()>
                <span class=class>{label}</span>
                {(!summary.is_empty()).then(|| view! { <span class="row-problem">{summary.clone()}</span> })}
                {row
                    .trace_id
                    .clone()
                    .filter(|_| !problems.is_empty())
                    .map(|t| view! { <span class="row-trace">"Trace ID " <code>{t}</code></span> })}
            </td>
            <td class="col-actions">
                <div class="menu">
                    <button
                        type="button"
                        class="button button--icon"
                        id=button_id
                        aria-label=format!("Actions for row {line}")
                        aria-haspopup="menu"
                        aria-controls=menu_id.clone()
                        aria-expanded=move || if open() { "true" } else { "false" }
                        on:click=move |_| {
                            open_menu.update(|m| *m = if *m == Some(pos) { None } else { Some(pos) });
                            if open_menu.get_untracked() == Some(pos) {
                                browser::focus(&format!("row-view-{pos}"));
                            }
                        }
                    >
                        <span aria-hidden="true">"⋯"</span>
                    </button>
                    <ul class="menu__list" role="menu" id=menu_id hidden=move || !open() on:keydown=on_menu_key>
                        <li role="none">
                            <button
                                type="button"
                                role="menuitem"
                                id=format!("row-view-{pos}")
                                on:click=move |_| {
                                    open_menu.set(None);
                                    batch.editing.set(Some(pos));
                                }
                            >
                                "View details"
                            </button>
                        </li>
                        {(!invited)
                            .then(|| {
                                view! {
                                    <li role="none">
                                        <button
                                            type="button"
                                            role="menuitem"
                                            on:click=move |_| {
                                                open_menu.set(None);
                                                batch.remove(pos);
                                                browser::focus("batch-caption");
                                            }
                                        >
                                            "Remove"
                                        </button>
                                    </li>
                                }
                            })}
                    </ul>
                </div>
            </td>
        </tr>
    }
    .into_any()
}
