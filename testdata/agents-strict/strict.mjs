// The tools as a host in OpenAI's strict mode sees and calls them (issue #13), with no model: the
// OpenAI Agents SDK lists the server's tools over stdio and converts them to strict function tools
// (getAllMcpTools with convertSchemasToStrict), and each call goes through the converted tool's
// invoke(runContext, JSON arguments), as the agent loop makes it, with every property present and
// null for each argument left alone, as strict mode makes a model send them; then a clean-up planned
// and applied.
//
//   node strict.mjs /path/to/openrouter-keys-mcp      (or ORKM_BINARY=/path/to/openrouter-keys-mcp)
//
// Prints one JSON line {ok, tools, steps, errors} and exits 1 when a check fails. The server runs
// with --sandbox, so no real account is touched; results (which hold a new key's secret) are never
// printed, only the fields checked.
import { MCPServerStdio, RunContext, getAllMcpTools } from '@openai/agents';

const binary = process.argv[2] || process.env.ORKM_BINARY;
const summary = { ok: false, tools: [], steps: [], errors: [] };
const fail = (msg) => summary.errors.push(msg);

function finish() {
  summary.ok = summary.errors.length === 0;
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exitCode = summary.ok ? 0 : 1;
}

if (!binary) {
  fail('usage: node strict.mjs BINARY (or set ORKM_BINARY)');
  finish();
  process.exit();
}

// A hung server must not hang the test: give up after a minute with what was found so far.
const deadline = setTimeout(() => {
  fail('timed out after 60s');
  finish();
  process.exit();
}, 60_000);
deadline.unref();

const server = new MCPServerStdio({ name: 'openrouter-keys', command: binary, args: ['--sandbox'] });

// What reached the server: the SDK may rewrite the model's arguments (it drops the nulls of the
// nullability it added itself), so each call records the arguments forwarded and the full result,
// whose isError and structuredContent the SDK keeps beside the content it hands the model.
const forwarded = [];
const callTool = server.callTool.bind(server);
server.callTool = async (name, args, ...rest) => {
  const content = await callTool(name, args, ...rest);
  forwarded.push({ name, args, isError: content.isError === true, structured: content.structuredContent });
  return content;
};

// nullable reports whether a strict property schema lets the model send null.
function nullable(schema) {
  const types = (s) => (Array.isArray(s?.type) ? s.type : [s?.type]);
  return types(schema).includes('null') || (schema?.anyOf ?? []).some((s) => types(s).includes('null'));
}

// strictArgs is what a strict-mode model sends: every property of the converted schema, null for
// each one not given.
function strictArgs(tool, given) {
  const args = {};
  for (const key of Object.keys(tool.parameters.properties)) args[key] = key in given ? given[key] : null;
  return args;
}

