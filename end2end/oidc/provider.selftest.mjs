// Tests of end2end/oidc/provider.mjs (`node --test end2end/oidc/provider.selftest.mjs`): the
// provider is started as the tests start it, and driven over HTTP the way a browser and the
// app would (cookies kept by hand, redirects followed one at a time).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify,
} from 'jose';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'provider.mjs');
const CLIENT_ID = 'techbiz';
const SECRET = 's3cret';

// A port nothing listens on now (the provider needs it up front: it is part of the issuer).
async function freePort() {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// Stands in for the app: records the back-channel logout POSTs.
async function startRelyingParty() {
  const logouts = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/auth/backchannel-logout') {
        logouts.push(new URLSearchParams(body).get('logout_token'));
      }
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, logouts, base: `http://127.0.0.1:${server.address().port}` };
}

async function startProvider(rpBase, extraArgs = []) {
  const port = await freePort();
  const child = spawn(process.execPath, [script, '--port', String(port), '--client-id', CLIENT_ID,
    '--redirect-uri', `${rpBase}/auth/callback`, '--redirect-uri', `${rpBase}/other/callback`,
    '--post-logout-redirect-uri', `${rpBase}/signed-out`,
    '--backchannel-logout-uri', `${rpBase}/auth/backchannel-logout`, ...extraArgs],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`provider exited with ${code}: ${stderr}`)));
  });
  const issuer = `http://127.0.0.1:${port}`;
  return {
    issuer,
    discovery: await (await fetch(`${issuer}/.well-known/openid-configuration`)).json(),
    child,
    stdout: () => stdout,
    stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }),
  };
}

// A browser's worth of cookies for one host (paths ignored: all cookies go everywhere).
function browser() {
  const jar = new Map();
  return async (url, options = {}) => {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(url, { ...options, redirect: 'manual', headers: { ...options.headers, cookie } });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      const expired = attributes.some((a) => /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name.trim()); else jar.set(name.trim(), value);
    }
    return res;
  };
}

const postForm = (get, url, fields) => get(url, {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

const formAction = (html) => html.match(/<form[^>]*action="([^"]+)"/)[1];
const hiddenFields = (html) => Object.fromEntries(
  [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]),
);

let rp;
let op;
let jwks;

before(async () => {
  rp = await startRelyingParty();
  op = await startProvider(rp.base, ['--client-secret', SECRET, '--test-hooks']);
});

after(async () => {
  await op?.stop();
  rp?.server.close();
});

async function refreshJwks() {
  const body = await (await fetch(op.discovery.jwks_uri)).json();
  jwks = createLocalJWKSet(body);
  return body;
}

// Starts an authorization request and follows redirects until the app's callback, filling in
// the login form, answering the consent page and submitting self-posting forms (as a browser
// would) on the way. Returns the callback's query and the pages met.
async function authorize(get, { login, password = 'password', decision = 'allow', extra = {}, provider = op } = {}) {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const request = {
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: `${rp.base}/auth/callback`,
    scope: 'openid email profile groups agency',
    state: crypto.randomUUID(),
    nonce: crypto.randomUUID(),
    code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  };
  const pages = [];
  let res = await get(`${provider.discovery.authorization_endpoint}?${new URLSearchParams(request)}`);
  for (let hops = 0; hops < 10; hops++) {
    if (res.status === 303 || res.status === 302) {
      const location = new URL(res.headers.get('location'), provider.issuer);
      if (location.href.startsWith(request.redirect_uri)) {
        return { query: location.searchParams, request, verifier, pages };
      }
      res = await get(location.href);
    } else if (res.status === 200) {
      const html = await res.text();
      const action = new URL(formAction(html), provider.issuer).href;
      if (html.includes('<title>Sign in</title>')) {
        pages.push({ name: 'login', html });
        res = await postForm(get, action, { login, password });
        if (res.status === 200) return { loginError: await res.text(), pages };
      } else if (html.includes('<title>Allow access?</title>')) {
        pages.push({ name: 'consent', html });
        res = await postForm(get, action, { decision });
      } else {
        pages.push({ name: 'self-posting form', html });
        res = await postForm(get, action, hiddenFields(html));
      }
    } else {
      throw new Error(`unexpected ${res.status}: ${await res.text()}`);
    }
  }
  throw new Error('too many redirects');
}

