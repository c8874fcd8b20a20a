"use strict";
// The view side of MCP Apps (ui/* over postMessage, JSON-RPC 2.0), written out instead of bundling
// the SDK: the view must stay small and load nothing.
const app = (() => {
  const pending = new Map();
  const listeners = {};
  let nextId = 1;
  const send = (msg) => window.parent.postMessage({ jsonrpc: "2.0", ...msg }, "*");
  const request = (method, params) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    send({ id, method, params });
  });
  window.addEventListener("message", (e) => {
    const m = e.data;
    if (e.source !== window.parent || !m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined) {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error.message || "the host refused the request"));
      else p.resolve(m.result);
    } else if (m.id !== undefined) {
      // The host's requests (ping, ui/resource-teardown) need no more than an answer.
      send({ id: m.id, result: {} });
    } else if (listeners[m.method]) {
      listeners[m.method](m.params || {});
    }
  });

  function applyContext(ctx) {
    if (!ctx) return;
    const root = document.documentElement;
    if (ctx.theme === "light" || ctx.theme === "dark") root.dataset.theme = ctx.theme;
    const vars = ctx.styles && ctx.styles.variables;
    for (const [k, v] of Object.entries(vars || {})) {
      if (k.startsWith("--") && typeof v === "string") root.style.setProperty(k, v);
    }
  }
  listeners["ui/notifications/host-context-changed"] = applyContext;

  let lastHeight = 0;
  const resized = () => {
    const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h !== lastHeight) {
      lastHeight = h;
      send({ method: "ui/notifications/size-changed", params: { width: Math.ceil(window.innerWidth), height: h } });
    }
  };

  return {
    // start shakes hands with the host and calls onResult with each tool result it hands over.
    async start(name, onResult) {
      listeners["ui/notifications/tool-result"] = (result) => {
        if (result.isError) status(textOf(result) || "The tool failed.", "bad");
        else onResult(result.structuredContent || {});
      };
      const init = await request("ui/initialize", {
        appInfo: { name, version: "1" }, appCapabilities: {}, protocolVersion: "2026-01-26",
      });
      applyContext(init && init.hostContext);
      send({ method: "ui/notifications/initialized", params: {} });
      new ResizeObserver(resized).observe(document.body);
    },
    // callTool asks the host to call one of this server's tools.
    callTool: (name, args) => request("tools/call", { name, arguments: args }),
  };
})();

// Anything that looks like an OpenRouter secret is hidden, whatever field it came in.
const secretShape = /sk-or-[A-Za-z0-9_-]+/g;

// el builds an element; strings become text nodes, so no value is ever parsed as markup.
function el(tag, attrs, ...children) {
  const svg = ["svg", "g", "rect", "text", "line", "title"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "object" ? c : String(c).replace(secretShape, "[secret hidden]"));
  }
  return node;
}

function textOf(result) {
  return (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

function status(message, cls) {
  const s = document.getElementById("status");
  s.className = cls || "muted";
  s.replaceChildren(String(message).replace(secretShape, "[secret hidden]"));
}

function usd(n) {
  return "$" + (Number(n) || 0).toFixed(2);
}

function shortHash(h) {
  return typeof h === "string" && h.length > 12 ? h.slice(0, 12) + "…" : h;
}

// pick returns the first of names that obj holds a value for: results of other tools name things
// a little differently.
function pick(obj, ...names) {
  for (const n of names) if (obj && obj[n] !== undefined && obj[n] !== null && obj[n] !== "") return obj[n];
  return undefined;
}
