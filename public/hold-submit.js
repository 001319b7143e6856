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
// interactive (window.pageCodeFailed, set by the few lines the shell puts before the page's
// code, app/src/lib.rs, which run even if this file comes late), the page will most likely never
// send the form: the note then says it has not been sent and to reload the page. The form is
// still held: should the page become interactive after all, it is sent then, as ever. Nothing
// is ever posted natively.
//
// The notes are two live regions, a status and an alert, children of <html> outside the body
// (outside what the page's code takes over, so they cannot upset it), empty until needed, so
// that a screen reader announces what is put in them. They go once the page is interactive.
const hydrated = () => document.body?.dataset.hydrated === 'true';

if (!hydrated()) holdSubmits();

function holdSubmits() {
  const WAITING = 'Your form will be sent as soon as this page has finished loading.';
  const FAILED =
    'This page could not finish loading, so your form has not been sent. Check your connection, then reload the page and send it again.';

  let held = null;
  let failed = false;

  // Shown as the site's notices are (style/main.css), placed where a note on a form that
  // waits must be.
  const region = (role) => {
    const element = document.createElement('div');
    element.className = role === 'alert' ? 'notice notice--error held-submit' : 'notice held-submit';
    element.setAttribute('role', role);
    document.documentElement.append(element);
    return element;
  };
  const status = region('status');
  const alert = region('alert');

  // Puts `text` in `to` (and empties the other). The same text again is put back a moment
  // after emptying, so that it is announced again.
  function say(to, text) {
    for (const r of [status, alert]) if (r !== to) r.textContent = '';
    if (to.textContent === text) {
      to.textContent = '';
      setTimeout(() => {
        to.textContent = text;
      }, 100);
    } else {
      to.textContent = text;
    }
  }

  function giveUp() {
    if (hydrated() || failed) return;
    failed = true;
    if (!held) return;
    held.form.removeAttribute('aria-busy');
    say(alert, FAILED);
  }
  window.onPageCodeFailed = giveUp;
  if (window.pageCodeFailed) giveUp();

  const observer = new MutationObserver(() => {
    if (!hydrated()) return;
    observer.disconnect();
    status.remove();
    alert.remove();
    if (!held) return;
    const { form, submitter } = held;
    held = null;
    form.removeAttribute('aria-busy');
    if (!form.isConnected) return;
    form.requestSubmit(submitter && submitter.isConnected && submitter.form === form ? submitter : undefined);
  });
  // The whole document: the body may not be parsed yet.
  observer.observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });

  document.addEventListener(
    'submit',
    (event) => {
      const form = event.target;
      if (hydrated() || !(form instanceof HTMLFormElement)) return;
      const action = new URL(form.action, location.href);
      if (action.origin !== location.origin || !action.pathname.startsWith('/api/')) return;
      event.preventDefault();
      // The last submit is the one sent (a second click before then changes nothing).
      if (held && held.form !== form) held.form.removeAttribute('aria-busy');
      held = { form, submitter: event.submitter };
      if (failed) {
        say(alert, FAILED);
      } else {
        form.setAttribute('aria-busy', 'true');
        say(status, WAITING);
      }
    },
    true,
  );
}
