// A real OpenID Connect provider (oidc-provider) on loopback for the tests, with its own
// login and consent pages and one registered client.
//
//   node end2end/oidc/provider.mjs --port 4400 --client-id techbiz --client-secret s3cret \
//     --redirect-uri http://127.0.0.1:3100/auth/callback \
//     --post-logout-redirect-uri http://127.0.0.1:3100/signed-out \
//     --backchannel-logout-uri http://127.0.0.1:3100/auth/backchannel-logout \
//     [--client-auth client_secret_basic|client_secret_post|private_key_jwt --client-jwks FILE] \
//     [--accounts FILE] [--userinfo-claims] [--test-hooks]
//
// --redirect-uri and --post-logout-redirect-uri may repeat. --accounts is a JSON array of
// {sub, email, email_verified, name, groups, agency, password} that replaces the default
// accounts. --userinfo-claims keeps the scopes' claims (email, groups…) out of the ID token:
// the app must fetch them from the userinfo endpoint, as with oidc-provider's defaults.
// --test-hooks adds /__test/tamper, /__test/rotate and /__test/health (see below).
// Prints one line, "oidc-provider listening on <issuer>", to stdout once it accepts requests.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { SignJWT, UnsecuredJWT, calculateJwkThumbprint, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';
// oidc-provider's own in-memory adapter, given one store that every Provider built here shares.
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '4400' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true, default: [] },
    'backchannel-logout-uri': { type: 'string' },
    'client-auth': { type: 'string', default: 'client_secret_basic' },
    'client-jwks': { type: 'string' },
    accounts: { type: 'string' },
    'userinfo-claims': { type: 'boolean', default: false },
    'test-hooks': { type: 'boolean', default: false },
  },
});

function fail(message) {
  console.error(`oidc provider: ${message}`);
  process.exit(2);
}

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
if (!args['client-id'] || !args['redirect-uri']) fail('--client-id and --redirect-uri are required');
if (!AUTH_METHODS.includes(args['client-auth'])) fail(`--client-auth must be one of ${AUTH_METHODS.join(', ')}`);
if (args['client-auth'] === 'private_key_jwt' && !args['client-jwks']) fail('private_key_jwt needs --client-jwks');
if (args['client-auth'] !== 'private_key_jwt' && !args['client-secret']) fail('--client-secret is required');

const port = Number(args.port);
const CLOCK_TOLERANCE = 15; // seconds, oidc-provider's default
const issuer = `http://127.0.0.1:${port}`;

// Every default account's password is "password"; `sub` is opaque so that the app cannot
// mistake the email for the identifier.
const DEFAULT_ACCOUNTS = [
  { sub: 'a3f1c9e2-officer-one', email: 'officer.one@tech.gov.sg', email_verified: true, name: 'Officer One' },
  { sub: 'b7d40a61-officer-two', email: 'officer.two@hdb.gov.sg', email_verified: true, name: 'Officer Two' },
  { sub: 'c52e8f17-vendor', email: 'vendor@vendor.example.com', email_verified: true },
  {
    sub: 'd90b3c48-partner-admin',
    email: 'admin@partner.example.com',
    email_verified: true,
    groups: ['techbiz-subscription-admin'],
    agency: 'tech.gov.sg',
  },
  { sub: 'e1a67d05-unverified', email: 'unverified@tech.gov.sg', email_verified: false },
];
const accounts = (args.accounts ? JSON.parse(fs.readFileSync(args.accounts, 'utf8')) : DEFAULT_ACCOUNTS)
  .map((account) => ({ password: 'password', ...account }));

// --- Signing keys -------------------------------------------------------------------------
// The provider's key set is fixed when a Provider is built, so /__test/rotate builds a new
// one (see build()). Retired keys stay in the new provider's key set only to verify, never
// to sign, so an id_token_hint issued before a rotation still works at logout; /jwks
// publishes only the current key.

async function newSigningKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }));
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

let signingKey = await newSigningKey();
const retiredKeys = [];

// --- Provider -----------------------------------------------------------------------------

function findAccountByEmail(email) {
  return accounts.find((account) => account.email.toLowerCase() === String(email).trim().toLowerCase());
}

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

