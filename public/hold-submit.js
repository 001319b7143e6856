// A form that posts to a server function (its action under /api/), submitted before the page is
// interactive, would post natively: the browser would show the function's raw answer (JSON, an
// error's or a success's) instead of the page, and what was typed would be gone. Such a submit
// waits here until the page has hydrated (body[data-hydrated], set once what was typed before
// it is back in the page's fields: app/src/components/early_input.rs), then is sent again
// through the page (form.requestSubmit), which shows its errors or its answer as ever.
// Loaded by every page's head (async: it delays nothing); forms to other addresses (Sign out,
// the status page's search) post as they are.
//
// While a submit waits, a note says so. If the page's code fails before the page is
// interactive (its script or module did not load, or it stopped on an error), the page will
// never send the form: the note then says that nothing was sent and to reload the page,
// instead of leaving the form waiting for ever. The note is put after the body, outside what
// the page's code takes over, so it cannot upset that.
let held = null;
let failed = false;
let note = null;

const hydrated = () => document.body?.dataset.hydrated === 'true';

const WAITING = 'Your form will be sent as soon as this page has finished loading.';
const FAILED =
  'This page could not finish loading, so your form has not been sent. Check your connection, then reload the page and send it again.';

function say(text, role) {
  if (!note) {
    note = document.createElement('div');
    note.className = 'held-submit';
    document.documentElement.append(note);
  }
  note.setAttribute('role', role);
  note.textContent = text;
}

function unsay() {
  note?.remove();
  note = null;
}

// The page's code failed before the page was interactive.
function giveUp() {
  if (hydrated() || failed) return;
  failed = true;
  if (!held) return;
  held.form.removeAttribute('aria-busy');
  held = null;
  say(FAILED, 'alert');
}
window.addEventListener('unhandledrejection', giveUp);
// Errors thrown by a script, and scripts that failed to load (their error events do not
// bubble, so they are caught on the way down).
window.addEventListener(
  'error',
  (event) => {
    if (event instanceof ErrorEvent || event.target instanceof HTMLScriptElement) giveUp();
  },
  true,
);

function sendWhenHydrated() {
  const observer = new MutationObserver(() => {
    if (!hydrated()) return;
    observer.disconnect();
    unsay();
    if (!held) return;
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
    if (failed) {
      say(FAILED, 'alert');
      return;
    }
    // The last submit is the one sent (a second click before then changes nothing).
    const waiting = held !== null;
    if (waiting && held.form !== form) held.form.removeAttribute('aria-busy');
    held = { form, submitter: event.submitter };
    form.setAttribute('aria-busy', 'true');
    say(WAITING, 'status');
    if (!waiting) sendWhenHydrated();
  },
  true,
);
