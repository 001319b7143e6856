// An officer's browser, as far as the chaos test and the scale bench need one: its own
// connections (a keep-alive agent) and cookie jar, the development sign-in, and server
// function calls that are retried with the very same request when the answer is lost.
//
// What counts as lost (retried, and recorded as a failure with its times):
//   - no answer: a refused or reset connection, a closed socket, a timeout;
//   - a 5xx that is not one of the app's own answers: haproxy's 502/503/504, a body that is
//     not an AppError, or AppError::Internal / AppError::Transport.
// Any other AppError (Unauthenticated, Validation, Conflict, Forbidden, NotFound) is an answer:
// it is handed back to the caller, never retried. Server functions answer every AppError with
// status 500 and the error as JSON (`"Unauthenticated"`, `{"Validation":{...}}`, ...).
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** The name of the session cookie (app/src/server/session_store.rs, tower-sessions). */
export const SESSION_COOKIE = 'techbiz_session';

/** A server function answered with one of the app's own errors. */
export class AppAnswer extends Error {
  constructor(fn, status, error) {
    super(`${fn} answered ${status} ${JSON.stringify(error)}`);
    this.fn = fn;
    this.status = status;
    this.error = error;
  }

  /** The AppError's variant: "Unauthenticated", "Validation", ... */
  get variant() {
    return typeof this.error === 'string' ? this.error : Object.keys(this.error ?? {})[0];
  }
}

/** Gave up on a call after retrying it. */
export class GaveUp extends Error {}

/** The AppError in a 5xx body, if the body is one; `null` for anything else. */
export function appError(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const variants = ['Unauthenticated', 'Validation', 'Conflict', 'Forbidden', 'NotFound', 'Internal', 'Transport'];
  if (typeof body === 'string') return variants.includes(body) ? body : null;
  if (body && typeof body === 'object' && Object.keys(body).length === 1 && variants.includes(Object.keys(body)[0])) {
    return body;
  }
  return null;
}

/** One HTTP request; resolves with {status, headers, text}, rejects with the socket error
 * (`code` ECONNRESET, ECONNREFUSED, ... or `timeout`). */
export function request({ url, method = 'POST', path, headers = {}, body, agent, timeoutMs = 30000 }) {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const payload = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        agent,
        headers: { ...headers, ...(payload ? { 'Content-Length': payload.length } : {}) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => {
      const e = new Error(`no answer within ${timeoutMs} ms`);
      e.code = 'timeout';
      req.destroy(e);
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Counts of calls and every failed attempt, shared by the officers of one run. */
export class Record {
  constructor() {
    this.calls = {};
    /** Milliseconds of each answered call, by server function. */
    this.times = {};
    /** [started, ended] of each answered call, by server function. */
    this.spans = {};
    this.attempts = 0;
    this.failures = [];
  }

  call(fn, ms) {
    const ended = Date.now();
    this.calls[fn] = (this.calls[fn] ?? 0) + 1;
    (this.times[fn] ??= []).push(ms);
    (this.spans[fn] ??= []).push([ended - ms, ended]);
  }

  /** p50 and max of each server function's answered calls, in ms. */
  latency() {
    return Object.fromEntries(
      Object.entries(this.times).map(([fn, list]) => {
        const sorted = [...list].sort((a, b) => a - b);
        return [fn, { p50: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1] }];
      }),
    );
  }
}

export class Officer {
  /**
   * @param {string} url the site (haproxy), e.g. http://127.0.0.1:8080
   * @param {string} email a gov.sg address
   * @param {Record} record
   */
  constructor(url, email, record, { maxSockets = 6 } = {}) {
    this.url = url;
    this.email = email;
    this.record = record;
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
    this.cookie = null;
    /** Every session cookie value this officer was ever given (one, if sessions survive). */
    this.cookies = [];
    this.signIns = 0;
  }

  /** Keeps the session cookie the answer sets, if any. */
  #keep(headers) {
    for (const c of headers['set-cookie'] ?? []) {
      const m = c.match(new RegExp(`^${SESSION_COOKIE}=([^;]*)`));
      if (m && m[1] && m[1] !== this.cookie) {
        this.cookie = m[1];
        this.cookies.push(m[1]);
      }
    }
  }

  /** The development sign-in, as the sign-in page's form posts it. */
  async signIn({ attempts } = {}) {
    this.signIns += 1;
    const body = new URLSearchParams({ email: this.email, next: '/' }).toString();
    await this.call('sign_in', body, { form: true, attempts });
    if (!this.cookie) throw new Error(`${this.email}: the sign-in set no ${SESSION_COOKIE} cookie`);
  }

  /**
   * Calls server function `fn` with `body` (an object, sent as JSON; or a string with
   * `form`), retrying the same request when the answer is lost. Returns the parsed answer;
   * throws AppAnswer for an app error and GaveUp after `attempts` lost answers.
   */
  async call(fn, body, { form = false, timeoutMs = 30000, attempts = 40, direct } = {}) {
    const text = form ? body ?? '' : JSON.stringify(body ?? {});
    const headers = {
      'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json',
      Accept: 'application/json',
    };
    for (let attempt = 1; ; attempt += 1) {
      if (this.cookie) headers.Cookie = `${SESSION_COOKIE}=${this.cookie}`;
      const started = Date.now();
      this.record.attempts += 1;
      let failure;
      try {
        const res = await request({
          url: direct ?? this.url,
          path: `/api/${fn}`,
          headers,
          body: text,
          agent: direct ? undefined : this.agent,
          timeoutMs,
        });
        this.#keep(res.headers);
        if (res.status < 300) {
          this.record.call(fn, Date.now() - started);
          return res.text ? JSON.parse(res.text) : null;
        }
        const error = appError(res.text);
        const variant = typeof error === 'string' ? error : error && Object.keys(error)[0];
        if (error && variant !== 'Internal' && variant !== 'Transport') {
          this.record.call(fn, Date.now() - started);
          throw new AppAnswer(fn, res.status, error);
        }
        if (res.status < 500) {
          this.record.call(fn, Date.now() - started);
          throw new AppAnswer(fn, res.status, res.text.slice(0, 300));
        }
        failure = { kind: `http ${res.status}`, detail: res.text.slice(0, 200) };
      } catch (e) {
        if (e instanceof AppAnswer || e instanceof SyntaxError) throw e;
        failure = { kind: e.code ?? 'error', detail: String(e.message).slice(0, 200) };
      }
      const ended = Date.now();
      this.record.failures.push({ officer: this.email, fn, attempt, started, ended, ...failure });
      if (attempt >= attempts) {
        throw new GaveUp(`${this.email}: ${fn} lost its answer ${attempt} times (last: ${failure.kind} ${failure.detail})`);
      }
      // A little over haproxy's time to notice a dead instance, growing, with jitter.
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt - 1, 5)) + Math.random() * 100);
    }
  }

  close() {
    this.agent.destroy();
  }
}