function clientMetadata() {
  const client = {
    client_id: args['client-id'],
    redirect_uris: args['redirect-uri'],
    post_logout_redirect_uris: args['post-logout-redirect-uri'],
    token_endpoint_auth_method: args['client-auth'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  };
  if (args['client-auth'] === 'private_key_jwt') {
    client.jwks = JSON.parse(fs.readFileSync(args['client-jwks'], 'utf8'));
  } else {
    client.client_secret = args['client-secret'];
  }
  if (args['backchannel-logout-uri']) {
    // Session required: logout tokens, and so ID tokens, carry `sid`.
    client.backchannel_logout_uri = args['backchannel-logout-uri'];
    client.backchannel_logout_session_required = true;
  }
  return client;
}

// State that must outlive a rebuild of the Provider (see build()): sessions, grants,
// interactions and codes live in one store, and cookies stay signed with the same keys.
// The store is larger than oidc-provider's default (1,000 entries, some ten per sign-in),
// which a long test run would outgrow and start dropping sessions.
const store = new LRU({ maxSize: 100_000 });
const adapter = (model) => new MemoryAdapter(model, store, CLOCK_TOLERANCE);
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

function configuration() {
  return {
    clients: [clientMetadata()],
    jwks: { keys: [signingKey.jwk, ...retiredKeys.map((key) => ({ ...key.jwk, key_ops: ['verify'] }))] },
    adapter,
    cookies: { keys: cookieKeys },
    clockTolerance: CLOCK_TOLERANCE,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
      agency: ['agency'],
    },
    // The ID token carries the scopes' claims too (not only /me), as most real providers do,
    // unless --userinfo-claims asks for oidc-provider's default (them at /me only).
    conformIdTokenClaims: args['userinfo-claims'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    // The relying party lives on loopback, which oidc-provider's guard against server-side
    // request forgery refuses: drop its dispatcher for the back-channel logout POST.
    fetch: (url, { dispatcher, ...options }) => fetch(url, options),
    async findAccount(_ctx, sub) {
      const account = accounts.find((candidate) => candidate.sub === sub);
      if (!account) return undefined;
      const { password, ...claims } = account;
      return { accountId: sub, claims: async () => claims };
    },
    // Set explicitly: oidc-provider's defaults print a notice on stdout when first used.
    ttl: {
      AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Session: 86400, Grant: 86400,
    },
    clientBasedCORS: () => true,
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', Object.entries(out)
        .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`).join(''));
    },
  };
}

// RP-initiated logout: with an id_token_hint the RP is known, so the page confirms at once
// (it presses Sign out itself); without one, it asks. `form` is oidc-provider's form
// "op.logoutForm" holding the xsrf token; the buttons submit it.
function logoutSource(ctx, form) {
  const signOut = '<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>';
  const stay = '<button type="submit" form="op.logoutForm">Stay signed in</button>';
  const confirmNow = '<script>document.querySelector("button[name=logout]").click()</script>';
  const hinted = Boolean(ctx.oidc.params.id_token_hint);
  ctx.body = page('Sign out', `${form}
<p>Do you want to sign out of ${escapeHtml(ctx.host)}?</p>
${signOut}${hinted ? confirmNow : stay}`);
}

function postLogoutSuccessSource(ctx) {
  ctx.body = page('Signed out', '<p>You have been signed out.</p>');
}

let pendingTamper;

function build() {
  const provider = new Provider(issuer, configuration());
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks' && ctx.status === 200) {
      ctx.body.keys = ctx.body.keys.filter((key) => key.kid === signingKey.kid);
    }
    if (pendingTamper && ctx.path === '/token' && ctx.body?.id_token) {
      ctx.body.id_token = await forgeIdToken(ctx.body.id_token, pendingTamper);
      pendingTamper = undefined;
    }
  });
  provider.on('backchannel.error', (_ctx, err, client) => {
    console.error(`oidc provider: back-channel logout to ${client.backchannelLogoutUri}: ${err.message}`);
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc provider:', err));
  return { provider, handle: provider.callback() };
}

let current = build();

// --- Login and consent pages --------------------------------------------------------------

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

function loginPage(uid, { login = '', error } = {}) {
  return page('Sign in', `${error ? `<p role="alert" class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<p><label for=login>Email</label><input id=login name=login value="${escapeHtml(login)}" autofocus></p>
<p><label for=password>Password</label><input id=password name=password type=password></p>
<button type=submit>Sign in</button>
</form>`);
}

function consentPage(uid, clientId, scopes) {
  return page('Allow access?', `<p>${escapeHtml(clientId)} asks for:</p>
<ul>${scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('')}</ul>
<form method="post" action="/interaction/${uid}/consent">
<button type=submit name=decision value=allow>Allow</button>
<button type=submit name=decision value=deny>Deny</button>
</form>`);
}

// Remember what the user allowed in a grant; the session keeps its id, so the same account
// is not asked again for this client.
async function grantConsent(provider, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function interaction(req, res, pathname) {
  const { provider } = current;
  const [, , uid, action] = pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return sendHtml(res, 400, page('Sign-in error', '<p>This sign-in has expired.</p>'));

  if (req.method === 'GET') {
    if (details.prompt.name === 'login') return sendHtml(res, 200, loginPage(uid));
    return sendHtml(res, 200, consentPage(uid, details.params.client_id, details.params.scope.split(' ')));
  }

  const form = new URLSearchParams(await readBody(req));
  if (action === 'login' && details.prompt.name === 'login') {
    const login = form.get('login') ?? '';
    const account = findAccountByEmail(login);
    if (!account || account.password !== form.get('password')) {
      return sendHtml(res, 200, loginPage(uid, { login, error: 'Wrong email or password.' }));
    }
    const result = { login: { accountId: account.sub } };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (action === 'consent' && details.prompt.name === 'consent') {
    if (form.get('decision') !== 'allow') {
      return provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'The user denied the request',
      }, { mergeWithLastSubmission: false });
    }
    const grantId = await grantConsent(provider, details);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return sendHtml(res, 400, page('Sign-in error', '<p>Unexpected step.</p>'));
}

// --- Test hooks (only with --test-hooks) --------------------------------------------------

// A forged ID token from the real one's claims, for the app's token-validation tests.
async function forgeIdToken(idToken, mode) {
  const claims = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  const resign = (payload, key = signingKey.privateKey, fields = {}) => new SignJWT(payload)
    .setProtectedHeader({ ...header, ...fields, alg: fields.alg ?? 'RS256', kid: fields.kid ?? signingKey.kid })
    .sign(key);

  switch (mode) {
    case 'nonce': return resign({ ...claims, nonce: `forged-${crypto.randomUUID()}` });
    case 'expired': return resign({ ...claims, iat: now - 3600, exp: now - 3600 });
    case 'audience': return resign({ ...claims, aud: 'someone-else' });
    case 'issuer': return resign({ ...claims, iss: 'http://evil.example' });
    case 'future-iat': return resign({ ...claims, iat: now + 600, nbf: now + 600, exp: now + 3600 });
    case 'alg-none': return new UnsecuredJWT(claims).encode();
    case 'hmac-public-key': {
      // Algorithm confusion: HS256 keyed with the RSA public key, as a naive verifier that
      // trusts the header's alg would check it.
      const pem = signingKey.publicKey.export({ type: 'spki', format: 'pem' });
      return resign(claims, new TextEncoder().encode(pem), { alg: 'HS256' });
    }
    case 'unsigned-kid': {
      const stranger = await newSigningKey();
      return resign(claims, stranger.privateKey, { kid: stranger.kid });
    }
    default: throw new Error(`unknown tamper mode ${mode}`);
  }
}
const TAMPER_MODES = [
  'nonce', 'expired', 'audience', 'issuer', 'alg-none', 'hmac-public-key', 'future-iat', 'unsigned-kid',
];

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function testHook(req, res, pathname) {
  if (req.method === 'GET' && pathname === '/__test/health') return sendJson(res, 200, { ok: true });
  if (req.method === 'POST' && pathname === '/__test/tamper') {
    const mode = await readBody(req).then(JSON.parse).then((body) => body?.mode, () => undefined);
    if (!TAMPER_MODES.includes(mode)) {
      return sendJson(res, 400, { error: `body must be {"mode": M}, M one of ${TAMPER_MODES.join(', ')}` });
    }
    pendingTamper = mode;
    return sendJson(res, 200, { ok: true });
  }
  if (req.method === 'POST' && pathname === '/__test/rotate') {
    const next = await newSigningKey();
    retiredKeys.unshift(signingKey);
    signingKey = next;
    current = build();
    return sendJson(res, 200, { kid: signingKey.kid });
  }
  return sendJson(res, 404, { error: 'no such test hook' });
}

// --- Server -------------------------------------------------------------------------------

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  try {
    if (args['test-hooks'] && pathname.startsWith('/__test/')) return await testHook(req, res, pathname);
    if (pathname.startsWith('/interaction/')) return await interaction(req, res, pathname);
    return current.handle(req, res);
  } catch (err) {
    // A missing or expired interaction cookie lands here too: answer rather than hang.
    console.error('oidc provider:', err);
    const message = err.error_description ?? err.message;
    if (!res.headersSent) sendHtml(res, err.statusCode ?? 500, page('Sign-in error', `<p>${escapeHtml(message)}</p>`));
  }
});

server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
