// A small static file server for the benchmarks, on loopback and a free port.
// `mounts` maps a URL prefix ('/pkg/') to a folder, or an exact path ('/') to a file.
// A missing folder serves nothing.
// Pages are served cross-origin isolated, so performance.now() has its finest resolution.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** Starts serving; resolves to `{ url, close }` once listening. */
export function serveStatic(mounts) {
  const resolve = (urlPath) => {
    for (const [prefix, target] of Object.entries(mounts)) {
      const folder = fs.existsSync(target) && fs.statSync(target).isDirectory();
      if (!folder && urlPath === prefix) return target;
      if (folder && urlPath.startsWith(prefix)) {
        const file = path.resolve(target, `.${urlPath.slice(prefix.length - 1)}`);
        // Never outside the mounted folder.
        return file.startsWith(path.resolve(target) + path.sep) ? file : null;
      }
    }
    return null;
  };

  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    const file = resolve(urlPath);
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${urlPath}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': fs.statSync(file).size,
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    fs.createReadStream(file).pipe(res);
  });

  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      ok({ url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}
