#!/usr/bin/env node
// The tool flow through the official MCP TypeScript SDK client, an implementation independent of ours.
//
//   node flow.mjs --stdio BINARY [ARGS...]   the server over stdio (StdioClientTransport; env passed through)
//   node flow.mjs --url URL                  the server over streamable HTTP (StreamableHTTPClientTransport)
//
// It lists the tools (exactly the six), compiles every inputSchema and outputSchema as JSON Schema
// 2020-12 (Ajv2020, strict), then runs create -> get -> update (remove_limit, disabled true) -> list
// (without and with include_disabled) -> delete -> get (an error result) -> current_key, checking each
// call's arguments against the tool's inputSchema and each structuredContent against its outputSchema.
// The client declares elicitation and accepts every confirmation the server asks for, counting them.
// It prints ONE JSON summary line on stdout and exits 0 when every check passed, 1 otherwise. The
// server's stderr and this script's diagnostics go to stderr.
//
// Dependencies: npm ci in this folder (package.json pins exact versions); typescript_test.go installs
// them into a cache and runs this script with them.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ElicitRequestSchema, ListToolsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const addFormats = addFormatsModule.default ?? addFormatsModule;

const WANT_TOOLS = ['apply_plan', 'assign_guardrail', 'audit_keys', 'create_key', 'current_key', 'delete_key', 'get_activity', 'get_credits', 'get_key', 'list_guardrails', 'list_keys', 'list_members', 'list_workspaces', 'plan_cleanup', 'query_spend', 'rotate_key', 'update_key'];
const TIMEOUT = { timeout: 30000 };

const argv = process.argv.slice(2);
let transport, transportName;
if (argv[0] === '--stdio' && argv.length >= 2) {
  transportName = 'stdio';
  transport = new StdioClientTransport({
    command: argv[1],
    args: argv.slice(2),
    env: { ...getDefaultEnvironment(), ...process.env },
    stderr: 'inherit',
  });
} else if (argv[0] === '--url' && argv.length === 2) {
  transportName = 'streamable-http';
  transport = new StreamableHTTPClientTransport(new URL(argv[1]));
} else {
  process.stderr.write('usage: node flow.mjs --stdio BINARY [ARGS...] | --url URL\n');
  process.exit(2);
}

const summary = { ok: false, transport: transportName, protocolVersion: null, server: null, tools: [], schemasCompiled: 0, steps: [], elicitations: 0, errors: [] };
const fail = (msg) => summary.errors.push(msg);

// The SDK tells the transport the negotiated version; keep a copy.
const setPV = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => { summary.protocolVersion = v; setPV?.(v); };

