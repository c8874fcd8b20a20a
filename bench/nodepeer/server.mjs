// The Node peer of the benchmarks in bench/: list_keys and get_key written as the official MCP
// TypeScript SDK's examples write a server (McpServer, registerTool with zod input and output schemas),
// calling the same upstream as openrouter-keys-mcp (GET {base}/keys with the management key as a Bearer
// token) and returning the same shape: a text block of one line per key, and structuredContent
// {"keys": [...], "next_offset": null} (get_key: {"key": {...}}).
//
//   node server.mjs stdio --base-url URL                     MCP over stdin/stdout
//   node server.mjs http --base-url URL [--addr 127.0.0.1:0] stateless streamable HTTP at /mcp (a new
//       server and transport per request, as the SDK's simpleStatelessStreamableHttp example does);
//       prints "listening on http://HOST:PORT/mcp" on stderr
//
// The key comes from $OPENROUTER_MANAGEMENT_KEY. It is a yardstick, not shipped.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import * as z from 'zod';

const [mode, ...rest] = process.argv.slice(2);
const flags = {};
for (let i = 0; i + 1 < rest.length; i += 2) flags[rest[i].replace(/^--/, '')] = rest[i + 1];
const base = flags['base-url'];
const key = process.env.OPENROUTER_MANAGEMENT_KEY;
if (!['stdio', 'http'].includes(mode) || !base || !key) {
  console.error('usage: OPENROUTER_MANAGEMENT_KEY=... node server.mjs stdio|http --base-url URL [--addr HOST:PORT]');
  process.exit(2);
}

// The fields the text shows are declared; the rest of OpenRouter's key object passes through.
const keySchema = z.looseObject({
  hash: z.string(),
  name: z.string(),
  label: z.string(),
  disabled: z.boolean(),
  limit: z.number().nullable(),
  limit_remaining: z.number().nullable(),
  limit_reset: z.string().nullable(),
  usage: z.number(),
  usage_monthly: z.number(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable().optional(),
  workspace_id: z.string(),
  created_at: z.string(),
});

async function upstream(path) {
  const resp = await fetch(base + path, { headers: { Authorization: `Bearer ${key}` } });
  const body = await resp.json();
  if (!resp.ok) throw new Error(`OpenRouter answered ${resp.status}: ${body?.error?.message ?? resp.statusText}`);
  return body.data;
}

// row is one line of the text table, as openrouter-keys-mcp's list_keys writes it.
function row(k) {
  let limit = 'none';
  if (k.limit != null) {
    limit = String(k.limit);
    if (k.limit_remaining != null) limit += ` (${k.limit_remaining.toFixed(2)} left${k.limit_reset ? ', ' + k.limit_reset : ''})`;
  }
  return [k.name, k.hash, k.label, k.disabled ? 'disabled' : 'enabled', limit,
    `${k.usage_monthly.toFixed(2)}/${k.usage.toFixed(2)}`, k.expires_at ?? 'never',
    k.last_used_at ? k.last_used_at.slice(0, 10) : 'never'].join(' | ');
}

function failed(err) {
  return { isError: true, content: [{ type: 'text', text: String(err.message ?? err) }] };
}

function newServer() {
  const server = new McpServer({ name: 'nodepeer', version: '1.0.0' });
  server.registerTool('list_keys', {
    description: 'List the OpenRouter API keys of the account, newest first, 100 per page.',
    inputSchema: { offset: z.number().int().min(0).optional() },
    outputSchema: { keys: z.array(keySchema), next_offset: z.number().int().nullable() },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  }, async ({ offset }) => {
    try {
      const keys = await upstream('/keys' + (offset ? `?offset=${offset}` : ''));
      const next = keys.length === 100 ? (offset ?? 0) + keys.length : null;
      const text = `${keys.length} keys; ${next === null ? 'no more.' : `more remain (next_offset ${next}).`}` +
        ' Columns: name | hash | label | state | limit USD (remaining, reset) | usage USD month/total | expires | last used\n' +
        keys.map((k) => row(k) + '\n').join('') + 'Every field of every key is in the structured content.';
      return { content: [{ type: 'text', text }], structuredContent: { keys, next_offset: next } };
    } catch (err) {
      return failed(err);
    }
  });
  server.registerTool('get_key', {
    description: 'Get one OpenRouter API key by its hash.',
    inputSchema: { hash: z.string().regex(/^[0-9a-f]{64}$/) },
    outputSchema: { key: keySchema },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  }, async ({ hash }) => {
    try {
      const k = await upstream('/keys/' + hash);
      return { content: [{ type: 'text', text: row(k) }], structuredContent: { key: k } };
    } catch (err) {
      return failed(err);
    }
  });
  return server;
}

if (mode === 'stdio') {
  await newServer().connect(new StdioServerTransport());
} else {
  const [host, port] = (flags.addr ?? '127.0.0.1:0').split(':');
  const app = createMcpExpressApp({ host });
  app.post('/mcp', async (req, res) => {
    const server = newServer();
    try {
      // JSON answers, as openrouter-keys-mcp gives, rather than the example's event stream.
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
      res.on('close', () => {
        transport.close();
        server.close();
      });
    } catch (err) {
      console.error('nodepeer:', err);
      if (!res.headersSent) res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
    }
  });
  const listener = app.listen(Number(port), host, () => {
    const a = listener.address();
    console.error(`listening on http://${a.address}:${a.port}/mcp`);
  });
  const stop = () => listener.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
