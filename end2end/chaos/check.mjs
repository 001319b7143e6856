// The chaos test's verdict (scripts/chaos.sh), once the outbox and the provisioning queue
// have drained. Reads the driver's results, the killer's windows, the SMTP sink's record and
// the database (psql, through the PG* environment variables), prints a summary and exits
// non-zero naming every check that failed:
//   1. every row the driver sent is exactly one invitation (by address), none missing, none
//      extra, each the invitation its submit_batch answer named; no row was rejected;
//   2. every invitation has exactly one first email in the outbox (a revoked one at most one:
//      revoked before its account was made, it never had one, as the email of an account is
//      written once the account exists), and every outbox message went as its state says:
//      `sent` reached the sink, `cancelled` (a revoke called it off) did not (unless a relay
//      had claimed it and was killed after the hand-over); nothing is left `pending` or
//      `failed`, no message belongs to no invitation, and the sink
//      got nothing the outbox does not hold. A second copy of one Message-ID is a duplicate,
//      the relay's at-least-once window: allowed only for a message claimed as many times as
//      it was delivered whose first copy a kill -9 followed at once (the relay died between
//      the SMTP server's 250 and marking it sent); any other fails, and --max-duplicates N
//      bounds even those;
//   3. no lost answer (5xx, reset, refused, timeout) outside a kill -9 window, none during the
//      rolling SIGTERM deploys; every SIGTERM ended with exit code 0 within its grace time;
//   4. every officer signed in once and kept one session cookie, which every instance still
//      honours (get_session straight to each instance's port).
// Usage: node check.mjs --results F --windows F --sink F --instances P1,P2,P3
//   [--max-duplicates N] [--elapsed-seconds S]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Officer, Record } from './client.mjs';

const { values: opt } = parseArgs({
  options: {
    results: { type: 'string' },
    windows: { type: 'string' },
    sink: { type: 'string' },
    instances: { type: 'string' },
    'max-duplicates': { type: 'string' },
    'elapsed-seconds': { type: 'string' },
  },
});
const lines = (file) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
const results = JSON.parse(fs.readFileSync(opt.results, 'utf8'));
const windows = lines(opt.windows);
const delivered = lines(opt.sink);
const ports = opt.instances.split(',');

/** The rows of a query, as objects (psql through PGHOST, PGPORT, PGUSER, PGDATABASE). */
function query(sql) {
  const out = execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', `SELECT COALESCE(json_agg(t), '[]') FROM (${sql}) t`], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  return JSON.parse(out);
}

const failed = [];
const fail = (check, message) => failed.push(`${check}: ${message}`);
const sample = (list, n = 5) => list.slice(0, n).join(', ') + (list.length > n ? `, … (${list.length} in all)` : '');
const officers = results.officers.filter(Boolean);
if (results.fatal) fail('driver', `stopped: ${results.fatal}`);
if (officers.length !== results.params.officers) fail('driver', `${results.params.officers - officers.length} officers did not finish`);
// An app error where none was expected (Unauthenticated: a session lost), or a pre-check issue.
if (results.findings.length) fail('driver', `${results.findings.length} unexpected answers: ${JSON.stringify(results.findings.slice(0, 3))}`);

// 1. Rows and invitations --------------------------------------------------------------------
const invitations = query('SELECT id, email_key, status, inviter_email FROM invitations');
const byKey = new Map();
for (const inv of invitations) byKey.set(inv.email_key, [...(byKey.get(inv.email_key) ?? []), inv]);
const sent = new Map();
for (const o of officers) for (const email of o.rows) sent.set(email.toLowerCase(), o);
const missing = [];
const twice = [];
for (const key of sent.keys()) {
  const n = byKey.get(key)?.length ?? 0;
  if (n === 0) missing.push(key);
  if (n > 1) twice.push(`${key} (${n})`);
}
const extra = invitations.filter((i) => !sent.has(i.email_key)).map((i) => i.email_key);
if (missing.length) fail('rows', `${missing.length} rows sent have no invitation: ${sample(missing)}`);
if (twice.length) fail('rows', `${twice.length} addresses have more than one invitation: ${sample(twice)}`);
if (extra.length) fail('rows', `${extra.length} invitations no row asked for: ${sample(extra)}`);
const ids = new Map(invitations.map((i) => [i.id, i]));
const wrongIds = [];
let answered = 0;
for (const o of officers) {
  for (const [id, email] of Object.entries(o.invited)) {
    answered += 1;
    if (ids.get(id)?.email_key !== email.toLowerCase()) wrongIds.push(`${email} → ${id}`);
  }
}
if (wrongIds.length) fail('rows', `${wrongIds.length} submit_batch answers name an invitation that is not that row's: ${sample(wrongIds)}`);
const rejected = officers.flatMap((o) => o.rejected.map((r) => `${r.email}: ${JSON.stringify(r.fields)}`));
if (rejected.length) fail('rows', `${rejected.length} valid rows were rejected: ${sample(rejected, 3)}`);
if (answered !== sent.size) fail('rows', `${sent.size} rows sent, ${answered} answered Invited`);

