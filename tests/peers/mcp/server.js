// OAuth-protected MCP server for codex-auth black-box tests, built on the official TypeScript
// SDK (@modelcontextprotocol/sdk): StreamableHTTPServerTransport (stateless, JSON responses),
// requireBearerAuth, and mcpAuthMetadataRouter for its RFC 9728 metadata. Access tokens are the
// JWTs of the oidc peer (tests/peers/oidc with MCP=1), verified against its JWKS; only tokens
// whose audience is this server's URL are accepted. 127.0.0.1 only.
//
// env: ISSUER (required: the oidc peer's URL), PORT (0 = free), LOG_FILE (one JSON line per
// request), QUIRK (issuer-mismatch | redirect-off-origin | bad-metadata |
// resource-metadata:<kind>, see README.md), SCOPES.
// Prints `READY http://127.0.0.1:<port>/mcp` once it accepts connections.

import * as fs from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import {
  mcpAuthMetadataRouter,
  getOAuthProtectedResourceMetadataUrl,
} from '@modelcontextprotocol/sdk/server/auth/router.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';

const ISSUER = process.env.ISSUER;
if (!ISSUER) {
  process.stderr.write('mcp peer: ISSUER must name the oidc peer\n');
  process.exit(2);
}
const PORT = Number(process.env.PORT || 0);
const LOG_FILE = process.env.LOG_FILE || '';
const QUIRK = process.env.QUIRK || '';
const SCOPE = 'mcp:tools';
// SCOPES: the scopes the resource metadata advertises (default mcp:tools, the one a token must
// carry).
const SCOPES = (process.env.SCOPES ?? SCOPE).split(' ').filter(Boolean);

function logLine(obj) {
  if (!LOG_FILE) return;
  try {
    fs.appendFileSync(LOG_FILE, `${JSON.stringify(obj)}\n`);
  } catch (err) {
    process.stderr.write(`mcp peer: cannot write LOG_FILE: ${err.message}\n`);
  }
}

const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));

const app = createMcpExpressApp();
app.use((req, res, next) => {
  const entry = { t: Date.now(), method: req.method, path: req.path, auth: Boolean(req.headers.authorization) };
  res.on('finish', () => { entry.status = res.statusCode; logLine(entry); });
  next();
});

const server = app.listen(PORT, '127.0.0.1', (err) => {
  if (err) {
    process.stderr.write(`mcp peer: listen failed: ${err.message}\n`);
    process.exit(1);
  }
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  const mcpUrl = new URL(`${origin}/mcp`);
  setUp(origin, mcpUrl);
  process.stdout.write(`READY ${mcpUrl.href}\n`);
});
server.on('error', (err) => {
  process.stderr.write(`mcp peer: ${err.message}\n`);
  process.exit(1);
});

function setUp(origin, mcpUrl) {
  const verifier = {
    async verifyAccessToken(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, jwks, {
          issuer: discovery.issuer,
          audience: mcpUrl.href,
          typ: 'at+jwt',
        }));
      } catch (err) {
        throw new InvalidTokenError(`token refused: ${err.code || err.message}`);
      }
      return {
        token,
        clientId: payload.client_id,
        scopes: String(payload.scope || '').split(' ').filter(Boolean),
        expiresAt: payload.exp,
        resource: new URL(payload.aud),
        extra: { sub: payload.sub },
      };
    },
  };

  if (QUIRK === 'issuer-mismatch') {
    // Names this origin as its authorization server, whose metadata (the router's copy of the
    // oidc peer's) then names another issuer.
    app.get('/.well-known/oauth-protected-resource/mcp', (req, res) => {
      res.json({ resource: mcpUrl.href, authorization_servers: [origin], scopes_supported: SCOPES });
    });
  } else if (QUIRK === 'bad-metadata') {
    app.get('/.well-known/oauth-protected-resource/mcp', (req, res) => {
      res.type('json').send('{"resource": "' + mcpUrl.href + '", "authorization_servers": [');
    });
  } else if (QUIRK.startsWith('resource-metadata:')) {
    // The resource metadata, broken as a broken server or proxy would answer it.
    const good = { resource: mcpUrl.href, authorization_servers: [ISSUER], scopes_supported: SCOPES };
    const kind = QUIRK.slice('resource-metadata:'.length);
    app.get('/.well-known/oauth-protected-resource/mcp', (req, res) => {
      if (kind === 'not-json') {
        res.status(200).type('html').send('<html><body><h1>502 Bad Gateway</h1></body></html>');
      } else if (kind === 'wrong-types') {
        res.json({ ...good, authorization_servers: ISSUER });
      } else if (kind === 'missing') {
        res.json({ resource: mcpUrl.href, scopes_supported: SCOPES });
      } else if (kind === 'oversized') {
        res.json({ ...good, padding: 'x'.repeat(1536 * 1024) });
      } else {
        res.status(500).send(`unknown QUIRK ${QUIRK}`);
      }
    });
  } else if (QUIRK === 'redirect-off-origin') {
    app.get('/.well-known/oauth-protected-resource/mcp', (req, res) => {
      res.redirect(302, `${ISSUER}/.well-known/oauth-protected-resource/mcp`);
    });
  }
  app.use(mcpAuthMetadataRouter({
    oauthMetadata: discovery,
    resourceServerUrl: mcpUrl,
    scopesSupported: SCOPES,
    resourceName: 'codex-auth test MCP server',
  }));

  const auth = requireBearerAuth({
    verifier,
    requiredScopes: [SCOPE],
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(mcpUrl),
    expectedResource: mcpUrl,
  });

  app.post('/mcp', auth, async (req, res) => {
    const mcp = new McpServer({ name: 'codex-auth-test', version: '1.0.0' });
    mcp.registerTool('whoami', {
      description: 'Who the bearer token belongs to',
      inputSchema: { verbose: z.boolean().optional() },
    }, async (args, extra) => ({
      content: [{ type: 'text', text: JSON.stringify({ sub: extra.authInfo?.extra?.sub, scopes: extra.authInfo?.scopes }) }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => { transport.close(); mcp.close(); });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Any other method on the endpoint: the same 401 first, then 405 (stateless server).
  app.all('/mcp', auth, (req, res) => {
    res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  });
}

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if ((process.env.EXIT_WITH_PARENT ?? '1') !== '0') {
  const initialPpid = process.ppid;
  setInterval(() => {
    if (process.ppid !== initialPpid) process.exit(0);
  }, 500).unref();
}
