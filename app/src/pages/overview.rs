use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    view! {
        <Title text="Overview"/>
        <h1>"Overview"</h1>
        <p class="lead">
            "Public officers and vendors need a TechPass account to use Singapore Government Tech Stack products. "
            "Invite them from here: one by email, one account at a time, or a whole list from a spreadsheet."
        </p>
        <a class="button" href="/invite-users">"Invite users"</a>
    }
}
