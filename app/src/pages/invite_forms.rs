//! The Email invitation and Create account pages: the user guide's fields, checked with the
//! shared rules as the user leaves each field and again on the server at submit.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CreateAccount, InviteSent, SendInvite};
use crate::components::{Answer, ErrorSummary, FormState, TextField, YesNoField};
use crate::domain::{
    check_account_field, check_email_invite_field, Email, RawAccount, RawEmailInvite,
};

const SEED_LEGEND: &str = "Is onboarding to SEED required?";
const SEED_HINT: &str =
    "SEED provisioning is needed to access SGTS services or products from an Internet device.";
const REASON_HINT: &str = "Why does this person need a TechPass account?";

fn get(v: &HashMap<&'static str, String>, k: &str) -> String {
    v.get(k).cloned().unwrap_or_default()
}

fn check_email_invite(v: &HashMap<&'static str, String>, field: &str) -> Option<String> {
    let raw = RawEmailInvite {
        email: get(v, "email"),
        seed_required: get(v, "seed_required"),
        reason: get(v, "reason"),
    };
    check_email_invite_field(&raw, field)
}

/// The Create account form's values as the domain's raw input.
pub(crate) fn raw_account(v: &HashMap<&'static str, String>) -> RawAccount {
    RawAccount {
        email: get(v, "email"),
        username: get(v, "username"),
        first_name: get(v, "first_name"),
        last_name: get(v, "last_name"),
        contact_number: get(v, "contact_number"),
        organisation: get(v, "organisation"),
        department: get(v, "department"),
        seed_required: get(v, "seed_required"),
        reason: get(v, "reason"),
    }
}

pub(crate) fn check_account(v: &HashMap<&'static str, String>, field: &str) -> Option<String> {
    check_account_field(&raw_account(v), field)
}

/// The Create account fields, in the form's order: on the Create account page and in a
/// batch row's View details.
#[component]
pub(crate) fn AccountFields(form: FormState) -> impl IntoView {
    // Public officers' usernames come from their address: the field is greyed out for them.
    let officer = Signal::derive(move || {
        Email::parse(&form.value("email"))
            .map(|e| e.is_public_officer())
            .unwrap_or(false)
    });
    view! {
        <TextField
            form
            name="email"
            label="Email address"
            hint="The organisation email address of the public officer or vendor"
            autocomplete="email"
            inputmode="email"
            rechecks=&["username"]
        />
        <TextField
            form
            name="username"
            label="TechPass username"
            hint="Required for vendors: 3 to 30 lowercase letters, digits, dots, hyphens or underscores, starting with a letter"
            hint_when_disabled="Not needed: a public officer's username comes from their email address"
            disabled=officer
        />
        <TextField form name="first_name" label="First name" autocomplete="given-name"/>
        <TextField form name="last_name" label="Last name" autocomplete="family-name"/>
        <TextField
            form
            name="contact_number"
            label="Contact number"
            hint="For example 9123 4567, or +44 20 7946 0958 for a number outside Singapore"
            autocomplete="tel"
            inputmode="tel"
        />
        <TextField form name="organisation" label="Organisation" autocomplete="organization"/>
        <TextField form name="department" label="Department" optional=true/>
        <YesNoField form name="seed_required" legend=SEED_LEGEND hint=SEED_HINT/>
        <TextField form name="reason" label="Reason" hint=REASON_HINT multiline=true/>
    }
}

/// The success message naming the address, with where to go next.
#[component]
fn Sent(sent: InviteSent, what: &'static str, on_again: Callback<()>) -> impl IntoView {
    view! {
        <div class="panel panel--success" role="status">
            <h2 class="panel__title">{format!("{what} {}", sent.email)}</h2>
            <p>"We will email them a link to finish setting up their TechPass account."</p>
        </div>
        <p>
            <button type="button" class="button" on:click=move |_| on_again.run(())>
                "Invite another user"
            </button>
        </p>
        <p><a href="/invite-users/status">"See Invite user status"</a></p>
    }
}

#[component]
pub fn EmailInvitationPage() -> impl IntoView {
    let action = ServerAction::<SendInvite>::new();
    let answer = Answer::new(action.value(), action.pending());
    let form = FormState::new(check_email_invite);
    let error = move || answer.err();
    let sent = move || answer.ok();
    Effect::new(move |_| {
        if let Some(e) = error() {
            form.show_server_errors(&e);
        }
    });
    let again = Callback::new(move |_| {
        form.reset();
        answer.clear();
    });
    let title = move || {
        if error().is_some() {
            "Error: Email invitation"
        } else {
            "Email invitation"
        }
    };
    view! {
        <Title text=title/>
        <h1>"Email invitation"</h1>
        {move || match sent() {
            Some(s) => view! { <Sent sent=s what="Invitation sent to" on_again=again/> }.into_any(),
            None => view! {
                <p class="lead">
                    "Send an email invite to a public officer to create a TechPass account."
                </p>
                {move || error().map(|error| view! { <ErrorSummary error/> })}
                <ActionForm action=action>
                    <TextField
                        form
                        name="email"
                        label="Email address"
                        hint="The public officer's organisation email address, ending in gov.sg"
                        autocomplete="email"
                        inputmode="email"
                    />
                    <YesNoField form name="seed_required" legend=SEED_LEGEND hint=SEED_HINT/>
                    <TextField form name="reason" label="Reason" hint=REASON_HINT multiline=true/>
                    <button type="submit" class="button" disabled=move || answer.pending()>
                        {move || if answer.pending() { "Sending…" } else { "Submit" }}
                    </button>
                </ActionForm>
            }
            .into_any(),
        }}
    }
}

#[component]
pub fn CreateAccountPage() -> impl IntoView {
    let action = ServerAction::<CreateAccount>::new();
    let answer = Answer::new(action.value(), action.pending());
    let form = FormState::new(check_account);
    let error = move || answer.err();
    let sent = move || answer.ok();
    Effect::new(move |_| {
        if let Some(e) = error() {
            form.show_server_errors(&e);
        }
    });
    let again = Callback::new(move |_| {
        form.reset();
        answer.clear();
    });
    let title = move || {
        if error().is_some() {
            "Error: Create account"
        } else {
            "Create account"
        }
    };
    view! {
        <Title text=title/>
        <h1>"Create account"</h1>
        {move || match sent() {
            Some(s) => view! { <Sent sent=s what="Account created for" on_again=again/> }.into_any(),
            None => view! {
                <p class="lead">
                    "Create a TechPass account on behalf of a public officer or a vendor."
                </p>
                {move || error().map(|error| view! { <ErrorSummary error/> })}
                <ActionForm action=action>
                    <AccountFields form/>
                    <button type="submit" class="button" disabled=move || answer.pending()>
                        {move || if answer.pending() { "Creating…" } else { "Submit" }}
                    </button>
                </ActionForm>
            }
            .into_any(),
        }}
    }
}
