use leptos::prelude::*;

use crate::components::PageHeading;

#[component]
pub fn OverviewPage() -> impl IntoView {
    view! {
        <PageHeading
            title="Overview"
            lead=concat!(
                "Public officers and vendors need a TechPass account to use Singapore Government Tech Stack products. ",
                "Invite them from here: one by email, one account at a time, or a whole list from a spreadsheet.",
            )
        />
        <a class="button" href="/invite-users">"Invite users"</a>
    }
}
