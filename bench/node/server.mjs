// node-oidc-provider (OpenID Certified) as the benchmark's peer, configured like Tessera: the
// same clients, ES256 JWT access tokens for client_credentials, RS256 id_tokens, refresh token
// rotation, introspection and revocation, and a login + consent interaction. Its store is the
// built-in in-memory adapter (it keeps nothing on disk) and it hashes no passwords.
//   node server.mjs PORT
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 3100);
const issuer = `http://127.0.0.1:${port}`;
const secret = process.env.BENCH_SECRET ?? 'bench-secret-0123456789abcdef';
const redirect = process.env.BENCH_REDIRECT ?? 'http://127.0.0.1:9/cb';
const user = process.env.BENCH_USER ?? 'alice';

async function signingKey(alg, options = {}) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
  return { ...(await exportJWK(privateKey)), alg, use: 'sig', kid: `bench-${alg.toLowerCase()}` };
}

const app = (client_id, id_token_signed_response_alg) => ({
  client_id,
  client_secret: secret,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: [redirect],
  id_token_signed_response_alg,
  token_endpoint_auth_method: 'client_secret_basic',
});

const API = 'urn:tessera:bench';
// bench-cc-rs256 gets RS256 access tokens, through a resource of its own.
const API_RS256 = 'urn:tessera:bench-rs256';
const ccClient = (client_id) => ({
  client_id,
  client_secret: secret,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
});
const provider = new Provider(issuer, {
  clients: [
    ccClient('bench-cc'),
    ccClient('bench-cc-rs256'),
    app('bench-app', 'RS256'),
    app('bench-app-es256', 'ES256'),
  ],
  jwks: { keys: [await signingKey('RS256', { modulusLength: 2048 }), await signingKey('ES256')] },
  cookies: { keys: [secret] },
  scopes: ['openid', 'profile', 'offline_access', 'api:read'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
  ttl: { AccessToken: 300, ClientCredentials: 300, IdToken: 3600, RefreshToken: 14 * 86400 },
  pkce: { required: () => false },
  rotateRefreshToken: () => true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) =>
        oneOf ??
        { 'bench-cc': API, 'bench-cc-rs256': API_RS256 }[client?.clientId],
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'api:read',
        audience: resource,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: resource === API_RS256 ? 'RS256' : 'ES256' } },
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: 'Alice Liddell', preferred_username: sub }),
  }),
});

const page = (body) => `<!doctype html><html><body>${body}</body></html>`;

async function form(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

// The login and consent pages of an interaction (what devInteractions does, without its
// templating): the login accepts the benchmark user with any password.
async function interaction(req, res, uid, step) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    const body = details.prompt.name === 'login'
      ? `<form method="post" action="/interaction/${uid}/login"><input name="username"><input name="password" type="password"><button>Sign in</button></form>`
      : `<form method="post" action="/interaction/${uid}/confirm"><button name="decision" value="approve">Allow</button></form>`;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page(body));
    return;
  }
  const fields = await form(req);
  if (step === 'login') {
    const accountId = fields.get('username');
    if (accountId !== user) {
      res.statusCode = 401;
      res.end(page('unknown user'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
createServer((req, res) => {
  const match = req.url.match(/^\/interaction\/([^/?]+)(?:\/(login|confirm))?/);
  if (!match) return callback(req, res);
  interaction(req, res, match[1], match[2]).catch((err) => {
    res.statusCode = 500;
    res.end(String(err));
  });
}).listen(port, '127.0.0.1', () => console.log(`node-oidc-provider ${issuer}`));
