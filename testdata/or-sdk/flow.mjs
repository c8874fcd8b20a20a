#!/usr/bin/env node
// The key flow of issue #11's done-when, through OpenRouter's official TypeScript SDK (@openrouter/sdk,
// pinned in package.json and its lock file), against the sandbox:
//
//   node flow.mjs BASE_URL        (e.g. http://127.0.0.1:PORT/api/v1; the management key in OPENROUTER_MANAGEMENT_KEY)
//
// create -> get -> update (rename, limit null, disabled) -> list (without and with includeDisabled) ->
// current key (with the new key's secret, before disabling) -> delete -> get (a 404 error), then the
// account endpoints the SDK also has: credits, activity (per workspace), workspaces (list and get).
// The SDK parses every answer with its own zod schemas, so a field missing or mistyped fails the flow.
// It prints ONE JSON summary line on stdout and exits 0 when every step passed, 1 otherwise.
import { OpenRouter } from '@openrouter/sdk';

const [serverURL] = process.argv.slice(2);
const apiKey = process.env.OPENROUTER_MANAGEMENT_KEY;
const steps = [];
const errors = [];

const or = new OpenRouter({ apiKey, serverURL, retryConfig: { strategy: 'none' } });

async function step(name, fn) {
  try {
    await fn();
    steps.push({ step: name, ok: true });
  } catch (err) {
    steps.push({ step: name, ok: false });
    // Never the key: SDK errors carry the body, which holds no secret on these endpoints.
    errors.push(`${name}: ${String(err?.message ?? err).replace(/sk-or-v1-[0-9a-f]+/g, 'sk-or-v1-[REDACTED]')}`);
  }
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

let created, secret;
await step('create', async () => {
  const res = await or.apiKeys.create({ requestBody: { name: 'sdk flow', limit: 10, limitReset: 'monthly' } });
  created = res.data;
  secret = res.key;
  check(/^[0-9a-f]{64}$/.test(created.hash), 'hash is not 64 hex');
  check(/^sk-or-v1-[0-9a-f]{64}$/.test(secret), 'key is not a secret');
  check(created.limit === 10 && created.limitReset === 'monthly', 'limit not as asked');
});
await step('get', async () => {
  const res = await or.apiKeys.get({ hash: created.hash });
  check(res.data.hash === created.hash && res.data.name === 'sdk flow', 'get returned another key');
});
await step('current', async () => {
  const mine = new OpenRouter({ apiKey: secret, serverURL, retryConfig: { strategy: 'none' } });
  const res = await mine.apiKeys.getCurrentKeyMetadata();
  check(res.data.label === created.label && res.data.isManagementKey === false, 'current key is not the new key');
});
await step('update', async () => {
  const res = await or.apiKeys.update({ hash: created.hash, requestBody: { name: 'sdk flow renamed', limit: null, disabled: true } });
  check(res.data.name === 'sdk flow renamed' && res.data.limit === null && res.data.disabled === true, 'update not applied');
});
await step('list', async () => {
  const plain = await or.apiKeys.list();
  check(!plain.data.some((k) => k.hash === created.hash), 'a disabled key is listed without includeDisabled');
  const all = await or.apiKeys.list({ includeDisabled: true, offset: 0 });
  check(all.data.some((k) => k.hash === created.hash), 'the key is missing with includeDisabled');
});
await step('delete', async () => {
  const res = await or.apiKeys.delete({ hash: created.hash });
  check(res.deleted === true, 'deleted is not true');
});
await step('get after delete', async () => {
  try {
    await or.apiKeys.get({ hash: created.hash });
  } catch (err) {
    check(err?.statusCode === 404, `status ${err?.statusCode}, want 404`);
    return;
  }
  throw new Error('the deleted key was found');
});
await step('credits', async () => {
  const res = await or.credits.getCredits();
  check(typeof res.data.totalCredits === 'number' && typeof res.data.totalUsage === 'number', 'credits not numbers');
});
await step('activity', async () => {
  const res = await or.analytics.getUserActivity({ groupBy: 'workspace' });
  check(Array.isArray(res.data) && res.data.length > 0 && res.data.every((r) => r.workspaceId), 'no activity rows per workspace');
});
await step('workspaces', async () => {
  const page = await or.workspaces.list();
  const list = page.result.data;
  check(list.length >= 2 && page.result.totalCount === list.length, 'want every workspace and its count');
  const one = await or.workspaces.get({ id: list[1].slug });
  check(one.data.id === list[1].id, 'get by slug returned another workspace');
});

const ok = errors.length === 0;
process.stdout.write(JSON.stringify({ ok, steps, errors }) + '\n');
process.exit(ok ? 0 : 1);
