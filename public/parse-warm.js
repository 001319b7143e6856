// The batch page's server render loads this in its head, so that on a full page load the
// parser compiles and warms up while the page's own code is still starting, not after it: a
// file chosen the moment the page is interactive is parsed at once. The page then takes this
// worker (the same module, /parse-start.js).
//
// It starts once the page's bundle (`after`, in this script's address) has arrived, so that
// on a slow line the parser's download does not share it with the bundle, which the page
// needs first. (The browser's own estimate of the line is no guide: a new browser reports
// about 1.5 Mbit/s on any line until it has measured one.)
import { warmWorker } from '/parse-start.js';

const after = new URL(import.meta.url).searchParams.get('after');
if (after) {
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => new URL(e.name).pathname === after)) {
      observer.disconnect();
      warmWorker();
    }
  });
  observer.observe({ type: 'resource', buffered: true });
} else {
  warmWorker();
}
