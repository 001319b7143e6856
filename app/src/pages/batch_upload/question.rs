//! The steps between choosing a file and its list, when the worker asks: which sheet of a
//! workbook holds the users, and which column of the file is which template field.

use leptos::prelude::*;

use crate::batch::browser;
use crate::batch::model::plural;
use crate::batch::Asked;
use crate::batch::Batch;
use crate::import::{
    mapping_problems, Choice, ColumnQuestion, Mapping, Question, SheetSummary, COLUMNS,
};

/// The step for the worker's question.
#[component]
pub(super) fn QuestionPanel(asked: Asked) -> impl IntoView {
    let Asked {
        file_name,
        question,
    } = asked;
    match question {
        Question::Sheet { sheets, suggested } => {
            view! { <SheetStep file_name sheets suggested/> }.into_any()
        }
        Question::Columns(question) => view! { <ColumnStep file_name question/> }.into_any(),
    }
}

/// "Choose another file": back to the file chooser.
#[component]
fn Back() -> impl IntoView {
    let batch = expect_context::<Batch>();
    view! {
        <button
            type="button"
            class="button button--secondary"
            on:click=move |_| batch.cancel_question()
        >
            "Choose another file"
        </button>
    }
}

fn describe_sheet(sheet: &SheetSummary) -> String {
    let rows = if sheet.more {
        format!("{} or more rows", sheet.rows + 1)
    } else {
        plural(sheet.rows, "row", "rows")
    };
    format!(
        "{}: {} of {} template columns found, {rows}",
        sheet.name,
        sheet.matched,
        COLUMNS.len()
    )
}

#[component]
fn SheetStep(file_name: String, sheets: Vec<SheetSummary>, suggested: usize) -> impl IntoView {
    let batch = expect_context::<Batch>();
    let chosen = RwSignal::new(suggested);
    let names: Vec<String> = sheets.iter().map(|s| s.name.clone()).collect();
    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(name) = names.get(chosen.get_untracked()) {
            batch.answer(Choice {
                sheet: Some(name.clone()),
                mapping: None,
            });
        }
    };
    view! {
        <section class="panel" aria-labelledby="question-heading">
            <h2 id="question-heading" tabindex="-1">{format!("Choose the sheet of {file_name}")}</h2>
            <p>
                "This workbook has more than one sheet with data. Choose the one that lists the users; the suggested sheet's headers match the template best."
            </p>
            <form on:submit=go>
                <fieldset class="field">
                    <legend class="field__label">"Sheet with the users"</legend>
                    {sheets
                        .iter()
                        .enumerate()
                        .map(|(i, sheet)| {
                            let id = format!("sheet-{i}");
                            view! {
                                <div class="radio">
                                    <input
                                        type="radio"
                                        name="sheet"
                                        id=id.clone()
                                        value=i.to_string()
                                        checked=i == suggested
                                        on:change=move |_| chosen.set(i)
                                    />
                                    <label for=id>
                                        {describe_sheet(sheet)}
                                        {(i == suggested).then_some(" (suggested)")}
                                    </label>
                                </div>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <div class="actions">
                    <button type="submit" class="button">
                        "Continue"
                    </button>
                    <Back/>
                </div>
            </form>
        </section>
    }
}

#[component]
fn ColumnStep(file_name: String, question: ColumnQuestion) -> impl IntoView {
    let batch = expect_context::<Batch>();
    // The officer's own match for these headers, if this browser kept one that still fits.
    let remembered = browser::remembered_columns(&question.signature).filter(|columns| {
        columns.len() == COLUMNS.len()
            && columns
                .iter()
                .flatten()
                .all(|c| question.columns.iter().any(|f| f.index == *c))
    });
    let from_memory = remembered.is_some();
    let chosen = RwSignal::new(remembered.unwrap_or_else(|| question.guess.clone()));
    let file = StoredValue::new(question.columns.clone());
    let problems = Memo::new(move |_| {
        chosen.with(|columns| file.with_value(|file| mapping_problems(columns, file)))
    });
    let signature = question.signature.clone();
    let sheet = question.sheet.clone();
    let header_line = question.header_line;
    // A file without a header row: its first row is a user too.
    let first_is_user = RwSignal::new(question.headerless);
    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !problems.get_untracked().is_empty() {
            return;
        }
        let columns = chosen.get_untracked();
        browser::remember_columns(&signature, &columns);
        batch.answer(Choice {
            sheet: sheet.clone(),
            mapping: Some(Mapping {
                header_line: if first_is_user.get_untracked() {
                    header_line.saturating_sub(1)
                } else {
                    header_line
                },
                columns,
            }),
        });
    };
    let rows = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let id = format!("map-{}", column.field);
            let samples = move || {
                let Some(index) = chosen.with(|c| c.get(i).copied().flatten()) else {
                    return String::new();
                };
                file.with_value(|file| {
                    file.iter()
                        .find(|f| f.index == index)
                        .map(|f| {
                            f.samples
                                .iter()
                                .filter(|s| !s.is_empty())
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default()
                })
            };
            let options = file.with_value(|file| {
                file.iter()
                    .map(|f| {
                        let index = f.index;
                        view! {
                            <option
                                value=index.to_string()
                                selected=move || chosen.with(|c| c.get(i) == Some(&Some(index)))
                            >
                                {f.label()}
                            </option>
                        }
                    })
                    .collect_view()
            });
            view! {
                <tr>
                    <th scope="row">
                        <label for=id.clone()>{column.header}</label>
                        <span class="hint">
                            {if column.required { " (required)" } else { " (optional)" }}
                        </span>
                    </th>
                    <td>
                        <select
                            id=id
                            class="input"
                            on:change=move |ev| {
                                let value = event_target_value(&ev).parse::<usize>().ok();
                                chosen.update(|c| c[i] = value);
                            }
                        >
                            <option
                                value=""
                                selected=move || chosen.with(|c| c.get(i) == Some(&None))
                            >
                                "Not in this file"
                            </option>
                            {options}
                        </select>
                    </td>
                    <td class="samples">{samples}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" aria-labelledby="question-heading">
            <h2 id="question-heading" tabindex="-1">{format!("Match the columns of {file_name}")}</h2>
            <p>
                "Some headers of this file are not the template's. For each field, choose the column of your file that holds it; the values shown are from its first rows."
            </p>
            {from_memory
                .then(|| {
                    view! {
                        <p class="hint" id="mapping-remembered">
                            "Filled in with the columns you chose last time for a file with these headers."
                        </p>
                    }
                })}
            <form on:submit=go>
                <div class="checkbox">
                    <input
                        type="checkbox"
                        id="first-is-user"
                        prop:checked=move || first_is_user.get()
                        on:change=move |ev| first_is_user.set(event_target_checked(&ev))
                    />
                    <label for="first-is-user">
                        {format!(
                            "Row {header_line} is a user, not headers (the file has no header row)",
                        )}
                    </label>
                </div>
                <table class="mapping">
                    <thead>
                        <tr>
                            <th scope="col">"Template field"</th>
                            <th scope="col">"Column in your file"</th>
                            <th scope="col">"Values in the first rows"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {move || {
                    let problems = problems.get();
                    (!problems.is_empty())
                        .then(|| {
                            view! {
                                <div class="error-summary" id="mapping-problems" role="alert">
                                    {problems.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
                                </div>
                            }
                        })
                }}
                <div class="actions">
                    <button
                        type="submit"
                        class="button"
                        disabled=move || !problems.with(Vec::is_empty)
                        aria-describedby="mapping-problems"
                    >
                        "Continue"
                    </button>
                    <Back/>
                </div>
            </form>
        </section>
    }
}
