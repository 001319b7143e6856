//! Form building blocks in the GOV.UK pattern: label, hint, error message, input; the field
//! marked `aria-invalid` and described by its hint and error. Rules come from `domain`, run
//! as the user leaves a field (once the click that left it has landed) and again on the
//! server at submit.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::error::AppError;

type Checker = fn(&HashMap<&'static str, String>, &str) -> Option<String>;

/// Values and messages of one form.
#[derive(Clone, Copy)]
pub struct FormState {
    values: RwSignal<HashMap<&'static str, String>>,
    errors: RwSignal<HashMap<String, String>>,
    check: StoredValue<Checker>,
}

impl FormState {
    pub fn new(check: Checker) -> FormState {
        FormState {
            values: RwSignal::new(HashMap::new()),
            errors: RwSignal::new(HashMap::new()),
            check: StoredValue::new(check),
        }
    }

    pub fn value(&self, name: &str) -> String {
        self.values
            .try_with(|v| v.get(name).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn set(&self, name: &'static str, value: String) {
        self.values.update(|v| {
            v.insert(name, value);
        });
    }

    /// Checks one field with the shared rules (as the user leaves it). An untouched empty
    /// field is left alone until submit, so tabbing through the form does not shout.
    ///
    /// A message that appears or goes moves what is below it, so when the field was left by
    /// a pointer press on another control, the check waits until that press's click has
    /// landed ([`after_press`]); leaving it with the keyboard checks at once. The form may be
    /// gone by then (the click submitted it or closed its dialog): then nothing happens.
    pub fn check_field(&self, name: &str) {
        let (form, name) = (*self, name.to_string());
        after_press(move || form.check_field_now(&name));
    }

    fn check_field_now(&self, name: &str) {
        let Some(has_error) = self.errors.try_with_untracked(|e| e.contains_key(name)) else {
            return;
        };
        if self.value(name).trim().is_empty() && !has_error {
            return;
        }
        let Some(check) = self.check.try_get_value() else {
            return;
        };
        let Some(message) = self.values.try_with_untracked(|v| check(v, name)) else {
            return;
        };
        self.errors.try_update(|e| match message {
            Some(m) => {
                e.insert(name.to_string(), m);
            }
            None => {
                e.remove(name);
            }
        });
    }

    pub fn error(&self, name: &'static str) -> Signal<Option<String>> {
        let errors = self.errors;
        Signal::derive(move || errors.with(|e| e.get(name).cloned()))
    }

    /// Shows the server's verdict on each field after a submit.
    pub fn show_server_errors(&self, err: &AppError) {
        if let AppError::Validation { fields } = err {
            self.errors.set(
                fields
                    .iter()
                    .map(|f| (f.field.clone(), f.message.clone()))
                    .collect(),
            );
        }
    }

    /// Reads all values at once (untracked), e.g. to build the domain's raw input.
    pub fn with_values<T>(&self, f: impl FnOnce(&HashMap<&'static str, String>) -> T) -> T {
        self.values.with_untracked(f)
    }

    /// The current messages as (field, message), in the order of `order` then by name.
    pub fn errors_list(&self, order: &'static [&'static str]) -> Signal<Vec<(String, String)>> {
        let errors = self.errors;
        Signal::derive(move || {
            let mut list: Vec<(String, String)> =
                errors.with(|e| e.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
            list.sort_by_key(|(k, _)| {
                (
                    order.iter().position(|f| f == k).unwrap_or(order.len()),
                    k.clone(),
                )
            });
            list
        })
    }

    pub fn reset(&self) {
        self.values.set(HashMap::new());
        self.errors.set(HashMap::new());
    }
}

/// Runs `work` now, or, while a pointer press is in progress, once its click has been
/// dispatched (`app/js/pointer.js`), so that what `work` changes on the page cannot move the
/// control under the pointer between the press and the release.
fn after_press(work: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        if pointer::pressing() {
            pointer::after_press(&wasm_bindgen::closure::Closure::once_into_js(work));
            return;
        }
    }
    work();
}

#[cfg(feature = "hydrate")]
mod pointer {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/pointer.js")]
    extern "C" {
        pub fn pressing() -> bool;
        #[wasm_bindgen(js_name = afterPress)]
        pub fn after_press(work: &JsValue);
    }
}

fn describedby(name: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{name}-hint"));
    }
    if error {
        ids.push(format!("{name}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

#[component]
fn FieldError(name: &'static str, error: Signal<Option<String>>) -> impl IntoView {
    move || {
        error.get().map(|m| {
            view! {
                <p class="field__error" id=format!("{name}-error")>
                    <span class="visually-hidden">"Error: "</span>
                    {m}
                </p>
            }
        })
    }
}

/// A one-line text input (or a textarea with `multiline`).
#[component]
pub fn TextField(
    form: FormState,
    name: &'static str,
    label: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] optional: bool,
    #[prop(optional)] multiline: bool,
    #[prop(optional, into)] disabled: Signal<bool>,
    #[prop(optional, into)] hint_when_disabled: Option<&'static str>,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(default = "text")] inputmode: &'static str,
    /// Also re-check these fields when this one changes (a username depends on the email).
    #[prop(optional)]
    rechecks: &'static [&'static str],
) -> impl IntoView {
    let error = form.error(name);
    let hint_text = move || {
        if disabled.get() {
            hint_when_disabled.or(hint)
        } else {
            hint
        }
    };
    let has_hint = hint.is_some() || hint_when_disabled.is_some();
    let on_input = move |ev| form.set(name, event_target_value(&ev));
    let on_blur = move |_| {
        form.check_field(name);
        for other in rechecks {
            form.check_field(other);
        }
    };
    let invalid = move || error.get().map(|_| "true");
    let described = move || describedby(name, has_hint, error.get().is_some());
    let input = if multiline {
        view! {
            <textarea
                class="input input--multiline"
                id=name
                name=name
                rows="4"
                autocomplete=autocomplete
                prop:value=move || form.value(name)
                on:input=on_input
                on:blur=on_blur
                aria-invalid=invalid
                aria-describedby=described
            ></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                class="input"
                id=name
                name=name
                type="text"
                inputmode=inputmode
                autocomplete=autocomplete
                spellcheck="false"
                disabled=move || disabled.get()
                prop:value=move || form.value(name)
                on:input=on_input
                on:blur=on_blur
                aria-invalid=invalid
                aria-describedby=described
            />
        }
        .into_any()
    };
    view! {
        <div class="field" class:field--error=move || error.get().is_some()>
            <label class="field__label" for=name>
                {label}
                {optional.then_some(" (optional)")}
            </label>
            {has_hint
                .then(|| {
                    view! {
                        <p class="field__hint" id=format!("{name}-hint")>
                            {hint_text}
                        </p>
                    }
                })}
            <FieldError name error/>
            {input}
        </div>
    }
}

/// "Is onboarding to SEED required?": a Yes/No radio group in a fieldset with a legend.
#[component]
pub fn YesNoField(
    form: FormState,
    name: &'static str,
    legend: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error = form.error(name);
    let choose = move |value: &'static str| {
        move |_| {
            form.set(name, value.to_string());
            form.check_field(name);
        }
    };
    view! {
        <div class="field" class:field--error=move || error.get().is_some()>
            <fieldset
                class="fieldset"
                aria-describedby=move || describedby(name, hint.is_some(), error.get().is_some())
            >
                <legend class="field__label">{legend}</legend>
                {hint.map(|h| view! { <p class="field__hint" id=format!("{name}-hint")>{h}</p> })}
                <FieldError name error/>
                <div class="radios">
                    <div class="radio">
                        <input
                            type="radio"
                            id=name
                            name=name
                            value="yes"
                            prop:checked=move || form.value(name) == "yes"
                            on:change=choose("yes")
                        />
                        <label for=name>"Yes"</label>
                    </div>
                    <div class="radio">
                        <input
                            type="radio"
                            id=format!("{name}-no")
                            name=name
                            value="no"
                            prop:checked=move || form.value(name) == "no"
                            on:change=choose("no")
                        />
                        <label for=format!("{name}-no")>"No"</label>
                    </div>
                </div>
            </fieldset>
        </div>
    }
}
