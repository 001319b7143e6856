// A real SMTP server on loopback for the tests: every message it accepts is written to
// <dir>/<time>-<n>.eml (atomically: written as .tmp, then renamed).
// Usage: node smtp-sink.mjs <port> <dir> [delay-ms]
// With a delay, each message is written at once and accepted (250) only after the delay: a
// slow mail server, and a window in which its sender can die after the message arrived.
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

const port = Number(process.argv[2] ?? 2525);
const dir = process.argv[3] ?? 'mail';
const delayMs = Number(process.argv[4] ?? 0);
fs.mkdirSync(dir, { recursive: true });
let n = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const file = path.join(dir, `${Date.now()}-${n++}.eml`);
      fs.writeFileSync(`${file}.tmp`, Buffer.concat(chunks));
      fs.renameSync(`${file}.tmp`, file);
      if (delayMs > 0) setTimeout(callback, delayMs);
      else callback();
    });
  },
});
server.on('error', (e) => console.error('smtp sink:', e.message));
server.listen(port, '127.0.0.1', () => console.log(`smtp sink listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
