// Does a Node.js meet every `engines.node` field of end2end/package-lock.json?
//   node scripts/check-node.mjs                  # judges the node running it (the one on PATH)
//   node scripts/check-node.mjs --node PATH      # judges that binary (asks `PATH --version`)
//   node scripts/check-node.mjs --version v20.1.0
//   ... [--lock FILE] [--quiet]
// Exit 0: it does. 1: it does not (or the binary is missing), with the message
// "Node.js vX found, end2end/package-lock.json needs >= Y: run scripts/setup.sh".
// 2: the lock file or a range in it cannot be read (the check never passes what it cannot read).
// Written for old Node too (Debian 12's 18): it has to run on the Node it refuses.
// Ranges are read as npm's semver reads them: `>=`, `>`, `<=`, `<`, `=`, bare and partial
// versions, `x`/`*`, `^`, `~`, `a - b`, spaces (and), `||` (or). Pre-release tags are ignored.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

class Unreadable extends Error {}

// "22", "22.12", "v22.12.0", "22.x", "*" -> [major, minor, patch] with null for a wildcard or a
// missing part.
function parsePartial(text) {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(text);
  if (!m) throw new Unreadable(text);
  const parts = [m[1], m[2], m[3]].map((p) => (p === undefined || /^[xX*]$/.test(p) ? null : Number(p)));
  // Nothing after a wildcard counts ("1.x.3" is "1.x").
  const first = parts.indexOf(null);
  if (first >= 0) parts.fill(null, first);
  return parts;
}

function compare(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

const filled = (p) => p.map((n) => n ?? 0);

// The version after the last one a partial version covers: 1 -> 2.0.0, 1.2 -> 1.3.0.
function nextAfter(p) {
  if (p[0] === null) return null;
  if (p[1] === null) return [p[0] + 1, 0, 0];
  if (p[2] === null) return [p[0], p[1] + 1, 0];
  return [p[0], p[1], p[2] + 1];
}

// One comparator ("^18.17", ">=20", "16.x") -> primitive [op, version] pairs, all to hold.
function primitives(op, text) {
  const p = parsePartial(text);
  const lo = filled(p);
  const hi = nextAfter(p);
  switch (op) {
    case '>=':
      return [['>=', lo]];
    case '>':
      return hi ? [['>=', hi]] : [['<', [0, 0, 0]]];
    case '<':
      return [['<', lo]];
    case '<=':
      return hi ? [['<', hi]] : [];
    case '^': {
      const [a, b, c] = lo;
      let upper;
      if (p[0] === null) return [];
      if (a > 0 || p[1] === null) upper = [a + 1, 0, 0];
      else if (b > 0 || p[2] === null) upper = [0, b + 1, 0];
      else upper = [0, 0, c + 1];
      return [['>=', lo], ['<', upper]];
    }
    case '~': {
      if (p[0] === null) return [];
      const upper = p[1] === null ? [lo[0] + 1, 0, 0] : [lo[0], lo[1] + 1, 0];
      return [['>=', lo], ['<', upper]];
    }
    case '=':
    case '':
      return hi ? [['>=', lo], ['<', hi]] : [];
    default:
      throw new Unreadable(op + text);
  }
}

// A range -> alternatives, each a list of primitive pairs that must all hold.
function parseRange(range) {
  const alternatives = range.split('||').map((alt) => {
    const text = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1');
    if (text === '') return [];
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    if (hyphen) return [...primitives('>=', hyphen[1]), ...primitives('<=', hyphen[2])];
    return text.split(/\s+/).flatMap((comparator) => {
      const m = /^(>=|<=|>|<|=|\^|~>?|)(.*)$/.exec(comparator);
      return primitives(m[1].replace('~>', '~'), m[2]);
    });
  });
  return alternatives;
}

const holds = (version, pairs) =>
  pairs.every(([op, v]) => (op === '>=' ? compare(version, v) >= 0 : compare(version, v) < 0));

// The lowest version an alternative lets in (its greatest lower bound).
const lowest = (pairs) =>
  pairs.filter(([op]) => op === '>=').reduce((max, [, v]) => (compare(v, max) > 0 ? v : max), [0, 0, 0]);

function main(argv) {
  const args = { lock: path.join(root, 'end2end', 'package-lock.json') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--quiet') args.quiet = true;
    else if (['--node', '--version', '--lock'].includes(flag) && i + 1 < argv.length) args[flag.slice(2)] = argv[++i];
    else {
      console.error(`check-node: unknown argument ${flag}`);
      return 2;
    }
  }
  const lockName = path.relative(root, path.resolve(args.lock)) || args.lock;

  let lock;
  try {
    lock = JSON.parse(fs.readFileSync(args.lock, 'utf8'));
  } catch (e) {
    console.error(`check-node: cannot read ${lockName}: ${e.message}`);
    return 2;
  }
  const wants = [];
  for (const [where, pkg] of Object.entries(lock.packages ?? {})) {
    const range = pkg && pkg.engines && typeof pkg.engines === 'object' ? pkg.engines.node : undefined;
    if (typeof range !== 'string') continue;
    const name = where.replace(/^.*node_modules\//, '') || '(the project itself)';
    try {
      wants.push({ name, range, alternatives: parseRange(range) });
    } catch (e) {
      if (!(e instanceof Unreadable)) throw e;
      console.error(`check-node: cannot read the engines.node range "${range}" of ${name} in ${lockName}`);
      return 2;
    }
  }
  // The lowest version that meets every field (exact when, as today, they are all lower bounds).
  const needs = wants
    .map((w) => w.alternatives.map(lowest).reduce((min, v) => (compare(v, min) < 0 ? v : min)))
    .reduce((max, v) => (compare(v, max) > 0 ? v : max), [0, 0, 0])
    .join('.');

  let found = args.version;
  if (found === undefined && args.node !== undefined) {
    try {
      found = execFileSync(args.node, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      console.error(`Node.js not found at ${args.node}, ${lockName} needs >= ${needs}: run scripts/setup.sh`);
      return 1;
    }
  }
  found = found ?? process.version;
  let version;
  try {
    version = filled(parsePartial(found.trim()));
  } catch {
    console.error(`check-node: "${found}" is not a Node.js version`);
    return 2;
  }
  const shown = `v${version.join('.')}`;
  const unmet = wants.filter((w) => !w.alternatives.some((pairs) => holds(version, pairs)));
  if (unmet.length > 0) {
    const which = unmet.map((w) => `${w.name}: ${w.range}`).join('; ');
    console.error(`Node.js ${shown} found, ${lockName} needs >= ${needs} (${which}): run scripts/setup.sh`);
    return 1;
  }
  if (!args.quiet) console.log(`Node.js ${shown} meets every engines.node of ${lockName} (>= ${needs})`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
