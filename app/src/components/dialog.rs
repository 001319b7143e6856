//! Modal dialogs: opened with `showModal` (focus moves in, the page behind is inert, Escape
//! cancels) and closed by their buttons.

use leptos::html::Dialog;
use leptos::prelude::*;

/// Opens a dialog element as a modal once it is in the page.
pub fn open_modal(dialog: NodeRef<Dialog>) {
    Effect::new(move |_| {
        if let Some(el) = dialog.get() {
            if !el.open() {
                let _ = el.show_modal();
            }
        }
    });
}

/// A confirmation for a destructive action: Confirm or Cancel (Escape cancels).
#[component]
pub fn ConfirmDialog(
    #[prop(into)] title: String,
    body: String,
    #[prop(into)] confirm: String,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let dialog = NodeRef::<Dialog>::new();
    open_modal(dialog);
    let close = move || {
        if let Some(el) = dialog.get_untracked() {
            el.close();
        }
    };
    view! {
        <dialog
            class="dialog dialog--small"
            node_ref=dialog
            role="alertdialog"
            aria-labelledby="confirm-title"
            aria-describedby="confirm-body"
            on:cancel=move |ev: leptos::ev::Event| {
                ev.prevent_default();
                close();
                on_cancel.run(());
            }
        >
            <div class="dialog__body">
                <h2 id="confirm-title">{title}</h2>
                <p id="confirm-body">{body}</p>
                <div class="dialog__actions">
                    <button
                        type="button"
                        class="button button--warning"
                        on:click=move |_| {
                            close();
                            on_confirm.run(());
                        }
                    >
                        {confirm}
                    </button>
                    <button
                        type="button"
                        class="button button--secondary"
                        autofocus
                        on:click=move |_| {
                            close();
                            on_cancel.run(());
                        }
                    >
                        "Cancel"
                    </button>
                </div>
            </div>
        </dialog>
    }
}
