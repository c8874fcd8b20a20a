// Package views holds the MCP Apps views (the io.modelcontextprotocol/ui extension) of
// openrouter-keys-mcp: self-contained HTML pages that a host renders beside a tool's result and feeds
// that result. Each page is kept here as a file; the head, script and style the pages share (head,
// common.js and common.css) are inlined when the package loads, so that a page loads nothing.
package views

import (
	"embed"
	"strings"
)

// MIMEType is the MIME type of an MCP Apps view (the extension's RESOURCE_MIME_TYPE).
const MIMEType = "text/html;profile=mcp-app"

// Extension is the extension's identifier, under which clients and servers announce it.
const Extension = "io.modelcontextprotocol/ui"

// View is one page: where it is read from and which tools' results it shows.
type View struct {
	URI         string   // the ui:// resource
	Name        string   // the resource's name
	Description string   // what the page shows
	Tools       []string // the tools whose results it renders
	HTML        string   // the page, with everything inlined
}

//go:embed *.html common.css common.js
var files embed.FS

// All returns the views, their pages assembled.
func All() []View {
	return []View{
		{URI: "ui://openrouter-keys/audit.html", Name: "key-audit", Description: "audit_keys' findings, grouped by kind, worst first",
			Tools: []string{"audit_keys"}, HTML: page("audit.html")},
		{URI: "ui://openrouter-keys/spend.html", Name: "spend", Description: "spend as bars per day, week or month, stacked by model or key",
			Tools: []string{"get_activity"}, HTML: page("spend.html")},
		{URI: "ui://openrouter-keys/plan.html", Name: "cleanup-plan", Description: "plan_cleanup's actions, with an Apply button that calls apply_plan",
			Tools: []string{"plan_cleanup"}, HTML: page("plan.html")},
	}
}

// head opens every page.
const head = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">`

// page is a view's file with the shared head, style and script put in place of their markers.
func page(name string) string {
	return strings.NewReplacer("<!--@head-->", head, "/*@common.css*/", read("common.css"), "//@common.js", read("common.js")).Replace(read(name))
}

func read(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err) // embedded above: cannot happen
	}
	return string(b)
}
