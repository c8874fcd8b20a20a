package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// samplePage is a page of n keys with every kind of field set somewhere, guardrails and creators
// (some who left) included.
func samplePage(n int) []keyView {
	f := func(v float64) *float64 { return &v }
	s := func(v string) *string { return &v }
	keys := make([]keyView, n)
	for i := range keys {
		k := openrouter.Key{
			Hash:         fmt.Sprintf("%064x", i+1),
			Name:         fmt.Sprintf("key %02d <with> \"quotes\" & ünïcode", i),
			Label:        fmt.Sprintf("sk-or-v1-%03d...%03d", i, i),
			Disabled:     i%5 == 4,
			Usage:        float64(i) * 1.234567,
			UsageDaily:   0.31,
			UsageWeekly:  3.2,
			UsageMonthly: float64(i) / 3,
			CreatedAt:    "2026-11-23T14:03:16.936762+00:00",
			WorkspaceID:  "0d0b1c55-7a0c-4f0e-9f43-2a4b8f1c9e10",
		}
		if i%2 == 0 {
			k.Limit, k.LimitRemaining = f(float64(10*i)+0.5), f(float64(10*i)-k.Usage)
		}
		if i%4 == 0 {
			k.LimitReset = s("monthly")
		}
		if i%3 == 0 {
			k.ExpiresAt = s("2027-11-23T14:03:15.000000+00:00")
			k.UpdatedAt = s("2026-11-24T00:00:00.000000+00:00")
		}
		if i%3 != 1 {
			k.LastUsedAt = s("2026-11-29T08:41:07.123456+00:00")
		}
		if i == 7 {
			k.Limit, k.LimitRemaining = f(1e21), f(-1e-7) // exponents in %g
		}
		keys[i] = keyView{Key: k, Guardrail: &guardrailRef{ID: "7f1c2a3e-0b4d-4e5f-8a9b-0c1d2e3f4a5b", Name: "Production policy (EU)",
			Via: []string{viaKey, viaMember, viaWorkspace}[i%3], LimitUSD: f(300), ResetInterval: s("monthly")},
			Creator: &creatorRef{ID: "user_2xYzAbCdEfGhIjKlMnOpQrStUvW", Name: "Priya Shah-Okonkwo", Email: "priya.shah-okonkwo@example.com"}}
		if i%4 == 3 {
			keys[i].Creator = &creatorRef{ID: keys[i].Creator.ID, Left: true}
		}
	}
	return keys
}

// keyRowFmt is keyRow as first written, with fmt: the reference the faster keyRow must match.
func keyRowFmt(k openrouter.Key) string {
	state := "enabled"
	if k.Disabled {
		state = "disabled"
	}
	limit := "none"
	if k.Limit != nil {
		limit = fmt.Sprintf("%g", *k.Limit)
		if k.LimitRemaining != nil {
			limit += fmt.Sprintf(" (%.2f left", *k.LimitRemaining)
			if k.LimitReset != nil {
				limit += ", " + *k.LimitReset
			}
			limit += ")"
		}
	}
	expires := "never"
	if k.ExpiresAt != nil {
		expires, _, _ = strings.Cut(*k.ExpiresAt, "T")
	}
	lastUsed := "never"
	if k.LastUsedAt != nil {
		lastUsed, _, _ = strings.Cut(*k.LastUsedAt, "T")
	}
	return fmt.Sprintf("%q | %s | %s | %s | %s | %.2f/%.2f | %s | %s", k.Name, k.Hash, k.Label, state, limit,
		k.UsageMonthly, k.Usage, expires, lastUsed)
}

func TestKeyRowMatchesTheFmtVersion(t *testing.T) {
	for _, k := range samplePage(40) {
		if got, want := string(appendKeyRow(nil, k.Key)), keyRowFmt(k.Key); got != want {
			t.Errorf("keyRow:\n got %q\nwant %q", got, want)
		}
	}
}

// TestListKeysTextStaysSmall: the table is what a model reads of a page of keys, so it must stay cheap:
// at most 260 bytes a key with the guardrail and creator shown, for keys with long names, limits,
// expiries, a last use, a guardrail and a creator who left.
func TestListKeysTextStaysSmall(t *testing.T) {
	page := samplePage(100)
	text := listKeys.text(listKeysArgs{}, listKeysResult{Keys: page})
	perKey := len(text) / len(page)
	if perKey > 260 {
		t.Errorf("list_keys text: %d bytes a key, want at most 260", perKey)
	}
	longest := ""
	for _, row := range strings.Split(text, "\n")[1:len(page)] {
		if len(row) > len(longest) {
			longest = row
		}
	}
	for _, want := range []string{`| "Production policy (EU)" via creator | "Priya Shah-Okonkwo"`, "| workspace default | user_2xYzAbCdEfGhIjKlMnOpQrStUvW (left)"} {
		if !strings.Contains(text, want) {
			t.Errorf("rows must name the guardrail and the creator: want %q in\n%s", want, longest)
		}
	}
	t.Logf("list_keys text: %d bytes a key; longest row %d bytes: %s", perKey, len(longest), longest)
}