const client = new Client({ name: 'openrouter-keys-mcp-ts-flow', version: '1.0.0' }, { capabilities: { elicitation: {} } });
client.setRequestHandler(ElicitRequestSchema, async () => {
  summary.elicitations++;
  return { action: 'accept', content: { confirm: true } };
});

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);
const errs = (v) => (v.errors || []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');

function compile(tool, which) {
  const schema = tool[which];
  if (schema === undefined) { fail(`${tool.name}: no ${which}`); return null; }
  if (schema.type !== 'object') fail(`${tool.name}: ${which} type is ${JSON.stringify(schema.type)}, MCP wants "object"`);
  if (schema.$schema !== undefined && schema.$schema !== 'https://json-schema.org/draft/2020-12/schema') fail(`${tool.name}: ${which} declares ${schema.$schema}`);
  if (!ajv.validateSchema(schema)) { fail(`${tool.name}: ${which} is not valid JSON Schema 2020-12: ${errs(ajv)}`); return null; }
  try {
    const v = ajv.compile(schema);
    summary.schemasCompiled++;
    return v;
  } catch (e) {
    fail(`${tool.name}: ${which} does not compile: ${e.message}`);
    return null;
  }
}

const schemas = {};
// call runs one step: checks the arguments against inputSchema, calls, and checks structuredContent
// against outputSchema. check(structured, result) returns a problem, or nothing when all is well.
async function call(step, name, args, { wantError = false, check } = {}) {
  const s = schemas[name] || {};
  const entry = { step, tool: name, ok: false };
  summary.steps.push(entry);
  if (s.input && !s.input(args)) fail(`${step}: arguments do not match ${name}'s inputSchema: ${errs(s.input)}`);
  let result;
  try {
    result = await client.callTool({ name, arguments: args }, CallToolResultSchema, TIMEOUT);
  } catch (e) {
    fail(`${step}: ${e.message}`);
    return null;
  }
  const text = (result.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
  if (!text) fail(`${step}: no text content`);
  if (Boolean(result.isError) !== wantError) {
    fail(`${step}: isError=${Boolean(result.isError)}: ${text.slice(0, 300)}`);
    return null;
  }
  const sc = result.structuredContent;
  if (!wantError) {
    if (sc === undefined) { fail(`${step}: no structuredContent`); return null; }
    if (s.output && !s.output(sc)) { fail(`${step}: structuredContent does not match ${name}'s outputSchema: ${errs(s.output)}`); return null; }
  }
  const problem = check?.(sc, text);
  if (problem) { fail(`${step}: ${problem}`); return null; }
  entry.ok = true;
  return sc;
}

try {
  await client.connect(transport, TIMEOUT);
  summary.server = client.getServerVersion();

  const tools = [];
  let cursor;
  do {
    const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, ListToolsResultSchema, TIMEOUT);
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  summary.tools = tools.map((t) => t.name).sort();
  if (JSON.stringify(summary.tools) !== JSON.stringify(WANT_TOOLS)) fail(`tools/list: ${summary.tools.join(', ')}; want exactly ${WANT_TOOLS.join(', ')}`);
  for (const tool of tools) {
    schemas[tool.name] = { input: compile(tool, 'inputSchema'), output: compile(tool, 'outputSchema') };
  }

  const created = await call('create', 'create_key', { name: 'ts-e2e', limit: 25, limit_reset: 'monthly' }, {
    check: (sc) => (/^sk-or-v1-[0-9a-f]{64}$/.test(sc.secret) ? null : 'the secret has the wrong shape'),
  });
  const hash = created?.key?.hash;
  if (!hash) throw new Error('create_key gave no key hash; the flow cannot go on');
  await call('get', 'get_key', { hash }, {
    check: (sc) => (sc.key.name === 'ts-e2e' && sc.key.limit === 25 ? null : `got ${JSON.stringify(sc.key)}`),
  });
  await call('update', 'update_key', { hash, remove_limit: true, disabled: true }, {
    check: (sc) => (sc.key.limit === null && sc.key.disabled === true && sc.key.limit_reset === 'monthly' ? null : `got ${JSON.stringify(sc.key)}`),
  });
  const listed = (sc) => sc.keys.some((k) => k.hash === hash);
  await call('list', 'list_keys', {}, { check: (sc) => (listed(sc) ? 'a disabled key is listed without include_disabled' : null) });
  await call('list include_disabled', 'list_keys', { include_disabled: true }, { check: (sc) => (listed(sc) ? null : 'the disabled key is missing') });
  await call('delete', 'delete_key', { hash }, { check: (sc) => (sc.deleted === true ? null : `got ${JSON.stringify(sc)}`) });
  await call('get deleted', 'get_key', { hash }, {
    wantError: true,
    check: (_, text) => (text.includes('no key with that hash') ? null : `error text: ${text.slice(0, 300)}`),
  });
  await call('current_key', 'current_key', {}, { check: (sc) => (sc.key.is_management_key === true ? null : `got ${JSON.stringify(sc.key)}`) });
} catch (e) {
  fail(`${e.name || 'Error'}: ${e.message}`);
} finally {
  try { if (transport.sessionId) await transport.terminateSession(); } catch (e) { fail(`DELETE session: ${e.message}`); }
  try { await client.close(); } catch { /* closing */ }
}
summary.ok = summary.errors.length === 0 && summary.steps.length === 8 && summary.steps.every((s) => s.ok);
process.stdout.write(JSON.stringify(summary) + '\n');
process.exit(summary.ok ? 0 : 1);
