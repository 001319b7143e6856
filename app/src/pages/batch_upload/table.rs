//! The list as an editable grid that renders only the rows in view, so 100,000 rows scroll
//! smoothly. It follows the ARIA grid pattern: one tab stop, the arrow keys move between
//! cells (Home/End to the row's ends, Ctrl+Home/End to the list's, Page Up/Down by a
//! screenful), Enter or F2 or a double-click edits a field in place (Enter saves with the same
//! rules as View details, Escape cancels), Space selects the row. `aria-rowcount`,
//! `aria-rowindex` and `aria-colindex` tell where the rendered cells sit in the whole list.

use std::collections::BTreeSet;

use leptos::html::Div;
use leptos::prelude::*;

use crate::batch::browser;
use crate::batch::model::{field_label, DraftRow, RowState};
use crate::batch::Batch;
use crate::domain::{RawAccount, UserKind};

/// Every row is this tall (CSS keeps it so), which makes the visible slice a division.
const ROW_PX: f64 = 52.0;
/// The scroll area's height until it is measured.
const VIEW_PX: f64 = 520.0;
/// Rows rendered above and below the visible ones.
const OVERSCAN: usize = 8;

/// The grid's columns: select, row number, the nine fields, user type, status, actions.
const COL_SELECT: usize = 0;
const COL_ROW: usize = 1;
const COL_FIRST_FIELD: usize = 2;
const COL_KIND: usize = COL_FIRST_FIELD + RawAccount::FIELDS.len();
const COL_STATUS: usize = COL_KIND + 1;
const COL_ACTIONS: usize = COL_STATUS + 1;
const COLUMNS: usize = COL_ACTIONS + 1;

/// The field a column edits.
fn field_of(col: usize) -> Option<&'static str> {
    col.checked_sub(COL_FIRST_FIELD)
        .and_then(|i| RawAccount::FIELDS.get(i).copied())
}

/// The element that takes focus for a cell: its control, or the cell itself.
fn focus_id(pos: usize, col: usize) -> String {
    match col {
        COL_SELECT => format!("select-{pos}"),
        COL_ACTIONS => format!("row-actions-{pos}"),
        _ => format!("cell-{pos}-{col}"),
    }
}

/// The grid's shared state: the active cell (index into the rows shown, column), the cell
/// being edited (row position, column), the open row menu, the selected rows.
#[derive(Clone, Copy)]
pub(super) struct Grid {
    pub(super) active: RwSignal<(usize, usize)>,
    editing: RwSignal<Option<(usize, usize)>>,
    open_menu: RwSignal<Option<usize>>,
    pub(super) selected: RwSignal<BTreeSet<usize>>,
}

impl Grid {
    pub(super) fn new() -> Grid {
        Grid {
            active: RwSignal::new((0, COL_FIRST_FIELD)),
            editing: RwSignal::new(None),
            open_menu: RwSignal::new(None),
            selected: RwSignal::new(BTreeSet::new()),
        }
    }
}