// Exchanges the code, authenticating with client_secret_basic (or the given form fields).
async function redeem({ query, request, verifier }, { provider = op, auth } = {}) {
  const res = await fetch(provider.discovery.token_endpoint, {
    method: 'POST',
    headers: {
      ...(auth ? {} : { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}` }),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: query.get('code'),
      redirect_uri: request.redirect_uri,
      code_verifier: verifier,
      ...auth,
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

async function verifyIdToken(idToken, nonce) {
  const { payload, protectedHeader } = await jwtVerify(idToken, jwks, { issuer: op.issuer, audience: CLIENT_ID });
  assert.equal(payload.nonce, nonce);
  return { payload, protectedHeader };
}

// One signed-in browser shared by the tests below, in order.
const admin = browser();
let adminIdToken;

test('discovery advertises the flows, scopes and claims the app uses', async () => {
  const { discovery } = op;
  assert.equal(discovery.issuer, op.issuer);
  for (const scope of ['openid', 'email', 'profile', 'groups', 'agency']) assert.ok(discovery.scopes_supported.includes(scope), scope);
  for (const claim of ['sub', 'email', 'email_verified', 'name', 'groups', 'agency', 'sid']) assert.ok(discovery.claims_supported.includes(claim), claim);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  assert.ok(discovery.id_token_signing_alg_values_supported.includes('RS256'));
  assert.ok(discovery.end_session_endpoint);
  assert.equal(discovery.backchannel_logout_supported, true);
  assert.equal(discovery.backchannel_logout_session_supported, true);
});

test('a wrong password or an unknown account shows the form again with an error', async () => {
  for (const [login, password] of [['vendor@vendor.example.com', 'nope'], ['nobody@example.com', 'password']]) {
    const { loginError } = await authorize(browser(), { login, password });
    assert.match(loginError, /Wrong email or password/);
    assert.match(loginError, /<label for=login>Email<\/label><input id=login name=login/);
    assert.match(loginError, /<label for=password>Password<\/label><input id=password name=password type=password/);
    assert.match(loginError, /<button type=submit>Sign in<\/button>/);
  }
});

test('a request without PKCE is refused', async () => {
  const { query } = await authorize(browser(), { extra: { code_challenge: '', code_challenge_method: '' } });
  assert.equal(query.get('error'), 'invalid_request');
  assert.match(query.get('error_description'), /PKCE/);
});

test('code flow with PKCE: login, consent, token, userinfo', async () => {
  await refreshJwks();
  const flow = await authorize(admin, { login: 'admin@partner.example.com' });
  assert.deepEqual(flow.pages.map((p) => p.name), ['login', 'consent']);
  const consent = flow.pages[1].html;
  for (const scope of ['openid', 'email', 'profile', 'groups', 'agency']) assert.match(consent, new RegExp(`<li>${scope}</li>`));
  assert.match(consent, />Allow</);
  assert.match(consent, />Deny</);
  assert.equal(flow.query.get('state'), flow.request.state);
  assert.equal(flow.query.get('iss'), op.issuer);

  const tokens = await redeem(flow);
  const { payload } = await verifyIdToken(tokens.id_token, flow.request.nonce);
  assert.equal(payload.sub, 'd90b3c48-partner-admin');
  assert.equal(payload.email, 'admin@partner.example.com');
  assert.equal(payload.email_verified, true);
  assert.deepEqual(payload.groups, ['techbiz-subscription-admin']);
  assert.equal(payload.agency, 'tech.gov.sg');
  assert.ok(payload.sid, 'ID token carries sid');
  adminIdToken = tokens.id_token;

  const userinfo = await (await fetch(op.discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  assert.equal(userinfo.sub, payload.sub);
  assert.deepEqual(userinfo.groups, ['techbiz-subscription-admin']);
});

test('consent is remembered for the session: the next request goes straight back', async () => {
  const flow = await authorize(admin);
  assert.deepEqual(flow.pages, []);
  assert.ok(flow.query.get('code'));
});

test('another account signing in on the same browser is asked for consent itself', async () => {
  const get = browser();
  await authorize(get, { login: 'vendor@vendor.example.com' });
  const flow = await authorize(get, { login: 'officer.two@hdb.gov.sg', extra: { prompt: 'login' } });
  // oidc-provider ends the first account's session (a self-posting logout form) first.
  assert.deepEqual(flow.pages.map((p) => p.name), ['login', 'self-posting form', 'consent']);
  assert.equal(decodeJwt((await redeem(flow)).id_token).sub, 'b7d40a61-officer-two');
});

test('Deny sends access_denied with the state back to the app', async () => {
  const flow = await authorize(browser(), { login: 'officer.one@tech.gov.sg', decision: 'deny' });
  assert.equal(flow.query.get('error'), 'access_denied');
  assert.equal(flow.query.get('state'), flow.request.state);
  assert.equal(flow.query.get('code'), null);
});

test('each tamper mode forges the next ID token once', async () => {
  const publicPem = crypto.createPublicKey(
    { key: (await refreshJwks()).keys[0], format: 'jwk' },
  ).export({ type: 'spki', format: 'pem' });
  const tamper = (mode) => fetch(`${op.issuer}/__test/tamper`, { method: 'POST', body: JSON.stringify({ mode }) });
  const now = Math.floor(Date.now() / 1000);
  const checks = {
    nonce: async (token, flow) => {
      const { payload } = await jwtVerify(token, jwks, { issuer: op.issuer, audience: CLIENT_ID });
      assert.notEqual(payload.nonce, flow.request.nonce);
    },
    expired: async (token) => {
      await assert.rejects(jwtVerify(token, jwks), { code: 'ERR_JWT_EXPIRED' });
      assert.ok(decodeJwt(token).iat < now - 3590);
    },
    audience: (token) => assert.rejects(jwtVerify(token, jwks, { audience: CLIENT_ID }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' }),
    issuer: async (token) => {
      await assert.rejects(jwtVerify(token, jwks, { issuer: op.issuer }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
      await jwtVerify(token, jwks, { issuer: 'http://evil.example' });
    },
    'alg-none': (token) => {
      assert.equal(decodeProtectedHeader(token).alg, 'none');
      assert.ok(token.endsWith('.'));
    },
    'hmac-public-key': async (token) => {
      assert.equal(decodeProtectedHeader(token).alg, 'HS256');
      await jwtVerify(token, new TextEncoder().encode(publicPem));
    },
    'future-iat': async (token) => {
      assert.ok(decodeJwt(token).iat >= now + 590);
      await assert.rejects(jwtVerify(token, jwks), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    },
    'unsigned-kid': async (token) => {
      await assert.rejects(jwtVerify(token, jwks), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
      assert.equal(decodeProtectedHeader(token).alg, 'RS256');
    },
  };
  for (const [mode, check] of Object.entries(checks)) {
    const flow = await authorize(admin);
    assert.deepEqual(await (await tamper(mode)).json(), { ok: true });
    const forged = (await redeem(flow)).id_token;
    await check(forged, flow);
    assert.equal(decodeJwt(forged).sub, 'd90b3c48-partner-admin', mode);

    // Only once: the next ID token is the real one again.
    const next = await authorize(admin);
    await verifyIdToken((await redeem(next)).id_token, next.request.nonce);
  }
  assert.equal((await tamper('bogus')).status, 400);
  assert.equal((await fetch(`${op.issuer}/__test/tamper`, { method: 'POST', body: 'not json' })).status, 400);
});

test('rotate: the JWKS serves only the new key, which signs from then on; sessions and codes survive', async () => {
  const oldKid = (await refreshJwks()).keys[0].kid;
  const pending = await authorize(admin);
  const { kid } = await (await fetch(`${op.issuer}/__test/rotate`, { method: 'POST' })).json();
  assert.notEqual(kid, oldKid);
  const served = await refreshJwks();
  assert.deepEqual(served.keys.map((key) => key.kid), [kid]);
  assert.equal(served.keys[0].d, undefined, 'no private parts');

  // A code issued before the rotation, redeemed after it.
  const { protectedHeader } = await verifyIdToken((await redeem(pending)).id_token, pending.request.nonce);
  assert.equal(protectedHeader.kid, kid);
  // The session survived: no login page.
  const flow = await authorize(admin);
  assert.deepEqual(flow.pages, []);
  const { protectedHeader: header } = await verifyIdToken((await redeem(flow)).id_token, flow.request.nonce);
  assert.equal(header.kid, kid);
});

test('logout with id_token_hint returns to the app with its state and posts a back-channel logout token', async () => {
  // adminIdToken was signed before the rotation: still accepted as a hint.
  const state = crypto.randomUUID();
  const res = await admin(`${op.discovery.end_session_endpoint}?${new URLSearchParams({
    id_token_hint: adminIdToken,
    post_logout_redirect_uri: `${rp.base}/signed-out`,
    state,
  })}`);
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.match(html, /<script>[^<]*button\[name=logout\][^<]*\.click\(\)/, 'confirms itself');
  const logoutsBefore = rp.logouts.length;
  const done = await postForm(admin, formAction(html), { ...hiddenFields(html), logout: 'yes' });
  assert.equal(done.status, 303);
  assert.equal(done.headers.get('location'), `${rp.base}/signed-out?state=${state}`);

  assert.equal(rp.logouts.length, logoutsBefore + 1);
  const { payload } = await jwtVerify(rp.logouts.at(-1), jwks, { issuer: op.issuer, audience: CLIENT_ID });
  assert.equal(payload.sid, decodeJwt(adminIdToken).sid);
  assert.equal(payload.sub, 'd90b3c48-partner-admin');
  assert.ok(payload.events['http://schemas.openid.net/event/backchannel-logout']);

  // Signed out: the next request asks for a login again.
  const again = await authorize(admin, { login: 'admin@partner.example.com' });
  assert.equal(again.pages[0].name, 'login');
});

test('after all of the above, stdout holds only the ready line', () => {
  assert.equal(op.stdout(), `oidc-provider listening on ${op.issuer}\n`);
});

test('without --test-hooks there are no test endpoints; private_key_jwt and --accounts work', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-selftest-'));
  const jwksFile = path.join(dir, 'client-jwks.json');
  fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'client-1' }] }));
  const accountsFile = path.join(dir, 'accounts.json');
  fs.writeFileSync(accountsFile, JSON.stringify([
    { sub: 'x-1', email: 'someone@agency.gov.sg', email_verified: false, name: 'Some One', password: 'pw-1' },
  ]));
  const other = await startProvider(rp.base,
    ['--client-auth', 'private_key_jwt', '--client-jwks', jwksFile, '--accounts', accountsFile]);
  try {
    assert.equal((await fetch(`${other.issuer}/__test/health`)).status, 404);
    assert.equal((await fetch(`${other.issuer}/__test/rotate`, { method: 'POST' })).status, 404);

    const gone = await authorize(browser(), { login: 'officer.two@hdb.gov.sg', provider: other });
    assert.match(gone.loginError, /Wrong email or password/, 'the file replaces the default accounts');
    const flow = await authorize(browser(), { login: 'someone@agency.gov.sg', password: 'pw-1', provider: other });
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'client-1' })
      .setIssuer(CLIENT_ID).setSubject(CLIENT_ID).setAudience(other.issuer)
      .setJti(crypto.randomUUID()).setIssuedAt().setExpirationTime('1m')
      .sign(privateKey);
    const tokens = await redeem(flow, {
      provider: other,
      auth: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion },
    });
    const claims = decodeJwt(tokens.id_token);
    assert.equal(claims.sub, 'x-1');
    assert.equal(claims.name, 'Some One');
    assert.equal(claims.email_verified, false);
  } finally {
    await other.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('client_secret_post client auth works; SIGTERM stops the provider cleanly', async () => {
  const other = await startProvider(rp.base, ['--client-secret', SECRET, '--client-auth', 'client_secret_post']);
  const flow = await authorize(browser(), { login: 'vendor@vendor.example.com', provider: other });
  const tokens = await redeem(flow, { provider: other, auth: { client_id: CLIENT_ID, client_secret: SECRET } });
  assert.equal(decodeJwt(tokens.id_token).email, 'vendor@vendor.example.com');
  assert.equal(await other.stop(), 0);
});