try {
  await server.connect();
  const runContext = new RunContext({});
  const listed = await server.listTools();
  const tools = await getAllMcpTools({ mcpServers: [server], convertSchemasToStrict: true, runContext });
  const byName = new Map(tools.map((t) => [t.name, t]));

  // Every tool must survive strict conversion: a schema the SDK cannot make strict falls back to a
  // non-strict tool (with only a logged warning), which a strict-only host would refuse or mangle.
  for (const mcpTool of listed) {
    const tool = byName.get(mcpTool.name);
    summary.tools.push({ name: mcpTool.name, type: tool?.type, strict: tool?.strict, parameters: tool?.parameters });
    if (!tool || tool.type !== 'function' || tool.strict !== true) {
      fail(`${mcpTool.name}: not converted to a strict function tool (type ${tool?.type}, strict ${tool?.strict})`);
      continue;
    }
    const p = tool.parameters;
    const props = Object.keys(p.properties ?? {});
    const required = new Set(mcpTool.inputSchema.required ?? []);
    if (p.additionalProperties !== false) fail(`${mcpTool.name}: strict schema allows additional properties`);
    if ((p.required ?? []).length !== props.length || !props.every((k) => p.required.includes(k))) {
      fail(`${mcpTool.name}: strict schema does not require every property: ${JSON.stringify(p.required)}`);
    }
    for (const key of props) {
      if (!required.has(key) && !nullable(p.properties[key])) fail(`${mcpTool.name}.${key}: optional but not nullable`);
      if (required.has(key) && nullable(p.properties[key])) fail(`${mcpTool.name}.${key}: required yet nullable`);
    }
  }

  // invoke calls a converted tool with strict-mode arguments and returns what reached the server.
  async function invoke(step, name, given) {
    const tool = byName.get(name);
    if (!tool) throw new Error(`${step}: no tool ${name}`);
    const args = strictArgs(tool, given);
    const before = forwarded.length;
    const output = await tool.invoke(runContext, JSON.stringify(args));
    const call = forwarded[before];
    if (!call) throw new Error(`${step}: the SDK did not call the server: ${JSON.stringify(output).slice(0, 300)}`);
    // The first line of what the model reads sums the result up (the result's JSON follows it).
    const text = (typeof output === 'string' ? output : output?.text ?? JSON.stringify(output)).split('\n')[0];
    return { args, call, text };
  }

  // check records a step: what the model sent, what the server got, and the checks that failed.
  function check(step, r, problems) {
    const failed = problems.filter(Boolean);
    summary.steps.push({ step, ok: failed.length === 0, sent: r.args, forwarded: r.call.args, isError: r.call.isError });
    for (const p of failed) fail(`${step}: ${p}`);
  }

  const getKey = async (step, hash) => (await invoke(step, 'get_key', { hash })).call.structured?.key;

  // 1. create_key with only a name: the nulls mean no limit, no reset, no expiry.
  const created = await invoke('create_key name only', 'create_key', { name: 'strict-host' });
  const key = created.call.structured?.key;
  check('create_key name only', created, [
    created.call.isError && `refused: ${created.text.slice(0, 300)}`,
    !key && 'no key in the result',
    key && key.limit !== null && `limit ${key.limit}, want none`,
    key && key.limit_reset !== null && `limit_reset ${key.limit_reset}, want none`,
    key && key.expires_at !== null && `expires_at ${key.expires_at}, want none`,
  ]);
  if (!key) throw new Error('no key to go on with');

  // 2. Set a $5 limit.
  const limited = await invoke('update_key limit 5', 'update_key', { hash: key.hash, limit: 5 });
  const afterLimit = limited.call.structured?.key;
  check('update_key limit 5', limited, [
    limited.call.isError && `refused: ${limited.text.slice(0, 300)}`,
    afterLimit?.limit !== 5 && `limit ${afterLimit?.limit}, want 5`,
  ]);

  // 3. Rename with every other argument null: null means unchanged, so the $5 limit stays.
  const renamed = await invoke('update_key rename', 'update_key', { hash: key.hash, name: 'strict-host-renamed' });
  const afterRename = await getKey('get_key after rename', key.hash);
  check('update_key rename', renamed, [
    renamed.call.isError && `refused: ${renamed.text.slice(0, 300)}`,
    afterRename?.name !== 'strict-host-renamed' && `name ${JSON.stringify(afterRename?.name)}, want "strict-host-renamed"`,
    afterRename?.limit !== 5 && `limit ${afterRename?.limit} after the rename, want 5 (a null limit removed it)`,
  ]);

  // 4. Every argument null but the hash: nothing to change, refused, and the key left as it was.
  const empty = await invoke('update_key all null', 'update_key', { hash: key.hash });
  const afterEmpty = await getKey('get_key after all null', key.hash);
  check('update_key all null', empty, [
    !empty.call.isError && 'accepted, want it refused',
    !/nothing to change/i.test(empty.text) && `the model read ${JSON.stringify(empty.text)}, want "nothing to change"`,
    afterEmpty?.name !== 'strict-host-renamed' && `name ${JSON.stringify(afterEmpty?.name)} afterwards`,
    afterEmpty?.limit !== 5 && `limit ${afterEmpty?.limit} afterwards, want 5`,
    afterEmpty?.updated_at !== afterRename?.updated_at && 'the key was updated',
  ]);

  // 5. A clean-up in one reviewed step: plan (every other argument null), then apply the token.
  const planned = await invoke('plan_cleanup', 'plan_cleanup', { delete: ['expired'], disable: ['never_used'] });
  const plan = planned.call.structured;
  const actions = plan?.actions ?? [];
  check('plan_cleanup', planned, [
    planned.call.isError && `refused: ${planned.text.slice(0, 300)}`,
    !actions.some((a) => a.action === 'delete') && 'no deletion of the expired key',
    !actions.some((a) => a.action === 'disable') && 'no disabling of a never-used key',
    typeof plan?.plan_token !== 'string' && 'no plan_token',
  ]);
  const applied = await invoke('apply_plan', 'apply_plan', { plan_token: plan?.plan_token });
  const outcome = applied.call.structured;
  check('apply_plan', applied, [
    applied.call.isError && `refused: ${applied.text.slice(0, 300)}`,
    outcome?.complete !== true && `complete ${outcome?.complete}`,
    outcome?.actions?.length !== actions.length && `${outcome?.actions?.length} outcomes for ${actions.length} actions`,
  ]);
} catch (err) {
  fail(String(err?.stack ?? err));
} finally {
  await server.close().catch((err) => fail(`close: ${err}`));
  finish();
}
