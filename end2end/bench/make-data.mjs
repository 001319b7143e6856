// Writes the batch upload files the parse benchmark reads: users-<n>k.csv and users-<n>k.xlsx
// for 10,000 and 100,000 rows, with the template's headers and rows like the ones officers
// upload. Every row is valid by the domain rules and every email address is distinct, so the
// validating parser does the work of a clean file. The rows come from a seeded generator:
// the same files every time.
//
// The CSV is what Excel's "CSV UTF-8" writes: a byte-order mark, CRLF line ends, and quotes only
// around cells that need them. The xlsx is written by SheetJS with shared strings and zlib's deflate,
// as Excel does; every cell is text, contact numbers included, and empty cells are left out.
//
// Usage: node bench/make-data.mjs <output folder>
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import XLSX from 'xlsx'; // the CommonJS build: its default export has CFB
import { csvCell, HEADERS } from '../shared.cjs';

// Deflate with zlib, as Excel does, rather than SheetJS's own deflate (which packs the sheet
// only about 3 to 1, so its files are far larger than Excel's).
process.noDeprecation = true; // use_zlib probes zlib.bytesRead, which node warns about
XLSX.CFB.utils.use_zlib(zlib);


export const SIZES = [10_000, 100_000];

// mulberry32: small, fast, and the same sequence on every machine.
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

// [name as written, ASCII form for addresses and usernames]
const FIRST_NAMES = [
  ['Wei Ling', 'weiling'], ['Jun Jie', 'junjie'], ['Hui Min', 'huimin'], ['Kumar', 'kumar'],
  ['Priya', 'priya'], ['Siti Nur', 'sitinur'], ['Muhammad', 'muhammad'], ['Aisyah', 'aisyah'],
  ['Jane', 'jane'], ['David', 'david'], ['Rachel', 'rachel'], ['Marcus', 'marcus'],
  ['Li Hua', 'lihua'], ['Arjun', 'arjun'], ['Nurul', 'nurul'], ['Benjamin', 'benjamin'],
  ['Chloé', 'chloe'], ['José', 'jose'], ['Zoë', 'zoe'], ['François', 'francois'],
  ['Thắng', 'thang'], ['Hyun-woo', 'hyunwoo'], ['Kavitha', 'kavitha'], ['Sean', 'sean'],
  ['小明', 'xiaoming'], ['Søren', 'soren'], ['Ananya', 'ananya'], ['Mary Ann', 'maryann'],
];
const LAST_NAMES = [
  ['Tan', 'tan'], ['Lim', 'lim'], ['Lee', 'lee'], ['Ng', 'ng'], ['Wong', 'wong'],
  ['Goh', 'goh'], ['Chua', 'chua'], ['Ong', 'ong'], ['Koh', 'koh'], ['Teo', 'teo'],
  ['bin Abdullah', 'abdullah'], ['binte Ahmad', 'ahmad'], ['Subramaniam', 'subramaniam'],
  ['Pillai', 'pillai'], ['Rajaratnam', 'rajaratnam'], ["O'Brien", 'obrien'],
  ["D'Souza", 'dsouza'], ['Fernandez', 'fernandez'], ['Müller', 'muller'],
  ['Nguyễn', 'nguyen'], ['陈', 'chen'], ['Đặng', 'dang'], ['Kim', 'kim'], ['Ramírez', 'ramirez'],
  ['Van der Berg', 'vanderberg'], ['St. John', 'stjohn'],
];

const AGENCIES = [
  ['tech.gov.sg', 'GovTech'],
  ['mom.gov.sg', 'Ministry of Manpower'],
  ['moh.gov.sg', 'Ministry of Health'],
  ['hdb.gov.sg', 'Housing & Development Board'],
  ['ura.gov.sg', 'Urban Redevelopment Authority'],
  ['iras.gov.sg', 'Inland Revenue Authority of Singapore'],
  ['mof.gov.sg', 'Ministry of Finance'],
  ['defence.gov.sg', 'Ministry of Defence'],
  ['cpf.gov.sg', 'Central Provident Fund Board'],
  ['gov.sg', 'Prime Minister’s Office'],
];
const OFFICER_DEPARTMENTS = [
  'Government Digital Products', 'Data Science and Artificial Intelligence',
  'Cyber Security Group', 'Finance', 'Corporate Development', 'Sentosa Planning Unit',
  'Policy, Planning and Research', 'Enterprise IT', '',
];
const VENDORS = [
  ['accenture.com', 'Accenture Pte. Ltd.'],
  ['ncs.com.sg', 'NCS Pte Ltd'],
  ['acme-consulting.sg', 'Acme Consulting, LLP'],
  ['tanandsons.com.sg', 'Tan & Sons "Digital" Pte Ltd'],
  ['thoughtworks.com', 'Thoughtworks'],
  ['example.com', 'Example Systems (Asia) Pte Ltd'],
  ['crimsonlogic.com', 'CrimsonLogic Pte Ltd'],
  ['st-engineering.com', 'ST Engineering Info-Software'],
];
const VENDOR_DEPARTMENTS = ['Delivery', 'Engineering', 'Professional Services', 'QA, Testing', ''];

