// Proves a bearer token through the official SDK client: MCP `initialize`, `tools/list` and a
// `tools/call` of `whoami` at the server, over streamable HTTP.
//
//   node client.js <mcp_url> <token>
//
// Prints one JSON line {"tools":[...],"whoami":{...}} and exits 0; on failure prints the error
// on stderr and exits 1.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  process.stderr.write('usage: node client.js <mcp_url> <token>\n');
  process.exit(64);
}
try {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'codex-auth-test-client', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  const called = await client.callTool({ name: 'whoami', arguments: {} });
  const whoami = JSON.parse(called.content[0].text);
  process.stdout.write(`${JSON.stringify({ tools: tools.map((t) => t.name), whoami })}\n`);
  await client.close();
  process.exit(0);
} catch (err) {
  process.stderr.write(`client: ${err.message}\n`);
  process.exit(1);
}
