// openid-client (npm, by the author of node-oidc-provider) against Tessera, as a web app
// would use it: private_key_jwt client authentication, PAR, PKCE and DPoP-bound tokens.
//
//   node openid_client.mjs keygen KEY.json      # prints the public JWK Set to register
//   node openid_client.mjs run BASE CLIENT_ID KEY.json REDIRECT_URI
//
// `run` pushes the authorization request (with a DPoP proof) and prints the URL to send the
// browser to, reads the URL the browser came back to from stdin, redeems the code, calls
// userinfo and refreshes, all with DPoP; then tries the bound access token as a plain Bearer
// token. It prints one JSON line of what it saw. Run by tests/it/client_libraries.rs.

import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as client from 'openid-client';

const { subtle } = globalThis.crypto;
const EC = { name: 'ECDSA', namedCurve: 'P-256' };

async function keygen(path) {
  const pair = await subtle.generateKey(EC, true, ['sign', 'verify']);
  const secret = await subtle.exportKey('jwk', pair.privateKey);
  writeFileSync(path, JSON.stringify(secret), { mode: 0o600 });
  const { kty, crv, x, y } = await subtle.exportKey('jwk', pair.publicKey);
  console.log(JSON.stringify({ keys: [{ kty, crv, x, y, kid: 'interop-1', use: 'sig', alg: 'ES256' }] }));
}

/** RFC 7638 thumbprint of a P-256 public key. */
async function thumbprint(publicKey) {
  const { crv, kty, x, y } = await subtle.exportKey('jwk', publicKey);
  const canonical = JSON.stringify({ crv, kty, x, y });
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return Buffer.from(digest).toString('base64url');
}

function firstLine() {
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve) => lines.once('line', (line) => { lines.close(); resolve(line.trim()); }));
}

async function run(base, clientId, keyPath, redirectUri) {
  const key = await subtle.importKey('jwk', JSON.parse(readFileSync(keyPath, 'utf8')), EC, false, ['sign']);
  const config = await client.discovery(
    new URL(base),
    clientId,
    { redirect_uris: [redirectUri], response_types: ['code'] },
    client.PrivateKeyJwt({ key, kid: 'interop-1' }),
    { execute: [client.allowInsecureRequests] },
  );
  const dpopKeys = await client.randomDPoPKeyPair('ES256');
  const DPoP = client.getDPoPHandle(config, dpopKeys);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  }, { DPoP });
  console.log(authorizationUrl.href);

  const callback = new URL(await firstLine());
  const tokens = await client.authorizationCodeGrant(
    config,
    callback,
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce },
    undefined,
    { DPoP },
  );
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP });
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  const boundTo = JSON.parse(Buffer.from(refreshed.access_token.split('.')[1], 'base64url')).cnf?.jkt;
  const asBearer = await fetch(config.serverMetadata().userinfo_endpoint, {
    headers: { authorization: `Bearer ${refreshed.access_token}` },
  });
  console.log(JSON.stringify({
    token_type: tokens.token_type,
    sub: claims.sub,
    userinfo_sub: userinfo.sub,
    userinfo_name: userinfo.preferred_username,
    refreshed_token_type: refreshed.token_type,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    bound_to: boundTo,
    dpop_key: await thumbprint(dpopKeys.publicKey),
    as_bearer_status: asBearer.status,
  }));
}

const [command, ...args] = process.argv.slice(2);
if (command === 'keygen') {
  await keygen(...args);
} else if (command === 'run') {
  await run(...args);
} else {
  console.error('usage: openid_client.mjs keygen KEY.json | run BASE CLIENT_ID KEY.json REDIRECT_URI');
  process.exit(2);
}
