use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn InviteStatusPage() -> impl IntoView {
    view! {
        <Title text="Invite user status"/>
        <h1>"Invite user status"</h1>
        <p class="lead">
            "The users you invited, their TechPass account status and their SEED licence status."
        </p>
        <p>"No invitations have been sent yet."</p>
    }
}
