#!/usr/bin/env node
// The key flow of issue #11's done-when, through OpenRouter's official TypeScript SDK (@openrouter/sdk,
// pinned in package.json and its lock file), against the sandbox:
//
//   node flow.mjs BASE_URL        (e.g. http://127.0.0.1:PORT/api/v1; the management key in OPENROUTER_MANAGEMENT_KEY)
//
// create -> get -> update (rename, limit null, disabled) -> list (without and with includeDisabled) ->
// current key (with the new key's secret, before disabling) -> delete -> get (a 404 error), then the
// account endpoints the SDK also has: credits, activity (per workspace), workspaces (list and get), and
// the controls beside the keys (issue #20): guardrails (list, get), key assignments (list, assign,
// remove), member assignments, BYOK allow-lists (list, get, update, a 400 for an unknown hash, a deleted
// key leaving the list), organization members and analytics (meta, 90 days of spend by key and day).
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

let guard, controlsKey;
await step('guardrails', async () => {
  const page = await or.guardrails.list();
  const list = page.result.data;
  check(list.length === 2 && page.result.totalCount === 2, 'want the two sample guardrails');
  guard = await or.guardrails.get({ id: list[0].id });
  check(guard.data.limitUsd > 0 && guard.data.resetInterval === 'monthly', 'the production guardrail has no monthly budget');
});
await step('key assignments', async () => {
  const all = await or.guardrails.listKeyAssignments();
  check(all.result.data.some((a) => a.keyName === 'Production chatbot' && a.guardrailId === guard.data.id), 'the production key is not assigned');
  controlsKey = (await or.apiKeys.create({ requestBody: { name: 'sdk controls' } })).data;
  const assigned = await or.guardrails.bulkAssignKeys({ id: guard.data.id, bulkAssignKeysRequest: { keyHashes: [controlsKey.hash] } });
  check(assigned.assignedCount === 1, `assignedCount ${assigned.assignedCount}, want 1`);
  const mine = await or.guardrails.listGuardrailKeyAssignments({ id: guard.data.id });
  check(mine.result.data.some((a) => a.keyHash === controlsKey.hash), 'the new key is not among the assignments');
  const removed = await or.guardrails.bulkUnassignKeys({ id: guard.data.id, bulkUnassignKeysRequest: { keyHashes: [controlsKey.hash] } });
  check(removed.unassignedCount === 1, `unassignedCount ${removed.unassignedCount}, want 1`);
});
await step('member assignments', async () => {
  const all = await or.guardrails.listMemberAssignments();
  const mine = await or.guardrails.listGuardrailMemberAssignments({ id: guard.data.id });
  check(all.result.totalCount === 1 && mine.result.data[0]?.userId === all.result.data[0].userId, 'want one member assignment');
});
await step('byok allow-lists', async () => {
  const page = await or.byok.list();
  const restricted = page.result.data.find((b) => b.allowedApiKeyHashes !== null);
  check(page.result.data.length === 2 && restricted, 'want two credentials, one restricted');
  const one = await or.byok.get({ id: restricted.id });
  check(one.data.allowedApiKeyHashes.length === 1, 'the restricted credential names one key');
  const hashes = [...one.data.allowedApiKeyHashes, controlsKey.hash];
  const updated = await or.byok.update({ id: restricted.id, updateBYOKKeyRequest: { allowedApiKeyHashes: hashes } });
  check(updated.data.allowedApiKeyHashes.length === 2, 'the allow-list was not updated');
  try {
    await or.byok.update({ id: restricted.id, updateBYOKKeyRequest: { allowedApiKeyHashes: ['0'.repeat(64)] } });
    throw new Error('an unknown hash was accepted');
  } catch (err) {
    check(err?.statusCode === 400, `unknown hash: status ${err?.statusCode}, want 400`);
  }
  await or.apiKeys.delete({ hash: controlsKey.hash });
  const after = await or.byok.get({ id: restricted.id });
  check(!after.data.allowedApiKeyHashes.includes(controlsKey.hash), 'a deleted key is still allowed');
});
await step('members', async () => {
  const page = await or.organization.listMembers();
  check(page.result.totalCount === 3 && page.result.data.some((m) => m.role === 'org:admin'), 'want three members and an admin');
});
await step('analytics', async () => {
  const meta = await or.analytics.getAnalyticsMeta();
  check(meta.data.metrics.some((m) => m.name === 'total_usage'), 'no total_usage metric');
  const end = new Date();
  const start = new Date(end.getTime() - 90 * 24 * 3600 * 1000);
  const res = await or.analytics.queryAnalytics({
    requestBody: { metrics: ['total_usage'], dimensions: ['api_key_id'], granularity: 'day', timeRange: { start, end } },
  });
  check(res.data.metadata.rowCount === res.data.data.length && res.data.data.length > 60, 'want the days of 90 by key');
});

const ok = errors.length === 0;
process.stdout.write(JSON.stringify({ ok, steps, errors }) + '\n');
process.exit(ok ? 0 : 1);
