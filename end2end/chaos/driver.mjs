// The chaos test's officers (scripts/chaos.sh): each signs in once through the development
// sign-in (its own connections and cookie jar), then uploads its batches as the batch upload
// page does (one pre-check of the list, then submit_batch in chunks of 500 under one batch
// key, a chunk whose answer is lost sent again as it was), looks at Invite user status after
// each batch, resends and revokes some of its invitations, and keeps listing its status until
// the stop file appears (the killer is done) or the time is up.
//
// Usage: node driver.mjs --url http://127.0.0.1:PORT --out results.json [--officers 20]
//   [--batches 2] [--rows 500] [--resends 10] [--revokes 10] [--stop-file F]
//   [--submitted-file F] [--max-seconds 300]
// The submitted file is written once every officer has submitted all its batches (the killer
// waits for it before its rolling deploy).
//
// It writes results.json: every officer with its cookie(s) and sign-ins, every row sent with
// the invitation it became, the actions' outcomes, every lost answer with its times, and the
// calls made. It exits non-zero only when it could not go on (a call given up after its
// retries, or an answer no officer should get, such as Unauthenticated); whether the lost
// answers fell inside kill windows is for check.mjs to judge.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { AppAnswer, Officer, Record } from './client.mjs';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    out: { type: 'string' },
    officers: { type: 'string', default: '20' },
    agencies: { type: 'string', default: '4' },
    batches: { type: 'string', default: '2' },
    rows: { type: 'string', default: '500' },
    resends: { type: 'string', default: '10' },
    revokes: { type: 'string', default: '10' },
    'stop-file': { type: 'string' },
    'submitted-file': { type: 'string' },
    'max-seconds': { type: 'string', default: '300' },
  },
});
if (!opt.url || !opt.out) {
  console.error('usage: node driver.mjs --url URL --out FILE [options]');
  process.exit(2);
}
const N = {
  officers: Number(opt.officers),
  agencies: Number(opt.agencies),
  batches: Number(opt.batches),
  rows: Number(opt.rows),
  resends: Number(opt.resends),
  revokes: Number(opt.revokes),
};
/** SUBMIT_CHUNK_ROWS in app/src/domain/limits.rs: the page sends a list in chunks of 500. */
const CHUNK = 500;
const started = Date.now();
const deadline = started + Number(opt['max-seconds']) * 1000;
const record = new Record();

const FIRST = ['Mei Ling', 'Wei Ming', 'Siti', 'Arjun', 'Hui Min', 'Ahmad', 'Priya', 'Jun Jie'];
const LAST = ['Tan', 'Lim', 'Ng', "O'Neil", 'Rahman', 'Kumar', 'Lee', 'Goh-Wong'];
const pad = (n, w) => String(n).padStart(w, '0');

/** Row r of batch b of officer o: a public officer of the officer's agency, or (one row in
 * ten) a vendor with a TechPass username; every address and username unique in the run. */
function row(o, agency, b, r) {
  const id = `o${pad(o, 2)}b${pad(b, 2)}r${pad(r, 4)}`;
  const vendor = r % 10 === 9;
  return {
    row_id: `row-${r}`,
    raw: {
      email: vendor ? `${id}@vendor${pad(o, 2)}.example.com.sg` : `p.${id}@${agency}`,
      username: vendor ? `v.${id}` : '',
      first_name: FIRST[r % FIRST.length],
      last_name: LAST[(r + b) % LAST.length],
      contact_number: vendor ? '+44 20 7946 0958' : `9${pad((o * 1000 + r) % 10000000, 7)}`,
      organisation: vendor ? 'Vendor Pte Ltd' : 'GovTech',
      department: 'Chaos Engineering',
      seed_required: r % 3 === 0 ? 'Yes' : 'No',
      reason: `Chaos test: officer ${o}, batch ${b}`,
    },
  };
}

const statusQuery = (over = {}) => ({
  query: { page: 1, per_page: 25, sort: 'InvitedOn', descending: true, search: '', status: null, ...over },
});

/** A call whose app error is a finding: noted, and the officer goes on. */
const findings = [];
function note(officer, e) {
  if (!(e instanceof AppAnswer)) throw e;
  findings.push({ officer: officer.email, fn: e.fn, status: e.status, error: e.error, at: Date.now() });
}

let submitting = N.officers;
const submitted = () => {
  submitting -= 1;
  if (submitting === 0 && opt['submitted-file']) fs.writeFileSync(opt['submitted-file'], `${Date.now()}\n`);
};

const stopped = () => (opt['stop-file'] && fs.existsSync(opt['stop-file'])) || Date.now() > deadline;

