// Local OpenID Connect issuer for codex-auth black-box tests.
// Built on oidc-provider 8.x (OpenID-certified). Listens on 127.0.0.1 only.
// Configuration: environment variables, see README.md. Prints exactly one line
// `READY http://127.0.0.1:<port>` on stdout once it accepts connections.

import * as http from 'node:http';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as querystring from 'node:querystring';

// Generate the signing key in the thread pool while oidc-provider loads (startup speed).
const keyPromise = new Promise((resolve, reject) => {
  crypto.generateKeyPair('rsa', { modulusLength: 2048 }, (err, pub, priv) => (err ? reject(err) : resolve(priv)));
});
const { default: Provider, errors } = await import('oidc-provider');
const signingKey = await keyPromise;

// ---------------------------------------------------------------- settings

function intEnv(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`oidc peer: ${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

const PORT = intEnv('PORT', 0);
const CLIENT_ID = process.env.CLIENT_ID || 'codex-test-client';
// DEVICE_FLOW=0: an issuer without a device endpoint (clients must fall back).
const DEVICE_FLOW = (process.env.DEVICE_FLOW ?? '1') !== '0';
const ROTATE_REFRESH = (process.env.ROTATE_REFRESH ?? '1') !== '0';
const ACCESS_TTL = intEnv('ACCESS_TTL', 3600);
// Seconds added to the `iat` of JWT access tokens (negative: issued "earlier"), as an issuer
// whose clock is off would: with ACCESS_TTL=3 and -600, a token has 3 s left of a 603 s life.
const ACCESS_IAT_OFFSET = (() => {
  const raw = process.env.ACCESS_IAT_OFFSET;
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n)) {
    process.stderr.write(`oidc peer: ACCESS_IAT_OFFSET must be an integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
})();
const REFRESH_TTL = intEnv('REFRESH_TTL', 14 * 24 * 3600);
const DEVICE_TTL = intEnv('DEVICE_TTL', 600);
const DEVICE_INTERVAL = process.env.DEVICE_INTERVAL ? intEnv('DEVICE_INTERVAL', 5) : undefined;
let slowDownLeft = intEnv('SLOW_DOWN', 0);
const LOG_FILE = process.env.LOG_FILE || '';
const ACCESS_TOKEN_FORMAT = (process.env.ACCESS_TOKEN_FORMAT || 'jwt').toLowerCase();
const ROUTE_STYLE = (process.env.ROUTES || 'default').toLowerCase();
const PLAN_TYPE = process.env.PLAN_TYPE || 'plus';
const ACCOUNT_ID = process.env.ACCOUNT_ID || 'acct-test-123';
// MCP=1: also the authorization server of MCP servers (tests/peers/mcp): dynamic client
// registration at /reg, and any `http://127.0.0.1:<port>/mcp` resource gets JWT access tokens
// with that audience and the scope `mcp:tools`.
const MCP = process.env.MCP === '1';
const MCP_SCOPE = 'mcp:tools';
const MCP_RESOURCE_RE = /^http:\/\/127\.0\.0\.1:[0-9]{1,5}\/mcp$/;
// CLIENT_SCOPE (with MCP=1): the scopes a dynamically registered client that names none may ask
// for (`scope` client metadata); asking for another known scope is refused with invalid_scope.
const CLIENT_SCOPE = process.env.CLIENT_SCOPE || '';
// DEFAULT_SCOPE (with MCP=1): what an authorization or device authorization request for an MCP
// resource that names no scope is given (RFC 6749 section 3.3's pre-defined default value).
const DEFAULT_SCOPE = process.env.DEFAULT_SCOPE || '';
// A scope this server knows but that no MCP client is meant to get (for CLIENT_SCOPE tests).
const MCP_ADMIN_SCOPE = 'mcp:admin';
// MALFORMED=<answer>:<kind> (with MCP=1): one answer comes out malformed, as from a broken
// server or proxy. answer: metadata (RFC 8414 metadata at /.well-known/oauth-authorization-server)
// | registration | token (the authorization code exchange); kind: not-json | wrong-types |
// missing | oversized.
const [MALFORMED_ANSWER, MALFORMED_KIND] = (process.env.MALFORMED || ':').split(':');
// Workload identity: a confidential client whose client_credentials tokens (RS256 JWTs signed
// with this server's key, `aud` = the requested resource) play a CI job's OIDC token, handed
// out as GitHub Actions does at /_actions/idtoken.
const WORKLOAD_CLIENT_ID = process.env.WORKLOAD_CLIENT_ID || 'ci-workload';
const WORKLOAD_CLIENT_SECRET = crypto.randomBytes(24).toString('hex');
const WORKLOAD_TTL = intEnv('WORKLOAD_TTL', 300);
const ACTIONS_REQUEST_TOKEN = process.env.ACTIONS_REQUEST_TOKEN || 'actions-request-token';
const ACTIONS_DEFAULT_AUDIENCE = process.env.ACTIONS_DEFAULT_AUDIENCE || 'https://github.com/example-org';

