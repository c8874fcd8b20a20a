// Renders each MCP Apps view of the server in headless Chromium, the way a host does, and checks
// what a person would see. The server runs over stdio on its sandbox; this script is its MCP client
// (announcing the io.modelcontextprotocol/ui extension) and the host: it reads each view over MCP,
// calls the view's tool, and hands view and result to host.js (the SDK's AppBridge) in the page.
// Usage: node views.mjs --binary PATH --chromium PATH --assets DIR [--screenshots DIR]
// Prints one JSON line: {ok, errors, ...}.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { EXTENSION_ID, RESOURCE_MIME_TYPE } from "@modelcontextprotocol/ext-apps/server";
import * as esbuild from "esbuild";
import puppeteer from "puppeteer-core";

const { values: opt } = parseArgs({
  options: { binary: { type: "string" }, chromium: { type: "string" }, assets: { type: "string" }, screenshots: { type: "string" } },
});
const errors = [];
const check = (cond, msg) => {
  if (!cond) errors.push(msg);
};
const summary = { ok: false, errors };
const xssName = "<img src=x onerror=alert(1)>";
const light = { "--color-background-primary": "rgb(255, 255, 255)", "--color-text-primary": "rgb(17, 24, 39)" };
const dark = { "--color-background-primary": "rgb(24, 24, 27)", "--color-text-primary": "rgb(244, 244, 245)" };