// encodeReply encodes a result as mcp-go's transports do: inside a JSON-RPC response, with
// encoding/json.
func encodeReply(tb testing.TB, res *mcp.CallToolResult) []byte {
	b, err := json.Marshal(mcp.NewJSONRPCResultResponse(mcp.NewRequestId(1), res))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestResultsCarryTheOutputOnce: a list_keys result's structured content is the output, and its text
// the table; a get_key result's text is the summary and the same JSON as the structured content.
func TestResultsCarryTheOutputOnce(t *testing.T) {
	page := samplePage(20)
	res, err := listKeys.result(listKeysArgs{}, listKeysResult{Keys: page})
	if err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Result struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			StructuredContent listKeysResult `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(encodeReply(t, res), &reply); err != nil {
		t.Fatal(err)
	}
	if got := reply.Result.StructuredContent; len(got.Keys) != 20 || got.Keys[7].Name != page[7].Name || got.NextOffset != nil {
		t.Errorf("structured content: %+v", got)
	}
	if text := reply.Result.Content[0].Text; text != listKeys.text(listKeysArgs{}, listKeysResult{Keys: page}) {
		t.Errorf("text: %q", text)
	}

	key := keyResult{Key: page[3]}
	res, err = getKey.result(hashArgs{}, key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(key)
	if text := res.Content[0].(mcp.TextContent).Text; text != getKey.summary(hashArgs{}, key)+"\n"+string(tidyNumbers(b)) {
		t.Errorf("get_key text: %q", text)
	}
	if got, _ := json.Marshal(res.StructuredContent); string(got) != string(b) {
		t.Errorf("get_key structured content: %s", got)
	}
}

// BenchmarkResult: building a tool's result from the client's answer (ours), and encoding the reply
// as mcp-go's transports do (mcp-go's: CallToolResult.MarshalJSON, then encoding/json re-scanning its
// output). Together they are what a call costs beyond the upstream call and the transport.
func BenchmarkResult(b *testing.B) {
	page := samplePage(20)
	for _, tc := range []struct {
		name  string
		build func() (*mcp.CallToolResult, error)
	}{
		{"list_keys_20", func() (*mcp.CallToolResult, error) {
			return listKeys.result(listKeysArgs{}, listKeysResult{Keys: page})
		}},
		{"get_key", func() (*mcp.CallToolResult, error) { return getKey.result(hashArgs{}, keyResult{Key: page[3]}) }},
	} {
		b.Run(tc.name+"/build", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.build(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/encode_mcp-go", func(b *testing.B) {
			res, err := tc.build()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				b.SetBytes(int64(len(encodeReply(b, res))))
			}
		})
	}
	// The yardstick: the same list_keys reply as plain Go types, encoded by encoding/json alone, with
	// no json.Marshaler on the way whose output it would re-scan.
	b.Run("list_keys_20/encode_plain_go", func(b *testing.B) {
		out := listKeysResult{Keys: page}
		text := listKeys.text(listKeysArgs{}, out)
		type content struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		type result struct {
			Content           []content      `json:"content"`
			StructuredContent listKeysResult `json:"structuredContent"`
		}
		type reply struct {
			JSONRPC string `json:"jsonrpc"`
			ID      int    `json:"id"`
			Result  result `json:"result"`
		}
		b.ReportAllocs()
		for b.Loop() {
			enc, err := json.Marshal(reply{"2.0", 1, result{[]content{{"text", text}}, out}})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
		}
	})
}

// The text block rounds float noise to a millionth of a dollar; structuredContent keeps it.
func TestTextRoundsFloatNoiseOnly(t *testing.T) {
	for in, want := range map[string]string{
		`{"total_usage":409.27325990199995,"remaining":90.72674}`: `{"total_usage":409.27326,"remaining":90.72674}`,
		`{"usage":-0.1234567,"n":[1,2.5,1e-7]}`:                   `{"usage":-0.123457,"n":[1,2.5,1e-7]}`,
		`{"name":"0.12345678 \"9.87654321\"","x":0.5}`:            `{"name":"0.12345678 \"9.87654321\"","x":0.5}`,
	} {
		if got := string(tidyNumbers([]byte(in))); got != want {
			t.Errorf("tidyNumbers(%s) = %s, want %s", in, got, want)
		}
	}
	res, err := getCredits.result(noArgs{}, creditsResult{Credits: openrouter.Credits{TotalCredits: 500, TotalUsage: 409.27325990199995}})
	if err != nil {
		t.Fatal(err)
	}
	if text := res.Content[0].(mcp.TextContent).Text; !strings.Contains(text, `"total_usage":409.27326,`) {
		t.Errorf("text: %s", text)
	}
	if sc, _ := json.Marshal(res.StructuredContent); !strings.Contains(string(sc), `"total_usage":409.27325990199995`) {
		t.Errorf("structured content not exact: %s", sc)
	}
}

// list_keys says one key in the singular, and what it leaves out, beside audit_keys' count of every key.
func TestListKeysTextSaysWhatItHides(t *testing.T) {
	one := listKeysResult{Keys: samplePage(1)}
	for _, tc := range []struct {
		in   listKeysArgs
		want string
	}{
		{listKeysArgs{}, "1 key; no more. Disabled and expired keys are left out"},
		{listKeysArgs{ListKeysParams: openrouter.ListKeysParams{IncludeDisabled: true}}, "1 key; no more. Expired keys are left out"},
		{listKeysArgs{ListKeysParams: openrouter.ListKeysParams{IncludeDisabled: true, IncludeExpired: true}}, "1 key; no more. Columns:"},
	} {
		if text := listKeys.text(tc.in, one); !strings.HasPrefix(text, tc.want) {
			t.Errorf("%+v: text starts %q, want %q", tc.in, text[:min(len(text), 90)], tc.want)
		}
	}
}