if (!['jwt', 'opaque'].includes(ACCESS_TOKEN_FORMAT)) {
  process.stderr.write('oidc peer: ACCESS_TOKEN_FORMAT must be jwt or opaque\n');
  process.exit(2);
}
if (!['default', 'openai'].includes(ROUTE_STYLE)) {
  process.stderr.write('oidc peer: ROUTES must be default or openai\n');
  process.exit(2);
}
if (process.env.MALFORMED && (!['metadata', 'registration', 'token'].includes(MALFORMED_ANSWER)
  || !['not-json', 'wrong-types', 'missing', 'oversized'].includes(MALFORMED_KIND))) {
  process.stderr.write('oidc peer: MALFORMED must be metadata|registration|token:not-json|wrong-types|missing|oversized\n');
  process.exit(2);
}

const ROUTES = ROUTE_STYLE === 'openai'
  ? {
    authorization: '/oauth/authorize',
    token: '/oauth/token',
    revocation: '/oauth/revoke',
    device_authorization: '/oauth/device/code',
    code_verification: '/device',
    introspection: '/oauth/introspect',
    jwks: '/.well-known/jwks.json',
    userinfo: '/userinfo',
    end_session: '/oauth/logout',
  }
  : {
    authorization: '/auth',
    token: '/token',
    revocation: '/token/revocation',
    device_authorization: '/device/auth',
    code_verification: '/device',
    introspection: '/token/introspection',
    jwks: '/jwks',
    userinfo: '/me',
    end_session: '/session/end',
  };

// Endpoints whose requests are logged with their (form) body.
const LOGGED_BODY = new Map([
  [ROUTES.token, 'token'],
  [ROUTES.device_authorization, 'device_authorization'],
  [ROUTES.revocation, 'revocation'],
  [ROUTES.introspection, 'introspection'],
]);

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const AUTH_CLAIM = 'https://api.openai.com/auth';
const PROFILE_CLAIM = 'https://api.openai.com/profile';
const API_SCOPES = 'api.connectors.read api.connectors.invoke';

// ---------------------------------------------------------------- request log

function logLine(obj) {
  if (!LOG_FILE) return;
  try {
    fs.appendFileSync(LOG_FILE, `${JSON.stringify(obj)}\n`);
  } catch (err) {
    process.stderr.write(`oidc peer: cannot write LOG_FILE: ${err.message}\n`);
  }
}

// ---------------------------------------------------------------- accounts

const LOGIN_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function accountClaims(login) {
  return {
    sub: login,
    email: `${login}@example.com`,
    email_verified: true,
    name: login === 'alice' ? 'Alice Example' : login,
    [PROFILE_CLAIM]: { email: `${login}@example.com`, email_verified: true },
    [AUTH_CLAIM]: {
      chatgpt_plan_type: PLAN_TYPE,
      chatgpt_user_id: `user-${login}`,
      chatgpt_account_id: login === 'alice' ? ACCOUNT_ID : `acct-${login}`,
      user_id: `user-${login}`,
    },
  };
}

async function findAccount(ctx, sub) {
  if (!LOGIN_RE.test(sub)) return undefined;
  return {
    accountId: sub,
    async claims() {
      return accountClaims(sub);
    },
  };
}

// ---------------------------------------------------------------- html

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

