//! What the officer typed or chose in the server-rendered page before its code ran. On a slow
//! line a form shows seconds before it is interactive, and hydration then sets every field to
//! its form state's value, which knows nothing of what was typed: those values are read just
//! before hydration and put back after it, each with the event the page listens for, so the
//! form state has them as if typed afterwards. A file input is left to its page (the batch
//! upload reads an early file once it has looked for its kept list).

use wasm_bindgen::JsCast;
use web_sys::{
    Element, Event, EventInit, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement,
};

/// A field and what the officer left in it.
enum Left {
    Value(String),
    Checked,
}

/// The fields whose values differ from the page as the server sent it.
pub struct EarlyInput(Vec<(Element, Left)>);

impl EarlyInput {
    /// Reads them (call just before hydration).
    pub fn read() -> EarlyInput {
        let mut left = Vec::new();
        let fields = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector_all("input, textarea, select").ok());
        let Some(fields) = fields else {
            return EarlyInput(left);
        };
        for i in 0..fields.length() {
            let Some(element) = fields.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
                match input.type_().as_str() {
                    "file" | "hidden" | "submit" | "button" | "reset" | "image" => {}
                    "checkbox" | "radio" => {
                        // (An unchecked box is put back by checking none: hydration leaves
                        // it as its state says.)
                        if input.checked() && !input.default_checked() {
                            left.push((element.clone(), Left::Checked));
                        }
                    }
                    _ => {
                        if input.value() != input.default_value() {
                            left.push((element.clone(), Left::Value(input.value())));
                        }
                    }
                }
            } else if let Some(area) = element.dyn_ref::<HtmlTextAreaElement>() {
                if area.default_value().is_ok_and(|d| d != area.value()) {
                    left.push((element.clone(), Left::Value(area.value())));
                }
            } else if let Some(select) = element.dyn_ref::<HtmlSelectElement>() {
                let changed = (0..select.length()).any(|i| {
                    select
                        .item(i)
                        .and_then(|o| o.dyn_into::<web_sys::HtmlOptionElement>().ok())
                        .is_some_and(|o| o.selected() != o.default_selected())
                });
                if changed {
                    left.push((element.clone(), Left::Value(select.value())));
                }
            }
        }
        EarlyInput(left)
    }

    /// Puts them back (call once hydrated): each field still on the page gets its value and
    /// an `input` event (a checked box or option: `change`), as typing would have sent.
    pub fn put_back(self) {
        for (element, left) in self.0 {
            if !element.is_connected() {
                continue;
            }
            let event = match left {
                Left::Checked => {
                    if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
                        input.set_checked(true);
                    }
                    "change"
                }
                Left::Value(value) => {
                    if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
                        input.set_value(&value);
                        "input"
                    } else if let Some(area) = element.dyn_ref::<HtmlTextAreaElement>() {
                        area.set_value(&value);
                        "input"
                    } else if let Some(select) = element.dyn_ref::<HtmlSelectElement>() {
                        select.set_value(&value);
                        "change"
                    } else {
                        continue;
                    }
                }
            };
            let init = EventInit::new();
            init.set_bubbles(true);
            if let Ok(event) = Event::new_with_event_init_dict(event, &init) {
                let _ = element.dispatch_event(&event);
            }
        }
    }
}
