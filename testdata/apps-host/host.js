// The test host's page: the SDK's own AppBridge renders one view in a sandboxed iframe, as a host
// does, hands it the tool's input and result, and sends the view's tool calls to the harness (which
// calls the server over MCP). views.mjs bundles this file into the page.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

window.showView = async ({ html, toolName, args, result, theme, variables }) => {
  const frame = document.createElement("iframe");
  frame.id = "view";
  frame.setAttribute("sandbox", "allow-scripts");
  document.body.replaceChildren(frame);
  const bridge = new AppBridge(null, { name: "apps-test-host", version: "1" }, { serverTools: {} }, {
    hostContext: { theme, styles: { variables }, displayMode: "inline", platform: "web" },
  });
  bridge.oncalltool = (params) => window.hostCallTool(params);
  bridge.onsizechange = ({ height }) => {
    if (height) frame.style.height = height + "px";
  };
  const ready = new Promise((resolve) => {
    bridge.oninitialized = resolve;
  });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  frame.srcdoc = html;
  await ready;
  await bridge.sendToolInput({ arguments: args });
  await bridge.sendToolResult(result);
  window.bridge = bridge;
};