const REASON_STARTS = [
  'Needs access to the',
  'Developer on the',
  'Vendor engineer supporting the',
  'Joining the team building the',
  'Requires TechPass to deploy',
  'Product manager for the',
  'Supports incident response for the',
];
const PROJECTS = [
  'LifeSG app', 'Ship HATS pipeline', '"Parking.sg" revamp', 'MyInfo integration',
  'GCC migration', 'FormSG, Postman and Isomer sites', 'CPF e-services', 'HealthHub portal',
];
const REASON_ENDS = [
  '.',
  ' for the Q3 release.',
  ', from 1 July until the end of the contract.',
  ', as approved by the project director.',
  ' (contract ref. GVT-2024-118).',
  ', replacing a colleague who has left; see the "handover" ticket.',
  ', and needs SEED for the shared laptops.',
];

function contactNumber(r) {
  const first = r.pick(['9', '9', '9', '8', '8', '6']);
  const rest = String(r.int(10_000_000)).padStart(7, '0');
  const digits = first + rest;
  return r.chance(0.85) ? `+65 ${digits.slice(0, 4)} ${digits.slice(4)}` : `${digits.slice(0, 4)} ${digits.slice(4)}`;
}

function reason(r) {
  let text = `${r.pick(REASON_STARTS)} ${r.pick(PROJECTS)}${r.pick(REASON_ENDS)}`;
  if (r.chance(0.3)) text += ` ${r.pick(['Urgent.', 'Team lead: Jane Tan, Director (Digital).', 'Renewal of an expired account.'])}`;
  // Now and then a line break typed with Alt+Enter in Excel.
  if (r.chance(0.01)) text += '\nPlease call before 6pm.';
  return text.slice(0, 120);
}

/** The header row, then `count` rows of strings. */
export function makeRows(count, seed = 20240701) {
  const r = generator(seed + count);
  const rows = [HEADERS];
  for (let i = 0; i < count; i++) {
    const [first, firstAscii] = r.pick(FIRST_NAMES);
    const [last, lastAscii] = r.pick(LAST_NAMES);
    // The row number keeps every address distinct.
    const id = i.toString(36);
    let email, username, organisation, department;
    if (i % 2 === 0) {
      const [domain, agency] = r.pick(AGENCIES);
      email = `${firstAscii}_${lastAscii}_${id}@${domain}`;
      username = '';
      organisation = agency;
      department = r.pick(OFFICER_DEPARTMENTS);
    } else {
      const [domain, company] = r.pick(VENDORS);
      username = `${firstAscii.slice(0, 10)}.${lastAscii.slice(0, 10)}-${id}`;
      email = `${r.chance(0.5) ? username : `${firstAscii}.${lastAscii}.${id}`}@${domain}`;
      organisation = company;
      department = r.pick(VENDOR_DEPARTMENTS);
    }
    if (r.chance(0.1)) email = email.replace(/^./, (c) => c.toUpperCase());
    rows.push([
      email,
      username,
      first,
      last,
      contactNumber(r),
      organisation,
      department,
      r.chance(0.6) ? 'Yes' : 'No',
      reason(r),
    ]);
  }
  return rows;
}

export function toCsv(rows) {
  return '\uFEFF' + rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export function toXlsx(rows) {
  // Every value is a string, so every cell is text. Empty cells are left out, as Excel does.
  const ws = XLSX.utils.aoa_to_sheet(rows.map((row) => row.map((s) => (s === '' ? null : s))));
  ws['!cols'] = HEADERS.map((h) => ({ wch: Math.max(12, h.length) }));
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(wb, ws, 'Users');
  return XLSX.write(wb, { type: 'buffer', bookType: 'xlsx', bookSST: true, compression: true });
}

export function fileName(count, ext) {
  return `users-${count / 1000}k.${ext}`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node bench/make-data.mjs <output folder>');
    process.exit(2);
  }
  fs.mkdirSync(dir, { recursive: true });
  for (const count of SIZES) {
    const rows = makeRows(count);
    for (const [ext, bytes] of [['csv', Buffer.from(toCsv(rows), 'utf8')], ['xlsx', toXlsx(rows)]]) {
      const file = path.join(dir, fileName(count, ext));
      fs.writeFileSync(`${file}.tmp`, bytes);
      fs.renameSync(`${file}.tmp`, file);
      console.log(`make-data: ${file} (${(bytes.length / 1e6).toFixed(1)} MB, ${count} rows)`);
    }
  }
}
