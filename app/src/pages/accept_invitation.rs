//! The page the invitation email links to. Opening it changes nothing; "Continue" opens the
//! invitation, then the invitee signs up (email invitation) or activates (created account).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::invite_forms::{check_account, PersonFields};
use crate::api::{ActivateAccount, CompleteSignUp, InvitationView, OpenInvitation};
use crate::components::{Answer, ErrorNotice, FormPage, FormState, PageHeading, SubmitButton};

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let open = ServerAction::<OpenInvitation>::new();
    let sign_up = ServerAction::<CompleteSignUp>::new();
    let activate = ServerAction::<ActivateAccount>::new();
    let opened = Answer::new(open.value(), open.pending());
    let signed_up = Answer::new(sign_up.value(), sign_up.pending());
    let activated = Answer::new(activate.value(), activate.pending());
    let active_email = move || signed_up.ok().or_else(|| activated.ok());
    let content = move || {
        if let Some(email) = active_email() {
            return view! {
                <Title text="Your TechPass account is active"/>
                <div class="panel panel--success" role="status">
                    <h1 class="panel__title">"Your TechPass account is active"</h1>
                    <p>{format!("You can now sign in to TechPass as {email}.")}</p>
                </div>
            }
            .into_any();
        }
        match opened.get() {
            None => view! {
                <PageHeading
                    title="Create your TechPass account"
                    lead="You have been invited to TechPass, the identity for Singapore Government Tech Stack products."
                />
                <ActionForm action=open>
                    <input type="hidden" name="token" value=token/>
                    <SubmitButton action=open label="Continue"/>
                </ActionForm>
            }
            .into_any(),
            Some(Err(error)) => view! {
                <Title text="Invitation not available"/>
                <h1>"This invitation cannot be used"</h1>
                <ErrorNotice error/>
            }
            .into_any(),
            Some(Ok(InvitationView { email, create_account: true })) => view! {
                <Title text="Activate your TechPass account"/>
                <h1>"Activate your TechPass account"</h1>
                <p>{format!("An account has been created for {email}.")}</p>
                {move || activated.err().map(|error| view! { <ErrorNotice error/> })}
                <ActionForm action=activate>
                    <input type="hidden" name="token" value=token/>
                    <SubmitButton action=activate label="Activate account"/>
                </ActionForm>
            }
            .into_any(),
            Some(Ok(InvitationView { email, .. })) => view! { <SignUpForm email token=token() action=sign_up/> }
                .into_any(),
        }
    };
    view! { <main id="main-content" class="main main--narrow">{content}</main> }
}

#[component]
fn SignUpForm(email: String, token: String, action: ServerAction<CompleteSignUp>) -> impl IntoView {
    let form = FormState::new(check_account);
    // FormPage may make its children more than once: each time, they take the token from here.
    let token = StoredValue::new(token);
    view! {
        <FormPage
            title="Your details"
            lead=format!("Your TechPass account will be for {email}.")
            action
            form
        >
            <ActionForm action=action>
                <input type="hidden" name="token" value=token.get_value()/>
                <PersonFields form/>
                <SubmitButton action label="Create account"/>
            </ActionForm>
        </FormPage>
    }
}