const client = new Client({ name: "apps-test-host", version: "1" }, {
  capabilities: { extensions: { [EXTENSION_ID]: { mimeTypes: [RESOURCE_MIME_TYPE] } } },
});
let browser;
try {
  await client.connect(new StdioClientTransport({
    command: opt.binary, args: ["--sandbox", "--log-level", "warn"], env: { ...process.env }, stderr: "inherit",
  }));
  check(client.getServerCapabilities()?.extensions?.[EXTENSION_ID], "the server does not declare " + EXTENSION_ID);
  const call = async (name, args) => {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
    return r;
  };

  // The views, read over MCP as a host reads them.
  const { tools } = await client.listTools();
  const html = {};
  for (const tool of ["audit_keys", "get_activity", "plan_cleanup"]) {
    const uri = tools.find((t) => t.name === tool)?._meta?.ui?.resourceUri;
    check(uri && uri.startsWith("ui://"), `${tool} names no view in _meta.ui.resourceUri`);
    if (!uri) continue;
    const { contents } = await client.readResource({ uri });
    check(contents.length === 1 && contents[0].mimeType === RESOURCE_MIME_TYPE, `${uri}: ${contents.map((c) => c.mimeType)}`);
    html[tool] = contents[0].text;
  }

  // Real sandbox results, with a key whose name is markup.
  const created = await call("create_key", { name: xssName });
  const xssHash = created.structuredContent.key.hash;
  const audit = await call("audit_keys", {});
  const activity = await call("get_activity", {});
  const plan = await call("plan_cleanup", { delete: ["expired"], disable: [xssHash] });

  const hostJS = await readFile(path.join(opt.assets, "host.js"), "utf8");
  const bundle = await esbuild.build({
    stdin: { contents: hostJS, resolveDir: path.dirname(new URL(import.meta.url).pathname), sourcefile: "host.js" },
    bundle: true, format: "esm", platform: "browser", write: false, minify: true, logLevel: "silent",
  });
  const hostPage = (await readFile(path.join(opt.assets, "host.html"), "utf8"))
    .replace("/*HOST*/", () => bundle.outputFiles[0].text.replaceAll("</script", "<\\/script"));

  browser = await puppeteer.launch({
    executablePath: opt.chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions"],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 900, height: 700 });
  const requests = [];
  const dialogs = [];
  const toolCalls = [];
  await page.setRequestInterception(true);
  page.on("request", (r) => {
    requests.push(r.url());
    r.abort();
  });
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  page.on("pageerror", (e) => errors.push("page error: " + e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push("console error: " + m.text());
  });
  await page.exposeFunction("hostCallTool", async (params) => {
    toolCalls.push(params);
    return client.callTool(params);
  });

  // show renders one view with a tool's result and returns its frame, once the view has drawn it.
  const show = async (tool, args, result, theme, ready) => {
    await page.setContent(hostPage);
    await page.evaluate((a) => window.showView(a), {
      html: html[tool], toolName: tool, args, result, theme, variables: theme === "dark" ? dark : light,
    });
    const frame = page.frames().find((f) => f !== page.mainFrame());
    await frame.waitForSelector(ready, { timeout: 10000 });
    return frame;
  };
  const shoot = async (name) => {
    if (!opt.screenshots) return;
    const view = await page.$("#view");
    await view.screenshot({ path: path.join(opt.screenshots, name + ".png") });
  };
  const noMarkupFromData = async (frame, name) => {
    check((await frame.$$("img")).length === 0, `${name}: an <img> element came from the data`);
    const names = await frame.$$eval(".name", (cells) => cells.map((c) => c.textContent));
    check(names.includes(xssName), `${name}: the key named ${xssName} is not shown as text (${names.length} names)`);
  };
  const background = (frame) => frame.evaluate(() => getComputedStyle(document.body).backgroundColor);

  // The audit: every finding under its kind, in both themes, from the host's variables.
  for (const theme of ["light", "dark"]) {
    const frame = await show("audit_keys", {}, audit, theme, "section[data-kind]");
    const shown = await frame.$$eval("section[data-kind]", (ss) =>
      ss.map((s) => ({ kind: s.dataset.kind, names: [...s.querySelectorAll(".name")].map((c) => c.textContent) })));
    const byKind = Object.fromEntries(shown.map((s) => [s.kind, s.names]));
    for (const f of audit.structuredContent.findings) {
      check(byKind[f.kind]?.includes(f.name), `audit: ${f.name} is not listed under ${f.kind}`);
    }
    check(byKind.expired?.includes("Contractor access") && byKind.never_used?.includes("Unused test key"),
      "audit: the sample's expired and never-used keys are not under their kinds");
    const order = shown.map((s) => s.kind);
    check(order[0] === "expired", "audit: the worst kind is not first: " + order.join(","));
    await noMarkupFromData(frame, "audit");
    const bg = await background(frame);
    check(bg === (theme === "dark" ? dark : light)["--color-background-primary"], `audit (${theme}): background ${bg}`);
    summary.audit = { kinds: order, findings: audit.structuredContent.findings.length };
    if (theme === "light") await shoot("audit");
  }

  // Spend: one bar per day, heights proportional to the day's total.
  {
    const frame = await show("get_activity", {}, activity, "dark", "g.bar");
    const bars = await frame.$$eval("g.bar", (gs) => gs.map((g) => ({
      day: g.dataset.period, total: Number(g.dataset.total),
      height: [...g.querySelectorAll("rect")].reduce((a, r) => a + Number(r.getAttribute("height")), 0),
    })));
    const days = new Map();
    for (const r of activity.structuredContent.rows) days.set(r.date, (days.get(r.date) || 0) + r.usage);
    check(bars.length === days.size && days.size > 1, `spend: ${bars.length} bars for ${days.size} days`);
    const max = Math.max(...days.values());
    const tallest = Math.max(...bars.map((b) => b.height));
    for (const b of bars) {
      check(Math.abs(b.total - (days.get(b.day) ?? NaN)) < 1e-6, `spend: ${b.day} totals ${b.total}, the rows ${days.get(b.day)}`);
      check(Math.abs(b.height / tallest - days.get(b.day) / max) < 1e-6, `spend: ${b.day}'s bar is not proportional to its total`);
    }
    summary.spend = { bars: bars.length, days: days.size };
    await shoot("spend");
  }

  // The plan: its actions, then Apply calls apply_plan through the host and shows each outcome.
  {
    const actions = plan.structuredContent.actions;
    const frame = await show("plan_cleanup", {}, plan, "light", "tbody tr");
    check((await frame.$$("tbody tr")).length === actions.length, "plan: not one row per action");
    await noMarkupFromData(frame, "plan");
    check(toolCalls.length === 0, "plan: a tool was called before Apply was pressed");
    await frame.click("#apply");
    await frame.waitForFunction(() => [...document.querySelectorAll("td.outcome")].every((c) => c.textContent), { timeout: 15000 });
    const outcomes = await frame.$$eval("td.outcome", (cs) => cs.map((c) => c.textContent));
    check(outcomes.length === actions.length && outcomes.every((o) => o === "done"), "plan: outcomes " + outcomes.join(","));
    check(toolCalls.length === 1 && toolCalls[0].name === "apply_plan" &&
      toolCalls[0].arguments?.plan_token === plan.structuredContent.plan_token, "plan: Apply made " + JSON.stringify(toolCalls.map((c) => c.name)));
    const key = await call("get_key", { hash: xssHash });
    check(key.structuredContent.key.disabled === true, "plan: the key Apply disabled is not disabled on the server");
    summary.plan = { actions: actions.length, outcomes };
    await shoot("plan");
  }

  check(requests.length === 0, "requests left the page: " + requests.join(", "));
  check(dialogs.length === 0, "dialogs opened (markup from data ran): " + dialogs.join(", "));
  summary.requests = requests.length;
} catch (e) {
  errors.push(String(e && e.stack || e));
} finally {
  await browser?.close().catch(() => {});
  await client.close().catch(() => {});
}
summary.ok = errors.length === 0;
console.log(JSON.stringify(summary));
process.exit(summary.ok ? 0 : 1);