async function runOfficer(o) {
  const agency = `chaos${(o % N.agencies) + 1}.gov.sg`;
  const officer = new Officer(opt.url, `officer${pad(o, 2)}@${agency}`, record);
  const mine = { email: officer.email, rows: [], invited: new Map(), rejected: [], resent: [], revoked: [], actions: {} };
  await officer.signIn();

  for (let b = 1; b <= N.batches; b += 1) {
    const key = crypto.randomUUID();
    const rows = Array.from({ length: N.rows }, (_, r) => row(o, agency, b, r));
    const fileName = `officer${pad(o, 2)}-batch${b}.csv`;
    // The pre-check of the whole list, once, before the chunks (fresh addresses: no issues).
    const issues = await officer.call('precheck_batch', {
      rows: rows.map((r) => ({ row_id: r.row_id, email: r.raw.email, username: r.raw.username })),
    });
    if (issues.length > 0) findings.push({ officer: officer.email, fn: 'precheck_batch', issues: issues.slice(0, 5), count: issues.length });
    for (let at = 0; at < rows.length; at += CHUNK) {
      const chunk = rows.slice(at, at + CHUNK);
      // The same key, file name and rows on every attempt.
      const outcome = await officer.call('submit_batch', { batch_key: key, file_name: fileName, rows: chunk }, { timeoutMs: 90000 });
      const byRow = new Map(chunk.map((r) => [r.row_id, r.raw.email]));
      for (const { row_id, result } of outcome.rows) {
        if (result.Invited) {
          mine.invited.set(result.Invited.invitation_id, byRow.get(row_id));
        } else {
          mine.rejected.push({ batch: b, row_id, email: byRow.get(row_id), fields: result.Rejected?.fields });
        }
      }
      if (outcome.rows.length !== chunk.length) {
        findings.push({ officer: officer.email, fn: 'submit_batch', detail: `${chunk.length} rows sent, ${outcome.rows.length} answered` });
      }
    }
    mine.rows.push(...rows.map((r) => r.raw.email));
    await officer.call('list_invitations', statusQuery());
  }
  submitted();

  // Resend some invitations whose account exists (Created: their first email has gone or is
  // going), a few at a time as an officer ticks rows on the status page.
  const ids = [...mine.invited.keys()];
  const act = async (fn, chosen, into) => {
    for (let at = 0; at < chosen.length; at += 5) {
      const group = chosen.slice(at, at + 5);
      try {
        const outcome = await officer.call(fn, { ids: group });
        into.push(...group.filter((id) => outcome.done.includes(mine.invited.get(id))));
        mine.actions[fn] = mine.actions[fn] ?? { done: 0, refused: {} };
        mine.actions[fn].done += outcome.done.length;
        for (const r of outcome.refused) {
          mine.actions[fn].refused[r.reason] = (mine.actions[fn].refused[r.reason] ?? 0) + 1;
        }
      } catch (e) {
        note(officer, e);
      }
    }
  };
  const wanted = new Set();
  for (let tries = 0; wanted.size < N.resends && tries < 20 && !stopped(); tries += 1) {
    const page = await officer.call('list_invitations', statusQuery({ status: 'Created', per_page: 100, page: 1 + (tries % 3) }));
    for (const r of page.rows) if (mine.invited.has(r.id) && wanted.size < N.resends) wanted.add(r.id);
    if (wanted.size < N.resends) await sleep(500);
  }
  await act('resend_invitations', [...wanted], mine.resent);
  // Revoke others, picked from all of this officer's rows: some may still be Provisioning
  // (no email is then ever written) and some already mailed. Half now, five at a time; the
  // rest one by one while the officer keeps looking at the list (writes during the deploy).
  const others = ids.filter((id) => !wanted.has(id));
  const revoke = [];
  for (let i = 0; i < N.revokes && others.length > 0; i += 1) {
    revoke.push(others.splice(Math.floor(Math.random() * others.length), 1)[0]);
  }
  const later = revoke.splice(Math.ceil(revoke.length / 2));
  await act('revoke_invitations', revoke, mine.revoked);

  // Looks at Invite user status now and then (as the page polls status_version) until the
  // killer is done.
  const views = [
    statusQuery(),
    statusQuery({ search: 'tan' }),
    statusQuery({ status: 'Revoked' }),
    statusQuery({ sort: 'Email', descending: false }),
    statusQuery({ page: 3 }),
  ];
  for (let i = 0; !stopped(); i += 1) {
    await officer.call('status_version', '', { form: true });
    if (i % 2 === 0) await officer.call('list_invitations', views[(i / 2) % views.length]);
    if (i % 4 === 3 && later.length > 0) await act('revoke_invitations', [later.shift()], mine.revoked);
    await sleep(300 + Math.random() * 400);
  }
  officer.close();
  return {
    email: officer.email,
    agency,
    cookie: officer.cookie,
    cookies: officer.cookies.length,
    sign_ins: officer.signIns,
    rows: mine.rows,
    invited: Object.fromEntries(mine.invited),
    rejected: mine.rejected,
    resent: mine.resent,
    revoked: mine.revoked,
    actions: mine.actions,
  };
}

let fatal = null;
const results = await Promise.all(
  Array.from({ length: N.officers }, (_, i) =>
    runOfficer(i + 1).catch((e) => {
      submitted();
      fatal = fatal ?? `${e.constructor.name}: ${e.message}`;
      console.error(`driver: officer ${i + 1}: ${e.stack ?? e}`);
      return null;
    }),
  ),
);
const ended = Date.now();
fs.writeFileSync(
  opt.out,
  JSON.stringify({ started, ended, params: N, officers: results, failures: record.failures, calls: record.calls, latency: record.latency(), spans: record.spans, attempts: record.attempts, findings, fatal }),
);
const rows = results.reduce((n, r) => n + (r?.rows.length ?? 0), 0);
console.log(
  `driver: ${N.officers} officers, ${rows} rows sent, ${record.attempts} requests, ` +
    `${record.failures.length} lost answers retried, ${((ended - started) / 1000).toFixed(1)} s`,
);
process.exit(fatal ? 1 : 0);
