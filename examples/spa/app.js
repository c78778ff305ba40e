// A single-page app signing in with Tessera: authorization code flow with PKCE, as a public
// client (no secret can be kept in a browser). No library: the Web Crypto API makes the PKCE
// challenge, fetch() talks to the token and userinfo endpoints (Tessera answers CORS for the
// origins of registered redirect URIs). Tokens stay in memory; only the values of an ongoing
// sign-in are kept in sessionStorage, across the redirect.
const issuer = document.body.dataset.issuer;
const clientId = document.body.dataset.clientId;
const redirectUri = location.origin + location.pathname;

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
const claimsOf = (jwt) => JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));

let idToken = null;

async function signIn() {
  const verifier = random(), state = random(), nonce = random();
  sessionStorage.setItem('signin', JSON.stringify({ verifier, state, nonce }));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const url = new URL(issuer + '/authorize');
  url.search = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri,
    scope: 'openid profile email', state, nonce,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(url);
}

async function completeSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem('signin') || 'null');
  sessionStorage.removeItem('signin');
  history.replaceState(null, '', redirectUri); // the code is single-use: drop it from the URL
  if (!pending || params.get('state') !== pending.state) throw new Error('state mismatch');
  if (params.has('error')) throw new Error(params.get('error') + ': ' + params.get('error_description'));
  const response = await fetch(issuer + '/token', {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri,
      client_id: clientId, code_verifier: pending.verifier,
    }),
  });
  const tokens = await response.json();
  if (!response.ok) throw new Error(tokens.error + ': ' + tokens.error_description);
  // Received straight from the token endpoint over TLS, the id_token's signature may go
  // unchecked (OIDC Core 3.1.3.7); its issuer, audience, nonce and expiry must not.
  const claims = claimsOf(tokens.id_token);
  if (claims.iss !== issuer || ![claims.aud].flat().includes(clientId)
      || claims.nonce !== pending.nonce || claims.exp * 1000 < Date.now()) {
    throw new Error('the id_token is not for this sign-in');
  }
  const me = await fetch(issuer + '/userinfo', {
    headers: { Authorization: 'Bearer ' + tokens.access_token },
  });
  idToken = tokens.id_token;
  show(claims, await me.json());
}

function signOut() {
  const url = new URL(issuer + '/logout');
  url.search = new URLSearchParams({
    id_token_hint: idToken, client_id: clientId, post_logout_redirect_uri: redirectUri,
  });
  location.assign(url);
}

function show(claims, userinfo) {
  document.getElementById('status').textContent = 'Signed in as ' + (claims.name || claims.sub) + '.';
  document.getElementById('claims').textContent = JSON.stringify(claims, null, 2);
  document.getElementById('userinfo').textContent = JSON.stringify(userinfo, null, 2);
  document.getElementById('signed-in').hidden = false;
  document.getElementById('sign-in').hidden = true;
  document.getElementById('sign-out').hidden = false;
}

document.getElementById('sign-in').addEventListener('click', signIn);
document.getElementById('sign-out').addEventListener('click', signOut);
const params = new URLSearchParams(location.search);
if (params.has('code') || params.has('error')) {
  completeSignIn(params).catch((e) => {
    document.getElementById('status').textContent = 'Sign-in failed: ' + e.message;
  });
}
