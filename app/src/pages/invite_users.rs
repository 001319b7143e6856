use leptos::prelude::*;

use crate::components::PageHeading;

/// The invitation types with the user guide's own "when to use" text.
pub const INVITATION_TYPES: [(&str, &str, &str); 3] = [
    (
        "email",
        "Email invitation",
        "To send an email invite to a public officer to create a TechPass account.",
    ),
    (
        "create",
        "Create account",
        "To create a TechPass account on behalf of a public officer or a vendor.",
    ),
    (
        "batch",
        "Batch upload",
        "To create TechPass accounts for multiple users, including public officers and vendors.",
    ),
];

#[component]
pub fn InviteUsersPage() -> impl IntoView {
    view! {
        <PageHeading title="Invite users" lead="Select the invitation type."/>
        <table class="table invitation-types">
            <caption>"Invitation types"</caption>
            <thead>
                <tr>
                    <th scope="col">"Invitation type"</th>
                    <th scope="col">"When to use"</th>
                </tr>
            </thead>
            <tbody>
                {INVITATION_TYPES
                    .iter()
                    .map(|(slug, name, when)| {
                        // Batch upload's parsing worker starts as the officer points at
                        // (or tabs to) its link, and compiles while they click.
                        let intent = move || {
                            if *slug == "batch" {
                                crate::batch::browser::warm_worker();
                            }
                        };
                        view! {
                            <tr>
                                <th scope="row">
                                    <a
                                        href=format!("/invite-users/{slug}")
                                        on:pointerenter=move |_| intent()
                                        on:focus=move |_| intent()
                                    >
                                        {*name}
                                    </a>
                                </th>
                                <td>{*when}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <p><a href="/invite-users/status">"See the status of the users you invited"</a></p>
    }
}
