// Parses an uploaded batch file off the main thread, with the same Rust code (compiled to
// wasm) that the page and the server use. One worker per file; the page terminates it.
import init, { parse_upload } from '/pkg/techbiz-invite.js';

const ready = init();

self.onmessage = async (event) => {
  const { bytes, name, key } = event.data;
  try {
    await ready;
    const texts = parse_upload(bytes, name, key);
    self.postMessage({ ok: true, texts });
  } catch (err) {
    self.postMessage({ ok: false, error: String((err && err.message) || err) });
  }
};
