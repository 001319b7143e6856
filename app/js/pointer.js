// A click must land where it was pressed. Leaving a field shows or clears its error, which
// moves everything below it; when the field was left by pressing on another control (the
// pointer press moves focus), the move would come between the press and the release, and
// the click would land on whatever moved under the pointer, or nowhere. So while a press is
// in progress, work that may move the page waits until the press's click has been dispatched
// (after the release for a mouse; after the click, or at the latest half a second after the
// release, for touch and pen, whose click comes after the release). Keyboard focus changes
// (Tab) run the work at once.
//
// Loaded with the wasm bundle, also in the batch upload worker, which has no document.

let down = false;
let waiting = [];
let timer = 0;

function settle() {
  clearTimeout(timer);
  timer = 0;
  down = false;
  const work = waiting;
  waiting = [];
  for (const run of work) run();
}

function settleIn(ms) {
  clearTimeout(timer);
  timer = setTimeout(settle, ms);
}

if (typeof document !== 'undefined') {
  const options = { capture: true, passive: true };
  addEventListener('pointerdown', () => {
    if (timer) settle();
    down = true;
  }, options);
  addEventListener('pointerup', (e) => settleIn(e.pointerType === 'mouse' ? 0 : 500), options);
  addEventListener('pointercancel', () => settleIn(0), options);
  addEventListener('click', () => settleIn(0), options);
  addEventListener('keydown', () => { if (down) settle(); }, options);
}

// Whether a pointer press is in progress (its click not yet dispatched).
export function pressing() {
  return down;
}

// Runs `work` once the press in progress has been clicked (at once if there is none).
export function afterPress(work) {
  if (down) waiting.push(work);
  else work();
}