// 2. Email -----------------------------------------------------------------------------------
/** The subjects of an invitation's first email (app/src/server/outbox.rs): Create account and
 * batch rows get "account_created", email invitations "invitation"; a Resend or a reminder
 * ("renewed") has another subject. */
const FIRST_SUBJECTS = ['Your TechPass account is ready to activate', 'You are invited to create a TechPass account'];
const outbox = query('SELECT id, invitation_id, status, attempts, subject FROM outbox');
const copies = new Map();
const times = new Map();
const domain = (mid) => mid.slice(0, mid.lastIndexOf('@'));
for (const m of delivered) {
  const id = domain(m.message_id);
  copies.set(id, (copies.get(id) ?? 0) + 1);
  times.set(id, [...(times.get(id) ?? []), m.at]);
}
const killedAt = windows.filter((w) => w.kind === 'kill').map((w) => w.from);
const termedAt = windows.filter((w) => w.kind === 'term').map((w) => w.from);
/** What ended the relay that handed message `id` over and never marked it sent: a kill -9 (or
 * a SIGTERM) around its first copy's arrival (from just before it, when the process died with
 * the message already on the wire, to HAND_OVER_MS after), or nothing known. */
const HAND_OVER_MS = 2000;
const cause = (id) => {
  const first = Math.min(...times.get(id));
  const after = (list) => list.some((t) => t >= first - 500 && t - first <= HAND_OVER_MS);
  return after(killedAt) ? 'kill' : after(termedAt) ? 'term' : 'none';
};
const firsts = new Map();
let duplicates = 0;
let cancelledUnsent = 0;
let cancelledAfterHandOver = 0;
const unexplained = [];
const notDrained = [];
const lost = [];
const wrongCancel = [];
const byStatus = {};
for (const m of outbox) {
  byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
  if (FIRST_SUBJECTS.includes(m.subject)) firsts.set(m.invitation_id, (firsts.get(m.invitation_id) ?? 0) + 1);
  const n = copies.get(m.id) ?? 0;
  if (m.status === 'sent') {
    if (n === 0) lost.push(m.id);
    if (n > 1) {
      duplicates += n - 1;
      // A second copy needs a second claim (the first relay's lease ran out), and the first
      // relay must have died between the hand-over and marking the message sent: killed.
      const why = cause(m.id);
      if (m.attempts < n || why !== 'kill') {
        unexplained.push(`${m.id} (${n} copies, ${m.attempts} claims, ${why === 'term' ? 'a SIGTERM' : 'no kill'} just after the first)`);
      }
    }
  } else if (m.status === 'cancelled') {
    if (n === 0) cancelledUnsent += 1;
    else if (n === 1 && m.attempts >= 1 && cause(m.id) === 'kill') cancelledAfterHandOver += 1;
    else wrongCancel.push(`${m.id} (${n} copies, ${m.attempts} claims)`);
  } else {
    notDrained.push(`${m.id} (${m.status})`);
  }
}
const orphans = outbox.filter((m) => m.invitation_id && !ids.has(m.invitation_id)).map((m) => m.id);
if (orphans.length) fail('email', `${orphans.length} outbox messages belong to no invitation: ${sample(orphans)}`);
const noFirst = invitations
  .filter((i) => {
    const n = firsts.get(i.id) ?? 0;
    return i.status === 'revoked' ? n > 1 : n !== 1;
  })
  .map((i) => `${i.email_key} (${i.status}, ${firsts.get(i.id) ?? 0})`);
if (noFirst.length) fail('email', `${noFirst.length} invitations without exactly one first email: ${sample(noFirst)}`);
if (notDrained.length) fail('email', `${notDrained.length} outbox messages neither sent nor cancelled: ${sample(notDrained)}`);
if (lost.length) fail('email', `${lost.length} messages marked sent never reached the SMTP server: ${sample(lost)}`);
if (wrongCancel.length) fail('email', `${wrongCancel.length} cancelled messages were delivered: ${sample(wrongCancel)}`);
if (unexplained.length) fail('email', `${unexplained.length} duplicates that no kill -9 explains: ${sample(unexplained)}`);
const known = new Set(outbox.map((m) => m.id));
const strays = [...copies.keys()].filter((id) => !known.has(id));
if (strays.length) fail('email', `${strays.length} messages at the SMTP server that the outbox does not hold: ${sample(strays)}`);
if (opt['max-duplicates'] !== undefined && duplicates > Number(opt['max-duplicates'])) {
  fail('email', `${duplicates} duplicate deliveries (at-least-once window), at most ${opt['max-duplicates']} allowed in this run`);
}
const provisioning = query("SELECT status, count(*)::int AS n FROM provisioning GROUP BY status");
const pendingAccounts = provisioning.filter((p) => p.status === 'pending').reduce((n, p) => n + p.n, 0);
if (pendingAccounts) fail('accounts', `${pendingAccounts} provisioning requests still pending`);
const stuck = invitations.filter((i) => i.status === 'provisioning' || i.status === 'provisioning_failed').length;
if (stuck) fail('accounts', `${stuck} invitations still Provisioning or Provisioning failed`);

