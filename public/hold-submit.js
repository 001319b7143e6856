// A form that posts to a server function (its action under /api/), submitted before the page is
// interactive, would post natively: the browser would show the function's raw answer (JSON, an
// error's or a success's) instead of the page, and what was typed would be gone. Such a submit
// waits here until the page has hydrated (body[data-hydrated], set once what was typed before
// it is back in the page's fields: app/src/components/early_input.rs), then is sent again
// through the page (form.requestSubmit), which shows its errors or its answer as ever.
// Loaded by every page's head (async: it delays nothing); forms to other addresses (Sign out,
// the status page's search) post as they are.
let held = null;

const hydrated = () => document.body?.dataset.hydrated === 'true';

function sendWhenHydrated() {
  const observer = new MutationObserver(() => {
    if (!hydrated()) return;
    observer.disconnect();
    const { form, submitter } = held;
    held = null;
    form.removeAttribute('aria-busy');
    if (!form.isConnected) return;
    form.requestSubmit(submitter && submitter.isConnected && submitter.form === form ? submitter : undefined);
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['data-hydrated'] });
}

document.addEventListener(
  'submit',
  (event) => {
    const form = event.target;
    if (hydrated() || !(form instanceof HTMLFormElement)) return;
    const action = new URL(form.action, location.href);
    if (action.origin !== location.origin || !action.pathname.startsWith('/api/')) return;
    event.preventDefault();
    // The last submit is the one sent (a second click before then changes nothing).
    const waiting = held !== null;
    if (waiting && held.form !== form) held.form.removeAttribute('aria-busy');
    held = { form, submitter: event.submitter };
    form.setAttribute('aria-busy', 'true');
    if (!waiting) sendWhenHydrated();
  },
  true,
);