#[component]
pub fn BatchTable(only_attention: RwSignal<bool>, grid: Grid) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let scroll_top = RwSignal::new(0.0_f64);
    let view_px = RwSignal::new(VIEW_PX);
    let area = NodeRef::<Div>::new();
    // Positions (into the full list) of the rows the filter shows.
    let shown = Memo::new(move |_| {
        let only = only_attention.get();
        batch.rows.with(|rows| {
            (0..rows.len())
                .filter(|&i| rows[i].is_active() && (!only || rows[i].needs_attention()))
                .collect::<Vec<usize>>()
        })
    });
    provide_context(Shown(shown));
    // A changed filter starts at the top.
    Effect::new(move |_| {
        only_attention.track();
        scroll_top.set(0.0);
        grid.active.update(|a| a.0 = 0);
    });
    // The grid's first render is the rows in view alone, so that a new list's first rows
    // paint in one short task; the OVERSCAN rows around them follow once they are painted.
    let overscan = RwSignal::new(0);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            browser::after_paint().await;
            // (try_set: the grid may be gone by then.)
            let _ = overscan.try_set(OVERSCAN);
        });
    });
    // The roving tab stop: only the active cell (or its control) is in the tab order. A row
    // is drawn with its cells' tab order as it is then; this moves it when the active cell
    // changes, or another row comes to be at the active cell's place: one effect for the
    // grid, not one per cell (a new list's first rows render in a shorter task).
    Effect::new(move |before: Option<Option<String>>| {
        let (k, col) = grid.active.get();
        let now = shown.with(|s| s.get(k).map(|&pos| focus_id(pos, col)));
        let before = before.flatten();
        if before != now {
            browser::move_tab_stop(before.as_deref(), now.as_deref());
        }
        now
    });
    // The rows in view and the overscan on either side (none above the first: at the top of
    // the list, a screenful and OVERSCAN rows, not twice OVERSCAN).
    let window = Memo::new(move |_| {
        let total = shown.with(Vec::len);
        let top = (scroll_top.get() / ROW_PX) as usize;
        let in_view = (view_px.get() / ROW_PX).ceil() as usize;
        let overscan = overscan.get();
        let first = top.saturating_sub(overscan).min(total);
        (first, (top + in_view + overscan).min(total), total)
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
    // Moves the active cell, scrolls it into the rendered rows, and focuses it.
    let go_to = move |k: usize, col: usize| {
        let total = shown.with_untracked(Vec::len);
        if total == 0 {
            return;
        }
        let k = k.min(total - 1);
        let col = col.min(COLUMNS - 1);
        grid.active.set((k, col));
        let top = k as f64 * ROW_PX;
        let view = view_px.get_untracked();
        let current = scroll_top.get_untracked();
        let wanted = if top < current {
            Some(top)
        } else if top + ROW_PX > current + view - ROW_PX {
            Some((top + 2.0 * ROW_PX - view).max(0.0))
        } else {
            None
        };
        if let Some(wanted) = wanted {
            scroll_top.set(wanted);
            if let Some(el) = area.get_untracked() {
                el.set_scroll_top(wanted as i32);
            }
        }
        // At once when the cell is rendered: a focus that landed later would make an older
        // cell the active one again, under keys pressed meanwhile.
        if let Some(pos) = shown.with_untracked(|s| s.get(k).copied()) {
            browser::focus_now(&focus_id(pos, col));
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        // Keys typed into a cell's editor, and the row menu's own keys, are theirs.
        let target: leptos::web_sys::Element = event_target(&ev);
        if target
            .matches("input[type=text], [role=menuitem]")
            .unwrap_or(false)
        {
            return;
        }
        let (k, col) = grid.active.get_untracked();
        let page = ((view_px.get_untracked() / ROW_PX) as usize).max(1);
        let ctrl = ev.ctrl_key() || ev.meta_key();
        let moved = match ev.key().as_str() {
            "ArrowDown" => Some((k + 1, col)),
            "ArrowUp" => Some((k.saturating_sub(1), col)),
            "ArrowRight" => Some((k, col + 1)),
            "ArrowLeft" => Some((k, col.saturating_sub(1))),
            "Home" if ctrl => Some((0, 0)),
            "End" if ctrl => Some((usize::MAX, COLUMNS - 1)),
            "Home" => Some((k, 0)),
            "End" => Some((k, COLUMNS - 1)),
            "PageDown" => Some((k + page, col)),
            "PageUp" => Some((k.saturating_sub(page), col)),
            _ => None,
        };
        if let Some((k, col)) = moved {
            ev.prevent_default();
            go_to(k, col);
            return;
        }
        let Some(pos) = shown.with_untracked(|s| s.get(k).copied()) else {
            return;
        };
        match ev.key().as_str() {
            "Enter" | "F2" if field_of(col).is_some() => {
                ev.prevent_default();
                start_edit(batch, grid, pos, col);
            }
            " " if col != COL_SELECT && col != COL_ACTIONS => {
                ev.prevent_default();
                toggle(grid, pos);
            }
            _ => {}
        }
    };
    // `style:height` sets the height through the CSSOM, which the Content-Security-Policy
    // allows; a `style` attribute is an inline style, which it refuses.
    let spacer = |px: f64| {
        view! {
            <tr class="batch-table__spacer" aria-hidden="true">
                <td colspan=COLUMNS.to_string() style:height=format!("{px}px")></td>
            </tr>
        }
    };
    let all_shown_selected = move || {
        let selected = grid.selected.get();
        shown.with(|s| !s.is_empty() && s.iter().all(|p| selected.contains(p)))
    };
    let header = |label: &'static str, class: &'static str, col: usize| {
        view! {
            <th scope="col" class=class aria-colindex=col + 1>
                {label}
            </th>
        }
    };
    view! {
        <div
            class="batch-table"
            tabindex="0"
            role="region"
            aria-labelledby="batch-caption"
            node_ref=area
            on:scroll=on_scroll
        >
            <table
                role="grid"
                aria-labelledby="batch-caption"
                aria-describedby="batch-grid-help"
                aria-rowcount=move || window.get().2 + 1
                aria-colcount=COLUMNS.to_string()
                on:keydown=on_key
            >
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
                        <th scope="col" class="col-select" aria-colindex="1">
                            <input
                                type="checkbox"
                                id="select-all"
                                aria-label="Select all rows shown"
                                prop:checked=all_shown_selected
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let all = shown.get_untracked();
                                    grid.selected
                                        .update(|s| {
                                            if on {
                                                s.extend(all);
                                            } else {
                                                s.clear();
                                            }
                                        });
                                }
                            />
                        </th>
                        {header("Row", "col-row", COL_ROW)}
                        {RawAccount::FIELDS
                            .iter()
                            .enumerate()
                            .map(|(i, f)| header(field_label(f), "col-field", COL_FIRST_FIELD + i))
                            .collect_view()}
                        {header("User type", "col-kind", COL_KIND)}
                        {header("Status", "col-status", COL_STATUS)}
                        <th scope="col" class="col-actions" aria-colindex=COL_ACTIONS + 1>
                            <span class="visually-hidden">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                // Which cell has focus, and a double click on a field, are taken here for
                // every row (the row's cells have no handlers of their own: a new list's
                // first rows render in a shorter task).
                <tbody
                    on:focusin=move |ev: leptos::ev::FocusEvent| {
                        if let Some(cell) = cell_of(&event_target(&ev)) {
                            grid.active.set(cell);
                        }
                    }
                    on:dblclick=move |ev: leptos::ev::MouseEvent| {
                        let Some((k, col)) = cell_of(&event_target(&ev)) else {
                            return;
                        };
                        let Some(pos) = shown.with_untracked(|s| s.get(k).copied()) else {
                            return;
                        };
                        if field_of(col).is_some() {
                            grid.active.set((k, col));
                            start_edit(batch, grid, pos, col);
                        }
                    }
                >
                    {move || spacer(window.get().0 as f64 * ROW_PX)}
                    <For
                        each=visible
                        key=|(index, _, row)| (*index, row.line, format!("{:?}{:?}", row.state, row.raw), row.problems.len() + row.duplicates.len() + row.server_problems.len())
                        children=move |(index, pos, row)| {
                            view! { <BatchTableRow index pos row grid/> }
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
        <p class="hint" id="batch-grid-help">
            "In the list, the arrow keys move between cells; Enter edits a cell and saves it, Escape cancels; Space selects a row."
        </p>
    }
    .into_any()
}

/// The grid position (the row among those shown, the column) of the body cell holding `el`.
fn cell_of(el: &leptos::web_sys::Element) -> Option<(usize, usize)> {
    let td = el.closest("td[aria-colindex]").ok().flatten()?;
    let tr = td.closest("tr[aria-rowindex]").ok().flatten()?;
    let index =
        |el: &leptos::web_sys::Element, name: &str| el.get_attribute(name)?.parse::<usize>().ok();
    Some((
        index(&tr, "aria-rowindex")?.checked_sub(2)?,
        index(&td, "aria-colindex")?.checked_sub(1)?,
    ))
}

/// Edits a field in place: a cell whose value has a line break opens View details instead
/// (a one-line editor would lose the breaks).
fn start_edit(batch: Batch, grid: Grid, pos: usize, col: usize) {
    let Some(field) = field_of(col) else {
        return;
    };
    let multiline = batch.rows.with_untracked(|rows| {
        rows.get(pos)
            .and_then(|r| r.raw.value(field))
            .is_some_and(|v| v.contains('\n'))
    });
    if multiline {
        batch.editing.set(Some(pos));
        return;
    }
    grid.editing.set(Some((pos, col)));
    browser::focus(&format!("edit-{pos}-{col}"));
}

fn toggle(grid: Grid, pos: usize) {
    grid.selected.update(|s| {
        if !s.remove(&pos) {
            s.insert(pos);
        }
    });
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
fn BatchTableRow(index: usize, pos: usize, row: DraftRow, grid: Grid) -> impl IntoView {
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
    let line = row.line;
    let menu_id = format!("row-menu-{pos}");
    let controls_id = menu_id.clone();
    let button_id = format!("row-actions-{pos}");
    let open_menu = grid.open_menu;
    let open = move || open_menu.get() == Some(pos);
    let invited = row.state == RowState::Invited;
    // What of the grid's state concerns this row: its cells follow these, so an edit wakes
    // two rows, not every cell of every row.
    let editing_col = Memo::new(move |_| {
        grid.editing
            .get()
            .and_then(|(p, col)| (p == pos).then_some(col))
    });
    let selected = Memo::new(move |_| grid.selected.with(|s| s.contains(&pos)));
    // The roving tab stop as the row is drawn (the grid moves it later: see BatchTable).
    let active = grid.active.get_untracked();
    let tab = move |col: usize| {
        if active == (index, col) {
            "0"
        } else {
            "-1"
        }
    };
    let close_and_focus = move || {
        open_menu.set(None);
        browser::focus(&format!("row-actions-{pos}"));
    };
    // Enter or Space on the button (its click) opens the menu on its first item; in the grid
    // the arrow keys move between cells, so they do not open it.
    let open_first = move || {
        open_menu.set(Some(pos));
        browser::focus(&format!("row-view-{pos}"));
    };
    let fields = RawAccount::FIELDS
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let col = COL_FIRST_FIELD + i;
            let value = row.raw.values()[i].to_string();
            let problem: Option<String> = row
                .all_problems()
                .find(|p| p.field == *field)
                .map(|p| p.message.clone());
            let is_editing = move || editing_col.get() == Some(col);
            let cell_value = value.clone();
            let cell_problem = problem.clone();
            view! {
                <td
                    id=format!("cell-{pos}-{col}")
                    aria-colindex=col + 1
                    class="cell-field"
                    class:cell--error=problem.is_some()
                    tabindex=tab(col)
                    title=problem.clone().unwrap_or_else(|| value.clone())
                >
                    {move || {
                        if is_editing() {
                            view! { <CellEditor pos col field grid/> }.into_any()
                        } else {
                            view! {
                                <span class="cell-field__value">{cell_value.clone()}</span>
                                {cell_problem
                                    .clone()
                                    .map(|p| view! { <span class="cell-field__error">{p}</span> })}
                            }
                                .into_any()
                        }
                    }}
                </td>
            }
        })
        .collect_view();
    view! {
        <tr
            aria-rowindex=index + 2
            aria-selected=move || selected.get().to_string()
            class:row--attention=row.needs_attention()
        >
            <td class="col-select" aria-colindex=COL_SELECT + 1>
                <input
                    type="checkbox"
                    id=format!("select-{pos}")
                    aria-label=format!("Select row {line}")
                    tabindex=tab(COL_SELECT)
                    prop:checked=selected
                    on:change=move |_| toggle(grid, pos)
                />
            </td>
            <td
                class="col-row"
                id=format!("cell-{pos}-{COL_ROW}")
                aria-colindex=COL_ROW + 1
                tabindex=tab(COL_ROW)
            >
                {line}
            </td>
            {fields}
            <td
                class="col-kind"
                id=format!("cell-{pos}-{COL_KIND}")
                aria-colindex=COL_KIND + 1
                tabindex=tab(COL_KIND)
            >
                {kind}
            </td>
            <td
                class="cell-clip col-status"
                id=format!("cell-{pos}-{COL_STATUS}")
                aria-colindex=COL_STATUS + 1
                tabindex=tab(COL_STATUS)
                title=summary.clone()
            >
                <span class=class>{label}</span>
                {(!summary.is_empty()).then(|| view! { <span class="row-problem">{summary.clone()}</span> })}
                {row
                    .trace_id
                    .clone()
                    .filter(|_| !problems.is_empty())
                    .map(|t| view! { <span class="row-trace">"Trace ID " <code>{t}</code></span> })}
            </td>
            <td class="col-actions" aria-colindex=COL_ACTIONS + 1>
                <div class="menu">
                    <button
                        type="button"
                        class="button button--icon"
                        id=button_id
                        tabindex=tab(COL_ACTIONS)
                        aria-label=format!("Actions for row {line}")
                        aria-haspopup="menu"
                        aria-controls=move || open().then(|| controls_id.clone())
                        aria-expanded=move || if open() { "true" } else { "false" }
                        on:click=move |_| {
                            if open_menu.get_untracked() == Some(pos) {
                                open_menu.set(None);
                            } else {
                                open_first();
                            }
                        }
                    >
                        <span aria-hidden="true">"⋯"</span>
                    </button>
                    // The menu is made when it opens (a list's rows render without one).
                    {move || {
                        open().then(|| {
                            // The ARIA menu button pattern: arrows and Home/End move between
                            // the items, Escape and Tab close the menu (Escape returns focus
                            // to its button).
                            let item_ids = if invited {
                                vec![format!("row-view-{pos}")]
                            } else {
                                vec![format!("row-view-{pos}"), format!("row-remove-{pos}")]
                            };
                            let on_menu_key = move |ev: leptos::ev::KeyboardEvent| {
                                let target: leptos::web_sys::Element = event_target(&ev);
                                let at = item_ids
                                    .iter()
                                    .position(|id| *id == target.id())
                                    .unwrap_or(0);
                                let last = item_ids.len() - 1;
                                let next = match ev.key().as_str() {
                                    "Escape" => {
                                        ev.prevent_default();
                                        close_and_focus();
                                        return;
                                    }
                                    "Tab" => {
                                        open_menu.set(None);
                                        return;
                                    }
                                    "ArrowDown" => (at + 1) % item_ids.len(),
                                    "ArrowUp" => at.checked_sub(1).unwrap_or(last),
                                    "Home" => 0,
                                    "End" => last,
                                    _ => return,
                                };
                                ev.prevent_default();
                                browser::focus(&item_ids[next]);
                            };
                            view! {
                                <ul
                                    class="menu__list"
                                    role="menu"
                                    id=menu_id.clone()
                                    aria-label=format!("Row {line}")
                                    on:keydown=on_menu_key
                                >
                                    <li role="none">
                                        <button
                                            type="button"
                                            role="menuitem"
                                            tabindex="-1"
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
                                                        tabindex="-1"
                                                        id=format!("row-remove-{pos}")
                                                        on:click=move |_| {
                                                            open_menu.set(None);
                                                            batch.remove(pos);
                                                            // Focus moves to the same place in the next row
                                                            // (the last row when this was the last).
                                                            let next = use_context::<Shown>().and_then(|Shown(shown)| {
                                                                shown.with_untracked(|s| {
                                                                    let k = index.min(s.len().checked_sub(1)?);
                                                                    Some((k, *s.get(k)?))
                                                                })
                                                            });
                                                            match next {
                                                                Some((k, next)) => {
                                                                    grid.active.set((k, COL_ACTIONS));
                                                                    browser::focus(&focus_id(next, COL_ACTIONS));
                                                                }
                                                                None => browser::focus("list-heading"),
                                                            }
                                                        }
                                                    >
                                                        "Remove"
                                                    </button>
                                                </li>
                                            }
                                        })}
                                </ul>
                            }
                        })
                    }}
                </div>
            </td>
        </tr>
    }
    .into_any()
}

