use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::list_dev_mail;
use crate::components::ErrorNotice;

/// Development only: the mail the app would have sent, with its links.
#[component]
pub fn DevMailboxPage() -> impl IntoView {
    let mail = Resource::new(|| (), |_| list_dev_mail());
    view! {
        <Title text="Development mailbox"/>
        <main id="main-content" class="main">
            <h1>"Development mailbox"</h1>
            <p class="lead">
                "No SMTP server is configured, so email is kept here instead of being sent."
            </p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || mail.get().map(|r| match r {
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p>"No mail yet."</p> }.into_any(),
                    Ok(list) => list
                        .into_iter()
                        .map(|m| view! {
                            <article class="mail">
                                <h2>{m.subject}</h2>
                                <p>"To: " {m.to}</p>
                                {m.link.map(|href| view! { <p><a href=href>"Open the link in this email"</a></p> })}
                                <pre class="mail__body">{m.text}</pre>
                            </article>
                        })
                        .collect_view()
                        .into_any(),
                })}
            </Suspense>
        </main>
    }
}
