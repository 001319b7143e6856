//! The page's bundle: hydrates the server-rendered page. The batch upload's parser is the
//! worker's own bundle (`frontend/worker`), so no page carries it.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazily: a route whose code is a part of its own (the batch upload, the status page)
    // hydrates once its part has loaded.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = leptos::prelude::document().body() else {
            return;
        };
        // What was typed before the page's code ran, which hydration would otherwise clear.
        let early = app::components::early_input::EarlyInput::read();
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        early.put_back().await;
        // Lets tests (and anything else) know the page is interactive.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