/// A field's value edited in its cell: Enter saves it (the row is checked again, as View
/// details does), Escape cancels; either way focus returns to the cell.
#[component]
fn CellEditor(pos: usize, col: usize, field: &'static str, grid: Grid) -> impl IntoView {
    let batch = expect_context::<Batch>();
    // The row as it is now (the grid's rows carry no copy of their values for this).
    let raw = batch
        .rows
        .with_untracked(|rows| rows.get(pos).map(|r| r.raw.clone()))
        .unwrap_or_default();
    let value = raw.value(field).unwrap_or_default().to_string();
    let done = move || {
        grid.editing.set(None);
        browser::focus(&focus_id(pos, col));
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" => {
            ev.prevent_default();
            ev.stop_propagation();
            let input: leptos::web_sys::HtmlInputElement = event_target(&ev);
            let mut raw = raw.clone();
            if let Some(slot) = raw.value_mut(field) {
                *slot = input.value();
            }
            grid.editing.set(None);
            batch.save(pos, raw);
            // The saved row is drawn anew: focus its cell once it is, before the next key.
            browser::focus_after_render(&focus_id(pos, col));
        }
        "Escape" => {
            ev.prevent_default();
            ev.stop_propagation();
            done();
        }
        _ => {}
    };
    view! {
        <input
            type="text"
            class="cell-editor"
            id=format!("edit-{pos}-{col}")
            aria-label=format!("{} (Enter saves, Escape cancels)", field_label(field))
            value=value
            on:keydown=on_key
            on:blur=move |_| {
                if grid.editing.get_untracked() == Some((pos, col)) {
                    grid.editing.set(None);
                }
            }
        />
    }
}

/// The positions of the rows the grid shows, for a row to find its neighbour.
#[derive(Clone, Copy)]
struct Shown(Memo<Vec<usize>>);
