// A key pair for a client that signs in with private_key_jwt, for the tests:
//   node end2end/oidc/client-key.mjs DIR KID
// writes DIR/client-key.pem (the app's RSA private key, PKCS#1 PEM: OIDC_PRIVATE_KEY_FILE) and
// DIR/client-jwks.json (its public half as a JWK Set: the provider's --client-jwks).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [dir, kid = 'techbiz-client-key'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node client-key.mjs DIR [KID]');
  process.exit(2);
}
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
fs.writeFileSync(path.join(dir, 'client-key.pem'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
fs.writeFileSync(path.join(dir, 'client-jwks.json'), JSON.stringify({ keys: [jwk] }));
