use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <main id="main-content" class="main main--narrow">
            <h1>"Page not found"</h1>
            <p>"If you typed the web address, check it is correct."</p>
            <p><a href="/">"Go to the Overview"</a></p>
        </main>
    }
}