function page(title, outcome, inner) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="outcome" content="${esc(outcome)}"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
${inner}
</body></html>
`;
}

// ---------------------------------------------------------------- provider

// The resource server a workload token is minted for: any absolute URI is an audience, as a CI
// platform lets the job choose one.
function workloadResource(indicator) {
  try {
    new URL(indicator); // eslint-disable-line no-new
  } catch {
    throw new errors.InvalidTarget('the audience must be an absolute URI');
  }
  return {
    scope: 'workload',
    audience: indicator,
    accessTokenTTL: WORKLOAD_TTL,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

function buildProvider(issuer) {
  const jwk = { ...signingKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test-rs256' };
  const RESOURCE = `${issuer}/api`;

  const resourceIndicators = ACCESS_TOKEN_FORMAT === 'jwt'
    ? {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => (oneOf ? oneOf[0] : RESOURCE),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator, client) => {
        if (client?.clientId === WORKLOAD_CLIENT_ID) return workloadResource(indicator);
        // JWT access tokens for the API resource, and with MCP=1 for any MCP server's URL.
        const jwtFor = (scope) => ({
          scope,
          audience: indicator,
          accessTokenTTL: ACCESS_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        });
        if (MCP && MCP_RESOURCE_RE.test(indicator)) return jwtFor(MCP_SCOPE);
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return jwtFor(API_SCOPES);
      },
    }
    : { enabled: false };

  const configuration = {
    formats: {
      customizers: {
        async jwt(ctx, token, jwt) {
          if (ACCESS_IAT_OFFSET) jwt.payload.iat += ACCESS_IAT_OFFSET;
        },
      },
    },
    clients: [{
      client_id: CLIENT_ID,
      client_name: 'Codex test client',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/auth/callback', 'http://localhost/auth/callback'],
      grant_types: ['authorization_code', 'refresh_token', ...(DEVICE_FLOW ? [DEVICE_GRANT] : [])],
      response_types: ['code'],
    }, {
      client_id: WORKLOAD_CLIENT_ID,
      client_secret: WORKLOAD_CLIENT_SECRET,
      client_name: 'CI workload',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    }],
    ...(MCP && CLIENT_SCOPE ? { clientDefaults: { scope: CLIENT_SCOPE } } : {}),
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    routes: ROUTES,
    responseTypes: ['code'],
    // MCP clients (the reference CLI) register with the resource's scope as client metadata.
    scopes: ['openid', 'profile', 'email', 'offline_access', ...(MCP ? [MCP_SCOPE, MCP_ADMIN_SCOPE] : [])],
    claims: {
      openid: ['sub', AUTH_CLAIM],
      email: ['email', 'email_verified', PROFILE_CLAIM],
      profile: ['name'],
    },
    conformIdTokenClaims: false,
    findAccount,
    pkce: { methods: ['S256'], required: () => true },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: ROTATE_REFRESH,
    allowOmittingSingleRegisteredRedirectUri: false,
    extraTokenClaims: async (ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      return { [AUTH_CLAIM]: accountClaims(token.accountId)[AUTH_CLAIM] };
    },
    ttl: {
      AccessToken: ACCESS_TTL,
      AuthorizationCode: 120,
      DeviceCode: DEVICE_TTL,
      RefreshToken: REFRESH_TTL,
      Grant: Math.max(REFRESH_TTL, 3600),
      Session: 24 * 3600,
      Interaction: 3600,
      IdToken: 3600,
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: ACCESS_TOKEN_FORMAT === 'jwt' },
      introspection: { enabled: true },
      // REGISTRATION=0: an MCP authorization server without dynamic registration.
      registration: { enabled: MCP && process.env.REGISTRATION !== '0' },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators,
      deviceFlow: {
        enabled: DEVICE_FLOW,
        charset: 'base-20',
        mask: '****-****',
        async userCodeInputSource(ctx, form, out, err) {
          let outcome = 'input';
          let msg = '<p>Enter the code displayed on your device</p>';
          if (err && err.name === 'AbortedError') {
            outcome = 'aborted';
            msg = '<p>The Sign-in request was interrupted (aborted)</p>';
          } else if (err && (err.userCode || err.name === 'NoCodeError')) {
            outcome = 'error:invalid_user_code';
            msg = `<p>The code you entered is incorrect, expired or already used (${esc(err.name)})</p>`;
          } else if (err) {
            outcome = `error:${out?.error || 'unknown'}`;
            msg = `<p>There was an error processing your request: ${esc(out?.error)} ${esc(out?.error_description)}</p>`;
          }
          ctx.type = 'html';
          ctx.body = page('Device sign-in', outcome, `${msg}\n${form}\n<button type="submit" form="op.deviceInputForm">Continue</button>`);
        },
        async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
          const action = ctx.oidc.urlFor('code_verification');
          const xsrf = ctx.oidc.session.state.secret;
          ctx.type = 'html';
          ctx.body = page('Confirm device', 'confirm', `<p>${esc(client.clientName || client.clientId)} shows code <code>${esc(userCode)}</code></p>
