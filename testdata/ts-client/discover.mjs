#!/usr/bin/env node
// How the official MCP TypeScript SDK finds where to sign in, against a server with --auth oidc.
//
//   node discover.mjs URL READ_TOKEN
//
// An unauthenticated POST gets 401; the SDK's extractWWWAuthenticateParams reads the challenge, and its
// discoverOAuthProtectedResourceMetadata fetches (and validates, against its RFC 9728 schema) the
// metadata, both from the challenge's resource_metadata and from the well-known path it derives from
// the URL itself. Then the SDK's client connects with READ_TOKEN (keys:read), lists the tools, and a
// create_key call with it gets the 403 insufficient_scope challenge naming keys:write.
// It prints ONE JSON summary line on stdout and exits 0 when every check passed, 1 otherwise.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';

const [url, readToken] = process.argv.slice(2);
const errors = [];
const out = { ok: false, errors };
const check = (cond, msg) => { if (!cond) errors.push(msg); };
const rpc = (body, token) => fetch(url, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

try {
  const unauth = await rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  check(unauth.status === 401, `no token: HTTP ${unauth.status}, want 401`);
  const challenge = extractWWWAuthenticateParams(unauth);
  out.resourceMetadataUrl = challenge.resourceMetadataUrl?.href;
  check(out.resourceMetadataUrl, 'the 401 challenge names no resource_metadata');

  const fromChallenge = await discoverOAuthProtectedResourceMetadata(url, { resourceMetadataUrl: challenge.resourceMetadataUrl });
  const fromURL = await discoverOAuthProtectedResourceMetadata(url);
  out.metadata = fromURL;
  check(JSON.stringify(fromChallenge) === JSON.stringify(fromURL), 'the metadata differs between the challenge and the well-known path');
  check(fromURL.resource === url, `resource ${fromURL.resource}, want ${url}`);

  const client = new Client({ name: 'ts-discover', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${readToken}` } } }));
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  await client.close();

  const beyond = await rpc({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_key', arguments: { name: 'nope' } } }, readToken);
  const scope = extractWWWAuthenticateParams(beyond);
  out.insufficient = { status: beyond.status, error: scope.error, scope: scope.scope };
} catch (e) {
  errors.push(String(e?.stack ?? e));
}
out.ok = errors.length === 0;
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