// 3. Lost answers and windows -----------------------------------------------------------------
const kills = windows.filter((w) => w.kind === 'kill');
const terms = windows.filter((w) => w.kind === 'term');
const deploys = windows.filter((w) => w.kind === 'deploy');
const overlaps = (f, w) => f.started <= w.to && f.ended >= w.from;
let inside = 0;
const duringDeploy = [];
const outside = [];
const at = (t) => `${((t - results.started) / 1000).toFixed(1)} s`;
for (const f of results.failures) {
  const what = `${f.officer} ${f.fn} ${f.kind} at ${at(f.ended)}`;
  if (kills.some((w) => overlaps(f, w))) inside += 1;
  else if (deploys.some((w) => overlaps(f, w))) duringDeploy.push(what);
  else outside.push(what);
}
if (outside.length) fail('availability', `${outside.length} lost answers outside any kill window: ${sample(outside)}`);
if (duringDeploy.length) fail('availability', `${duringDeploy.length} lost answers during a rolling SIGTERM deploy: ${sample(duringDeploy)}`);
for (const t of terms) {
  if (t.exit_code !== 0) fail('shutdown', `instance ${t.instance} exited with code ${t.exit_code} after SIGTERM`);
  if (t.exit_ms > t.limit_ms) fail('shutdown', `instance ${t.instance} took ${t.exit_ms} ms to exit after SIGTERM (grace ${t.limit_ms} ms)`);
}
if (!deploys.length) fail('shutdown', 'no rolling deploy was recorded');
// The calls answered while a deploy was under way (what the deploy had to carry through).
const acrossDeploys = Object.entries(results.spans ?? {})
  .map(([fn, spans]) => [fn, spans.filter(([from, to]) => deploys.some((w) => from <= w.to && to >= w.from)).length])
  .filter(([, n]) => n > 0);

// 4. Sessions --------------------------------------------------------------------------------
const session = { checked: 0, bad: [] };
for (const o of officers) {
  if (o.sign_ins !== 1 || o.cookies !== 1) session.bad.push(`${o.email}: ${o.sign_ins} sign-ins, ${o.cookies} cookies`);
  const probe = new Officer('http://127.0.0.1', o.email, new Record());
  probe.cookie = o.cookie;
  for (const port of ports) {
    const view = await probe.call('get_session', '', { form: true, direct: `http://127.0.0.1:${port}`, attempts: 3 }).catch((e) => ({ error: e.message }));
    session.checked += 1;
    if (view?.user?.email !== o.email) session.bad.push(`${o.email} on :${port}: ${JSON.stringify(view?.user ?? view?.error ?? null)}`);
  }
}
if (session.bad.length) fail('sessions', `${session.bad.length} problems: ${sample(session.bad)}`);

// Summary ------------------------------------------------------------------------------------
const actions = (fn) =>
  officers.reduce((n, o) => n + (o.actions?.[fn]?.done ?? 0), 0);
const seconds = opt['elapsed-seconds'] ?? ((results.ended - results.started) / 1000).toFixed(0);
console.log(`
chaos summary
  rows sent              ${sent.size} by ${officers.length} officers (${results.params.batches} batches of ${results.params.rows} each)
  invitations            ${invitations.length} (missing ${missing.length}, extra ${extra.length}, twice ${twice.length})
  resent / revoked       ${actions('resend_invitations')} / ${actions('revoke_invitations')}
  outbox                 ${Object.entries(byStatus).map(([s, n]) => `${s} ${n}`).join(', ')}
  emails at the sink     ${delivered.length} (first emails ${[...firsts.values()].reduce((a, b) => a + b, 0)}, cancelled unsent ${cancelledUnsent}, cancelled after hand-over ${cancelledAfterHandOver})
  duplicates             ${duplicates} (a Message-ID delivered again: its relay was killed between the hand-over and the record)
  kills                  ${kills.length} kill -9, ${terms.length} SIGTERM (${deploys.length} rolling deploys: ${deploys.map((w) => ((w.to - w.from) / 1000).toFixed(1) + ' s').join(', ') || 'none'})
  lost answers           ${inside} inside kill windows, ${duringDeploy.length} during the deploys, ${outside.length} outside
  answered in deploys    ${acrossDeploys.map(([fn, n]) => `${fn} ${n}`).join(', ') || 'none'}
  latency                ${Object.entries(results.latency ?? {}).map(([f, l]) => `${f} p50 ${l.p50} ms max ${l.max} ms`).join(', ')}
  requests               ${results.attempts} (${Object.entries(results.calls).map(([f, n]) => `${f} ${n}`).join(', ')})
  sessions               ${officers.length} cookies × ${ports.length} instances: ${session.checked - session.bad.length}/${session.checked} signed in
  findings               ${results.findings.length ? JSON.stringify(results.findings.slice(0, 3)) : 'none'}
  seconds                ${seconds}`);
if (failed.length) {
  console.error(`\nchaos: FAILED\n  ${failed.join('\n  ')}`);
  process.exit(1);
}
console.log('chaos: every check passed');