<form id="approve" method="post" action="${esc(action)}">
<input type="hidden" name="xsrf" value="${esc(xsrf)}"/>
<input type="hidden" name="user_code" value="${esc(userCode)}"/>
<input type="hidden" name="confirm" value="yes"/>
<button type="submit">Continue</button>
</form>
<form id="deny" method="post" action="${esc(action)}">
<input type="hidden" name="xsrf" value="${esc(xsrf)}"/>
<input type="hidden" name="user_code" value="${esc(userCode)}"/>
<input type="hidden" name="abort" value="yes"/>
<button type="submit">Abort</button>
</form>`);
        },
        async successSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Sign-in success', 'success', '<p>Your device is signed in; you can close this page.</p>');
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `error:${out.error}`, Object.entries(out)
        .map(([k, v]) => `<pre><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join('\n'));
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = false;

  // Koa middleware (runs around the provider's own routes).
  provider.use(async (ctx, next) => {
    await next();
    if (
      DEVICE_INTERVAL !== undefined
      && ctx.oidc?.route === 'device_authorization'
      && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object'
    ) {
      ctx.body.interval = DEVICE_INTERVAL;
    }
  });

  // MALFORMED: the provider answers, then its answer is broken in the way asked for. RFC 8414
  // metadata is the provider's discovery document served at its RFC 8414 path.
  provider.use(async (ctx, next) => {
    const rfc8414 = MALFORMED_ANSWER === 'metadata' && ctx.path === '/.well-known/oauth-authorization-server';
    if (rfc8414) ctx.path = '/.well-known/openid-configuration';
    await next();
    const route = ctx.oidc?.route;
    const hit = rfc8414
      || (MALFORMED_ANSWER === 'registration' && route === 'registration')
      || (MALFORMED_ANSWER === 'token' && route === 'token' && ctx.oidc?.params?.grant_type === 'authorization_code');
    if (!hit || ctx.status >= 300 || !ctx.body || typeof ctx.body !== 'object') return;
    const field = { metadata: 'token_endpoint', registration: 'client_id', token: 'access_token' }[MALFORMED_ANSWER];
    const body = { ...ctx.body };
    if (MALFORMED_KIND === 'not-json') {
      ctx.type = 'html';
      ctx.body = '<html><body><h1>502 Bad Gateway</h1></body></html>';
      return;
    }
    if (MALFORMED_KIND === 'wrong-types') body[field] = 12345;
    if (MALFORMED_KIND === 'missing') delete body[field];
    if (MALFORMED_KIND === 'oversized') body.padding = 'x'.repeat(1536 * 1024);
    ctx.body = body;
  });

  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`oidc peer: server_error on ${ctx.method} ${ctx.path}: ${err.stack}\n`);
  });

  return { provider, RESOURCE };
}

// ---------------------------------------------------------------- interactions

// Build (or extend) a Grant covering everything the authorization request asked for:
// the test user always consents to all of it.
async function grantEverything(provider, details, accountId, RESOURCE) {
  const { params } = details;
  let grant;
  if (details.grantId) grant = await provider.Grant.find(details.grantId);
  if (!grant) grant = new provider.Grant({ accountId, clientId: params.client_id });
  const requested = String(params.scope || '').split(' ').filter(Boolean);
  const oidcScopes = requested.filter((s) => ['openid', 'profile', 'email', 'offline_access'].includes(s));
  if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
  if (params.claims) {
    try {
      const c = JSON.parse(params.claims);
      const names = new Set([...Object.keys(c.id_token || {}), ...Object.keys(c.userinfo || {})]);
      if (names.size) grant.addOIDCClaims([...names]);
    } catch { /* malformed claims were rejected by the provider already */ }
  }
  const resources = [params.resource].flat().filter(Boolean);
  if (RESOURCE && ACCESS_TOKEN_FORMAT === 'jwt' && !resources.length) resources.push(RESOURCE);
  const apiScopes = requested.filter((s) => API_SCOPES.split(' ').includes(s) || (MCP && s === MCP_SCOPE));
  for (const r of resources) grant.addResourceScope(r, apiScopes.join(' '));
  // Anything a consent prompt still reports as missing.
  const missing = details.prompt?.details || {};
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [ind, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(ind, scopes.join(' '));
    }
  }
  return grant.save();
}

