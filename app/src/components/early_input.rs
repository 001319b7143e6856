//! What the officer typed or chose in the server-rendered page before its code ran. On a slow
//! line a form shows seconds before it is interactive, and hydration then sets every field to
//! its form state's value, which knows nothing of what was typed: those values are read just
//! before hydration (and kept up to date while it runs: a lazy route's part may still be
//! loading) and put back after it, each with the event the page listens for, so the form state
//! has them as if typed afterwards. A file input is left to its page (the batch upload reads an
//! early file once it has looked for its kept list).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{
    Element, Event, EventInit, HtmlInputElement, HtmlOptionElement, HtmlSelectElement,
    HtmlTextAreaElement,
};

/// What the officer left in a field.
enum Left {
    Value(String),
    Checked,
}

/// The events that typing and choosing send (and that the listener notes).
const EVENTS: [&str; 2] = ["input", "change"];

/// The fields whose values differ from the page as the server sent it, and the listener that
/// notes what is typed until they are put back.
pub struct EarlyInput {
    left: Rc<RefCell<Vec<(Element, Left)>>>,
    listener: Option<Closure<dyn Fn(Event)>>,
}

impl EarlyInput {
    /// Reads them (call just before hydration), and notes what is typed from then on.
    pub fn read() -> EarlyInput {
        let document = web_sys::window().and_then(|w| w.document());
        let mut left = Vec::new();
        if let Some(fields) = document
            .as_ref()
            .and_then(|d| d.query_selector_all("input, textarea, select").ok())
        {
            for i in 0..fields.length() {
                if let Some(element) = fields.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    if let Some(l) = left_in(&element) {
                        left.push((element, l));
                    }
                }
            }
        }
        let left = Rc::new(RefCell::new(left));
        // Typing meanwhile is noted in the capture phase, before the page's own handlers.
        let noted = Rc::clone(&left);
        let listener = Closure::<dyn Fn(Event)>::new(move |event: Event| {
            let Some(element) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                return;
            };
            let mut noted = noted.borrow_mut();
            noted.retain(|(e, _)| e != &element);
            if let Some(l) = left_in(&element) {
                noted.push((element, l));
            }
        });
        if let Some(document) = &document {
            for event in EVENTS {
                let _ = document.add_event_listener_with_callback_and_bool(
                    event,
                    listener.as_ref().unchecked_ref(),
                    true,
                );
            }
        }
        EarlyInput {
            left,
            listener: Some(listener),
        }
    }

    /// Puts them back (call once hydrated): each field still on the page gets its value and
    /// an `input` event (a checked box or option: `change`), as typing would have sent. It
    /// first lets hydration's own writes of the fields' values land (queued to run after the
    /// task that hydrated), which would otherwise clear a field that no form state holds.
    pub async fn put_back(mut self) {
        leptos::task::tick().await;
        if let (Some(listener), Some(document)) = (
            self.listener.take(),
            web_sys::window().and_then(|w| w.document()),
        ) {
            for event in EVENTS {
                let _ = document.remove_event_listener_with_callback_and_bool(
                    event,
                    listener.as_ref().unchecked_ref(),
                    true,
                );
            }
        }
        let left = std::mem::take(&mut *self.left.borrow_mut());
        for (element, left) in left {
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

/// What the officer left in `element`, if it differs from the page as the server sent it.
/// (The server renders no box checked, so a box left unchecked is as it was sent.)
fn left_in(element: &Element) -> Option<Left> {
    if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
        match input.type_().as_str() {
            "file" | "hidden" | "submit" | "button" | "reset" | "image" => None,
            "checkbox" | "radio" => {
                (input.checked() && !input.default_checked()).then_some(Left::Checked)
            }
            _ => (input.value() != input.default_value()).then(|| Left::Value(input.value())),
        }
    } else if let Some(area) = element.dyn_ref::<HtmlTextAreaElement>() {
        area.default_value()
            .is_ok_and(|d| d != area.value())
            .then(|| Left::Value(area.value()))
    } else if let Some(select) = element.dyn_ref::<HtmlSelectElement>() {
        let changed = (0..select.length()).any(|i| {
            select
                .item(i)
                .and_then(|o| o.dyn_into::<HtmlOptionElement>().ok())
                .is_some_and(|o| o.selected() != o.default_selected())
        });
        changed.then(|| Left::Value(select.value()))
    } else {
        None
    }
}
