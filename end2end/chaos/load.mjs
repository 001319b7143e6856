// Load for the scale-out figures (scripts/chaos.sh scale), through the officers of
// client.mjs but without retries: a lost answer is counted as failed, never sent again.
//   node load.mjs signin --url U --email E
//       signs E in and prints its session cookie as "name=value" (for wrk)
//   node load.mjs submit --url U --officers 8 --chunks 40 --agency A --out F
//       officers of agency A each submit chunks of 500 fresh rows (one batch key per chunk)
//       until CHUNKS chunks are done; writes {rows, seconds, rows_per_s, p50_ms, p99_ms,
//       failed} to F: throughput over the wall time, latency per chunk
//   node load.mjs light --url U --officers 4 --agency A --stop-file S --out F
//       a light background load until S exists: each officer lists its status page and asks
//       status_version every ~200 ms and submits 20 fresh rows every ~2 s; writes
//       {requests, failed, failures} to F
import crypto from 'node:crypto';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Officer, Record, SESSION_COOKIE } from './client.mjs';

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    email: { type: 'string' },
    officers: { type: 'string', default: '8' },
    chunks: { type: 'string', default: '40' },
    agency: { type: 'string', default: 'scale.gov.sg' },
    'stop-file': { type: 'string' },
    out: { type: 'string' },
    'max-seconds': { type: 'string', default: '600' },
  },
});
const what = positionals[0];
const record = new Record();
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Row r of a chunk: a public officer of `agency`, unique in the run by `tag`. */
const row = (agency, tag, r) => ({
  row_id: `row-${r}`,
  raw: {
    email: `s.${tag}.r${r}@${agency}`,
    username: '',
    first_name: 'Mei Ling',
    last_name: r % 2 ? 'Tan' : 'Lim',
    contact_number: '9123 4567',
    organisation: 'GovTech',
    department: 'Scale',
    seed_required: 'No',
    reason: 'Scale-out benchmark',
  },
});

async function signedIn(i) {
  const officer = new Officer(opt.url, `load${i}@${opt.agency}`, record);
  await officer.signIn({ attempts: 1 });
  return officer;
}

if (what === 'signin') {
  const officer = new Officer(opt.url, opt.email, record);
  await officer.signIn();
  console.log(`${SESSION_COOKIE}=${officer.cookie}`);
  officer.close();
} else if (what === 'submit') {
  const officers = await Promise.all(Array.from({ length: Number(opt.officers) }, (_, i) => signedIn(i + 1)));
  let next = 0;
  const total = Number(opt.chunks);
  const times = [];
  let failed = 0;
  const started = Date.now();
  await Promise.all(
    officers.map(async (officer, o) => {
      for (let c = next++; c < total; c = next++) {
        const tag = `o${o}c${c}${crypto.randomBytes(3).toString('hex')}`;
        const rows = Array.from({ length: 500 }, (_, r) => row(opt.agency, tag, r));
        const t = Date.now();
        try {
          const answer = await officer.call('submit_batch', { batch_key: crypto.randomUUID(), file_name: `${tag}.csv`, rows }, { attempts: 1, timeoutMs: 120000 });
          if (answer.rows.some((r) => !r.result.Invited)) failed += 1;
          else times.push(Date.now() - t);
        } catch {
          failed += 1;
        }
      }
      officer.close();
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const result = {
    rows: times.length * 500,
    seconds,
    rows_per_s: (times.length * 500) / seconds,
    p50_ms: percentile(times, 50),
    p99_ms: percentile(times, 99),
    failed,
  };
  fs.writeFileSync(opt.out, JSON.stringify(result));
  console.log(`submit: ${result.rows} rows in ${seconds.toFixed(1)} s, ${result.rows_per_s.toFixed(0)} rows/s, chunk p50 ${result.p50_ms} ms p99 ${result.p99_ms} ms, ${failed} failed`);
} else if (what === 'light') {
  const deadline = Date.now() + Number(opt['max-seconds']) * 1000;
  const stop = () => fs.existsSync(opt['stop-file']) || Date.now() > deadline;
  const officers = await Promise.all(Array.from({ length: Number(opt.officers) }, (_, i) => signedIn(i + 1)));
  const query = { query: { page: 1, per_page: 25, sort: 'InvitedOn', descending: true, search: '', status: null } };
  let failed = 0;
  const attempt = (p) => p.catch(() => (failed += 1));
  await Promise.all(
    officers.map(async (officer, o) => {
      for (let i = 0; !stop(); i += 1) {
        await attempt(officer.call('list_invitations', query, { attempts: 1 }));
        await attempt(officer.call('status_version', '', { form: true, attempts: 1 }));
        if (i % 10 === 9) {
          const tag = `light${o}i${i}${crypto.randomBytes(3).toString('hex')}`;
          const rows = Array.from({ length: 20 }, (_, r) => row(opt.agency, tag, r));
          await attempt(officer.call('submit_batch', { batch_key: crypto.randomUUID(), file_name: `${tag}.csv`, rows }, { attempts: 1 }));
        }
        await sleep(150 + Math.random() * 100);
      }
      officer.close();
    }),
  );
  fs.writeFileSync(opt.out, JSON.stringify({ requests: record.attempts, failed, failures: record.failures }));
} else {
  console.error('usage: node load.mjs signin|submit|light --url URL ...');
  process.exit(2);
}
