//! The Email invitation and Create account pages: the user guide's fields, checked with the
//! shared rules as the user leaves each field and again on the server at submit.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::api::{CreateAccount, InviteSent, SendInvite};
use crate::components::{Done, FormPage, FormState, SubmitButton, TextField, YesNoField};
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
    // ... and hold none: a username typed before the address said "public officer" (or
    // before the page was interactive, when the field could not yet be greyed out) goes, as
    // it is not sent, and its message with it.
    Effect::new(move |_| {
        if officer.get() && !form.value("username").is_empty() {
            form.set("username", String::new());
            form.check_field("username");
        }
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
        <PersonFields form/>
        <YesNoField form name="seed_required" legend=SEED_LEGEND hint=SEED_HINT/>
        <TextField form name="reason" label="Reason" hint=REASON_HINT multiline=true/>
    }
}

/// Who the person is and where they work: in the Create account fields and on the invitee's
/// Your details.
#[component]
pub(crate) fn PersonFields(form: FormState) -> impl IntoView {
    view! {
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
    }
}

/// After a success: the address, what was done for it (`what`), and where to go next.
fn sent(what: &'static str) -> Done<InviteSent> {
    Callback::new(move |(sent, again): (InviteSent, Callback<()>)| {
        view! {
            <div class="panel panel--success" role="status">
                <h2 class="panel__title">{format!("{what} {}", sent.email)}</h2>
                <p>"We will email them a link to finish setting up their TechPass account."</p>
            </div>
            <p>
                <button type="button" class="button" on:click=move |_| again.run(())>
                    "Invite another user"
                </button>
            </p>
            <p><a href="/invite-users/status">"See Invite user status"</a></p>
        }
        .into_any()
    })
}

#[component]
pub fn EmailInvitationPage() -> impl IntoView {
    let action = ServerAction::<SendInvite>::new();
    let form = FormState::new(check_email_invite);
    view! {
        <FormPage
            title="Email invitation"
            lead="Send an email invite to a public officer to create a TechPass account."
            action
            form
            done=sent("Invitation sent to")
        >
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
                <SubmitButton action label="Submit" busy="Sending…"/>
            </ActionForm>
        </FormPage>
    }
}

#[component]
pub fn CreateAccountPage() -> impl IntoView {
    let action = ServerAction::<CreateAccount>::new();
    let form = FormState::new(check_account);
    view! {
        <FormPage
            title="Create account"
            lead="Create a TechPass account on behalf of a public officer or a vendor."
            action
            form
            done=sent("Account created for")
        >
            <ActionForm action=action>
                <AccountFields form/>
                <SubmitButton action label="Submit" busy="Creating…"/>
            </ActionForm>
        </FormPage>
    }
}