function readBody(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendHtml(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

async function handleInteraction(provider, RESOURCE, req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    sendHtml(res, 400, page('Error', 'error:interaction_not_found', `<p>${esc(err.message)}</p>`));
    return;
  }
  if (details.uid !== uid) {
    sendHtml(res, 400, page('Error', 'error:interaction_mismatch', '<p>interaction cookie does not match this URL</p>'));
    return;
  }
  const prompt = details.prompt.name;
  const base = `/interaction/${encodeURIComponent(uid)}`;

  if (req.method === 'GET' && !action) {
    if (prompt === 'login') {
      sendHtml(res, 200, page('Sign in', 'login', `<p>Client ${esc(details.params.client_id)} wants scopes: ${esc(details.params.scope)}</p>
<form id="approve" method="post" action="${base}/login">
<input type="text" name="login" value="alice"/>
<button type="submit">Sign in and allow</button>
</form>
<form id="deny" method="post" action="${base}/abort">
<button type="submit">Cancel</button>
</form>`));
    } else {
      sendHtml(res, 200, page('Allow access', 'consent', `<p>Allow ${esc(details.params.client_id)}: ${esc(details.params.scope)}</p>
<form id="approve" method="post" action="${base}/confirm">
<button type="submit">Allow</button>
</form>
<form id="deny" method="post" action="${base}/abort">
<button type="submit">Deny</button>
</form>`));
    }
    return;
  }

  if (req.method !== 'POST') {
    sendHtml(res, 405, page('Error', 'error:method', '<p>method not allowed</p>'));
    return;
  }

  const body = querystring.parse((await readBody(req)).toString('utf8'));

  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'login') {
    const login = String(body.login || 'alice').trim().toLowerCase();
    if (!LOGIN_RE.test(login)) {
      sendHtml(res, 400, page('Sign in', 'error:invalid_login', '<p>invalid login name</p>'));
      return;
    }
    // Log in AND consent in one step, so no separate consent page is needed.
    const grantId = await grantEverything(provider, details, login, RESOURCE);
    await provider.interactionFinished(req, res, {
      login: { accountId: login },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === 'confirm') {
    const grantId = await grantEverything(provider, details, details.session?.accountId, RESOURCE);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  sendHtml(res, 404, page('Error', 'error:not_found', '<p>unknown interaction action</p>'));
}

// ---------------------------------------------------------------- http server

let provider;
let RESOURCE;
let providerCallback;

function contentTypeOf(req) {
  return (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase() || null;
}

function parseLoggedBody(buf, ctype) {
  const text = buf.toString('utf8');
  if (!text) return {};
  if (ctype === 'application/x-www-form-urlencoded') {
    return { ...querystring.parse(text) };
  }
  if (ctype === 'application/json') {
    try { return JSON.parse(text); } catch { return text; }
  }
  return text;
}

// A workload token from this server's own token endpoint (client_credentials, one resource):
// minted exactly as any client would get one.
function mintWorkloadToken(audience) {
  const body = querystring.stringify({ grant_type: 'client_credentials', resource: audience, scope: 'workload' });
  const basic = Buffer.from(`${encodeURIComponent(WORKLOAD_CLIENT_ID)}:${encodeURIComponent(WORKLOAD_CLIENT_SECRET)}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: server.address().port,
      path: ROUTES.token,
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Content-Length': Buffer.byteLength(body),
        Authorization: `Basic ${basic}`,
      },
      timeout: 10000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let json;
        try { json = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { json = {}; }
        resolve({ status: res.statusCode, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('token endpoint timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

function sendJson(res, status, obj) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(obj));
}

// GitHub Actions' ID token request (ACTIONS_ID_TOKEN_REQUEST_URL): the runner's URL already has
// `?api-version=2.0`, the job appends `&audience=...` and sends the request token as Bearer.
async function handleActionsIdToken(req, res, url) {
  if (req.method !== 'GET') {
    sendJson(res, 405, { message: 'method not allowed' });
    return;
  }
  if (req.headers.authorization !== `Bearer ${ACTIONS_REQUEST_TOKEN}`) {
    sendJson(res, 401, { message: 'Unauthorized: bad or missing request token' });
    return;
  }
  if (url.searchParams.get('api-version') !== '2.0') {
    sendJson(res, 400, { message: 'api-version=2.0 is required (was the query string replaced instead of extended?)' });
    return;
  }
  const audience = url.searchParams.get('audience') || ACTIONS_DEFAULT_AUDIENCE;
  const minted = await mintWorkloadToken(audience);
  if (minted.status !== 200 || !minted.json.access_token) {
    sendJson(res, 400, { message: `cannot mint a token: ${minted.json.error_description || minted.json.error || minted.status}` });
    return;
  }
  sendJson(res, 200, { count: 1, value: minted.json.access_token });
}

// A request for an MCP resource without a scope, when DEFAULT_SCOPE is set.
function defaultScopeWanted(params) {
  return Boolean(MCP && DEFAULT_SCOPE && params && typeof params === 'object' && !params.scope
    && MCP_RESOURCE_RE.test(String(params.resource || '')));
}

async function handle(req, res) {
  const t = Date.now();
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname;
  const entry = { t, method: req.method, path };
  if (url.search) entry.query = url.search.slice(1);

  // Write the log line synchronously just before the response is sent, so a test that
  // has received the response always finds its line in the file.
  const origEnd = res.end.bind(res);
  let logged = false;
  res.end = (...args) => {
    if (!logged) {
      logged = true;
      entry.status = res.statusCode;
      logLine(entry);
    }
    return origEnd(...args);
  };

  try {
    const endpoint = LOGGED_BODY.get(path);
    if (endpoint && req.method === 'POST') {
      const ctype = contentTypeOf(req);
      const buf = await readBody(req);
      const body = parseLoggedBody(buf, ctype);
      entry.endpoint = endpoint;
      entry.content_type = ctype;
      entry.grant_type = (body && typeof body === 'object' && !Array.isArray(body)) ? (body.grant_type ?? null) : null;
      entry.body = body;
      // oidc-provider reads an already consumed body from req.body.
      req.body = buf;
      if (endpoint === 'device_authorization' && ctype === 'application/x-www-form-urlencoded'
        && defaultScopeWanted(body)) {
        req.body = Buffer.from(querystring.stringify({ ...body, scope: DEFAULT_SCOPE }));
      }

      if (endpoint === 'token' && entry.grant_type === DEVICE_GRANT && slowDownLeft > 0) {
        slowDownLeft -= 1;
        entry.wrapper = 'slow_down';
        res.statusCode = 400;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.end(JSON.stringify({ error: 'slow_down', error_description: 'polling too fast (test wrapper)' }));
        return;
      }
    }

    if (path === '/_actions/idtoken') {
      entry.audience = url.searchParams.get('audience');
      await handleActionsIdToken(req, res, url);
      return;
    }

    if (path === ROUTES.authorization && req.method === 'GET'
      && defaultScopeWanted(Object.fromEntries(url.searchParams))) {
      url.searchParams.set('scope', DEFAULT_SCOPE);
      req.url = `${path}?${url.searchParams}`;
    }

    const m = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?\/?$/.exec(path);
    if (m) {
      await handleInteraction(provider, RESOURCE, req, res, decodeURIComponent(m[1]), m[2]);
      return;
    }

    providerCallback(req, res);
  } catch (err) {
    process.stderr.write(`oidc peer: ${req.method} ${path}: ${err.stack}\n`);
    if (!res.headersSent) {
      sendHtml(res, 500, page('Error', 'error:server_error', `<pre>${esc(err.message)}</pre>`));
    } else {
      res.end();
    }
  }
}

const server = http.createServer((req, res) => { handle(req, res); });
server.keepAliveTimeout = 5000;

function shutdown(signal) {
  process.stderr.write(`oidc peer: ${signal}, exiting\n`);
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('SIGHUP', shutdown);

// If our parent dies without killing us (e.g. a Rust test panicked and dropped its
// Child), we get re-parented: exit instead of lingering.
// EXIT_WITH_PARENT=0 disables this.
if ((process.env.EXIT_WITH_PARENT ?? '1') !== '0') {
  const initialPpid = process.ppid;
  setInterval(() => {
    if (process.ppid !== initialPpid) {
      process.stderr.write('oidc peer: parent process gone, exiting\n');
      process.exit(0);
    }
  }, 500).unref();
}

server.on('error', (err) => {
  process.stderr.write(`oidc peer: listen failed: ${err.message}\n`);
  process.exit(1);
});

server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  ({ provider, RESOURCE } = buildProvider(issuer));
  providerCallback = provider.callback();
  process.stdout.write(`READY ${issuer}\n`);
});
