package tools

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	"github.com/mark3labs/mcp-go/mcp"
)

// Sizing results for a model's context. Several hosts hand structuredContent to the model as well
// as the text, so a result's cost is both together. A tool whose result holds a big collection (keys,
// findings, workspaces, activity rows) declares it (spec.items and spec.window) and embeds pageArgs;
// the pipeline then returns as many items as fit in resultBudget, or page_size items when the call
// asks, with a next_cursor to follow. Counts over the whole collection (summary, keys_checked,
// totals) are the tool's to compute before the cut, so they stay complete.

const (
	// resultBudget is what one result, text and structuredContent together, may take by default:
	// about 6,000 tokens. Results are fitted to a little less, resultBudget-encodingMargin, since the
	// reply's encoding may escape what was measured unescaped (<, > and & take six bytes).
	resultBudget   = 24 << 10
	encodingMargin = 512
	// maxPageSize is the most items a call may ask for with page_size.
	maxPageSize = 1000
)

// pageArgs are the arguments of a paged tool, embedded in its argument type. Their names say what
// they are (a result's text says how to go on), so they carry no description: tools/list is read by
// the model on every turn, and four tools take them.
type pageArgs struct {
	Cursor   string `json:"cursor,omitempty"`    // a result's next_cursor
	PageSize int    `json:"page_size,omitempty"` // items per result; default: what fits resultBudget
}

func (p pageArgs) paging() pageArgs { return p }

// errPageSize refuses a page_size out of bounds. windowOf checks it rather than the input schema, so
// that six tools' schemas do not spend tools/list's bytes (TestToolsListFitsTheContextBudget) on it.
var errPageSize = invalidArgs(fmt.Sprintf("`page_size` must be a whole number from 1 to %d; leave it out for as many "+
	"items as fit in about 24 KB", maxPageSize))

// pager is an argument type that embeds pageArgs.
type pager interface{ paging() pageArgs }

// cursor is what next_cursor carries: where the next result starts in the collection, and a digest
// of the arguments that made the collection, so that a cursor is not followed with other ones.
type cursor struct {
	Pos   int    `json:"p"`
	Query string `json:"q"`
}

var errCursor = invalidArgs("`cursor` is not a next_cursor of this tool for these arguments: pass it with the same " +
	"arguments as the call that returned it, or leave it out to start from the beginning")

// window is where one result of a paged tool starts, and how many items it may hold (0: as many as
// fit in resultBudget).
type window struct {
	from, size int
	query      string
}

// windowOf reads the paging arguments of a call with arguments args; ok is false for a tool that
// does not page.
func windowOf(tool string, input any, args map[string]any) (w window, ok bool, err error) {
	p, ok := input.(pager)
	if !ok {
		return window{}, false, nil
	}
	rest := maps.Clone(args)
	delete(rest, "cursor")
	delete(rest, "page_size")
	b, err := json.Marshal(rest) // a map's keys are sorted: one spelling
	if err != nil {
		return window{}, true, fmt.Errorf("encode arguments: %w", err)
	}
	sum := sha256.Sum256(append([]byte(tool+"\x00"), b...))
	w = window{size: p.paging().PageSize, query: hex.EncodeToString(sum[:8])}
	if _, given := args["page_size"]; given && (w.size < 1 || w.size > maxPageSize) {
		return window{}, true, errPageSize
	}
	if raw := p.paging().Cursor; raw != "" {
		var c cursor
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil || json.Unmarshal(b, &c) != nil || c.Pos < 0 || c.Query != w.query {
			return window{}, true, errCursor
		}
		w.from = c.Pos
	}
	return w, true, nil
}

// next is the cursor of the result after one that ends before item to.
func (w window) next(to int) *string {
	b, _ := json.Marshal(cursor{Pos: to, Query: w.query}) // cannot fail: an int and a string
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

// fit returns the result of the call for the window: page_size items from its start, or else as
// many as fit in resultBudget (one at least, so that a cursor always moves on).
func (s spec[In, Out]) fit(input In, output Out, w window) (*mcp.CallToolResult, error) {
	total := s.items(output)
	from := min(w.from, total)
	rest := total - from
	built := map[int]*mcp.CallToolResult{}
	// size builds the result of the next n items and measures it.
	size := func(n int) (int, error) {
		var next *string
		if n < rest {
			next = w.next(from + n)
		}
		res, err := s.result(input, s.window(input, output, from, from+n, next))
		if err != nil {
			return 0, err
		}
		built[n] = res
		return resultSize(res)
	}
	if w.size > 0 {
		n := min(w.size, rest)
		_, err := size(n)
		return built[n], err
	}
	limit := resultBudget - encodingMargin
	whole, err := size(rest)
	if err != nil || whole <= limit {
		return built[rest], err // most results: one encoding
	}
	// Too big: guess from the average item, search outwards from the guess for a bracket, then
	// halve it. Typically three or four encodings, each near the budget.
	fits := func(n int) (bool, error) {
		got, err := size(n)
		return got <= limit, err
	}
	lo, hi := 0, rest // n items fit at lo, not at hi
	guess := max(1, min(rest-1, rest*limit/whole))
	up, err := fits(guess)
	if up {
		lo = guess
	} else {
		hi = guess
	}
	for step := 1; err == nil; step *= 2 {
		probe := hi - step
		if up {
			probe = lo + step
		}
		if probe <= lo || probe >= hi {
			break
		}
		var ok bool
		if ok, err = fits(probe); ok {
			lo = probe
		} else {
			hi = probe
		}
		if ok != up {
			break // the bracket is closed
		}
	}
	for err == nil && hi-lo > 1 {
		mid := (lo + hi) / 2
		var ok bool
		if ok, err = fits(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	if err != nil {
		return nil, err
	}
	n := max(lo, 1)
	if built[n] == nil {
		if _, err := size(n); err != nil {
			return nil, err
		}
	}
	return built[n], nil
}

// resultSize is what a result costs a model's context: its text and its structuredContent.
func resultSize(res *mcp.CallToolResult) (int, error) {
	n := 0
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			n += len(t.Text)
		}
	}
	if raw, ok := res.StructuredContent.(json.RawMessage); ok {
		return n + len(raw), nil
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return 0, fmt.Errorf("encode result: %w", err)
	}
	return n + len(b), nil
}

// moreText is the sentence a paged result's text ends with when items remain (next is not nil):
// how to go on, and what else narrows the collection (narrow: "kinds or workspace_ids"; "" for nothing).
func moreText(shown, total int, next *string, narrow string) string {
	if next == nil {
		return ""
	}
	s := "\nThis result lists " + strconv.Itoa(shown) + " of " + strconv.Itoa(total) +
		" (the cap is about 24 KB, or page_size items). For the next ones, call again with the same arguments and cursor " + strconv.Quote(*next)
	if narrow != "" {
		s += ", or narrow with " + narrow
	}
	return s + "."
}
