// Package tools declares the MCP tools of openrouter-keys-mcp. Each tool lives in its own file as a
// declaration (name, description for the model, input and output types, annotation hints) and a
// handler of a few lines that calls the OpenRouter client. The mechanics they share (schema
// derivation, argument validation, confirmation, audit, result building, error mapping) are in this
// file and its neighbours, written once. The package knows nothing of transports or of where the API
// key came from.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/orkeys/openrouter-keys-mcp/openrouter"
)

// Options set how the tools behave beyond calling OpenRouter. The zero value confirms destructive
// calls when the client can ask its user, returns new secrets inline, audits nothing and bounds
// nothing.
type Options struct {
	Confirm     ConfirmMode   // whether destructive calls ask the user first
	ConfirmWait time.Duration // how long a user asked within the call is waited for; 0: two minutes
	SecretDir   string        // when set, create_key writes new secrets here instead of returning them
	Audit       *AuditLog     // when set, every mutating call is recorded here, before and after
	Policy      Policy        // what the agent may do with keys, whatever it asks
	CallTimeout time.Duration // how long one call may spend on OpenRouter, retries and all pages included; 0: 20 s
	// ConfirmSecret, shared by replicas behind one address, signs confirmation states so that the
	// answer may reach another replica than the question; nil: a random key of this process.
	ConfirmSecret []byte
	// Secret, when set, tells of more values that are secrets (the server's access token): they are
	// refused in arguments, without being repeated, as keys are.
	Secret func(string) bool
	// Principal, when set, names whom a call acts for (a signed-in person, a credential's digest): it
	// is bound into confirmation states, so that one person cannot answer another's question.
	Principal func(context.Context) string
	// OnConfirm, when set, is told of each question a tool puts to the user and of each answer it
	// reads, by the tool's name (metrics). A call asks at most once (apply_plan once per plan).
	OnConfirm func(tool string, step ConfirmStep)
	// OnPolicyRefusal, when set, is told of each call that the server's policy (--max-limit,
	// --managed-prefix, --guardrail, ...) refused, by the tool's name (metrics).
	OnPolicyRefusal func(tool string)
}

// principal names whom the call of ctx acts for; "" when the server was not told.
func (o Options) principal(ctx context.Context) string {
	if o.Principal == nil {
		return ""
	}
	return o.Principal(ctx)
}

// isSecret reports whether s is a key or another secret the server was told of.
func (o Options) isSecret(s string) bool {
	return openrouter.LooksLikeSecret(s) || (o.Secret != nil && o.Secret(s))
}

// defaultCallTimeout bounds the OpenRouter side of one tool call: the client's retry budget is per
// request, and a call may make several (pages, a lookup and a change).
const defaultCallTimeout = 20 * time.Second

// callTimeout is the bound on one call's work with OpenRouter.
func (o Options) callTimeout() time.Duration {
	if o.CallTimeout > 0 {
		return o.CallTimeout
	}
	return defaultCallTimeout
}

// deps is what a tool's call needs besides its arguments.
type deps struct {
	client  *openrouter.Client
	opts    Options
	confirm *confirmer
	renames *renames  // the renames this server made, told in questions about the key
	plans   *planRuns // what this process did of each cleanup plan
}

// spec declares one tool. In is the argument type, mirroring the OpenAPI request body or query; Out is
// the structuredContent.
type spec[In, Out any] struct {
	name        string
	title       string
	description string
	// hints must state all four annotation hints; a test fails for a tool that leaves one out.
	hints mcp.ToolAnnotation
	// constrainInput adds what struct tags cannot carry: enums, minimums, patterns.
	constrainInput func(*jsonschema.Schema)
	// constrainOutput tightens the inferred output schema where the Go type says less than we know.
	constrainOutput func(*jsonschema.Schema)
	// refuse finds problems with the arguments that the schema cannot express; nil when none can occur.
	refuse func(in In) error
	// admit holds the arguments to the server's policy, and may fill in what the policy sets (a new
	// key's expiry); nil for tools the policy does not bound.
	admit func(p Policy, in *In, now time.Time) error
	// admitTarget holds the key as the call would leave it to the policy's cap, once it has been
	// looked up: what the arguments alone cannot tell (re-enabling a key whose limit is above the cap);
	// nil for tools whose arguments say all (admit).
	admitTarget func(p Policy, in In, k *openrouter.Key) error
	// call does the work with the client.
	call func(ctx context.Context, d *deps, in In) (Out, error)
	// callOn, set instead of call, does the work on the key the call names as it is now: the key is
	// looked up once, before the call, and handed over.
	callOn func(ctx context.Context, d *deps, in In, target *openrouter.Key) (Out, error)
	// lookUp, for a tool that acts on several keys (apply_plan), reads them before the question is
	// asked and holds them to the policy, keeping what it read in the input for the call; nil for
	// the others. Its question is then about all of them, with no one target.
	lookUp func(ctx context.Context, d *deps, in *In) error
	// summary is the first line of the text block, for clients that read only text; the result's JSON
	// follows it.
	summary func(in In, out Out) string
	// text, when set, is the whole text block instead of the summary and the JSON: for results too big
	// to say twice.
	text func(in In, out Out) string
	// failed adds tool-specific advice to an error message; nil for none.
	failed func(in In, err error) string
	// subject names the key a call acts on, for confirmation and the audit log: the hash of an existing
	// key (looked up once, before the call), or the name of a new one; nil for tools that only read.
	subject func(in In) (hash, name string)
	// confirm, when set, is asked before the call: the user must agree when it says so.
	confirm *confirmation[In, Out]
	// items and window, set for a tool whose result holds a big collection (In then embeds pageArgs),
	// let the pipeline page it (sizing.go): items is the collection's length; window is the result
	// with only items [from, to) of it, and next as its next_cursor.
	items  func(out Out) int
	window func(in In, out Out, from, to int, next *string) Out
}

// hint returns a pointer for an annotation hint.
func hint(b bool) *bool { return &b }

func (s spec[In, Out]) toolName() string { return s.name }

func (s spec[In, Out]) annotations() mcp.ToolAnnotation { return s.hints }

// encodeSchemas derives, resolves and encodes the tool's input and output schemas (for pregenerated).
func (s spec[In, Out]) encodeSchemas() (in, out json.RawMessage, err error) {
	inSchema, err := deriveInput[In](s.constrainInput)
	if err == nil {
		in, err = encodeSchema(inSchema)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tool %s: input schema: %w", s.name, err)
	}
	outSchema, err := deriveOutput[Out](s.constrainOutput)
	if err == nil {
		out, err = encodeSchema(outSchema)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tool %s: output schema: %w", s.name, err)
	}
	return in, out, nil
}

// validator derives the tool's input schema and builds the validator of its arguments.
func (s spec[In, Out]) validator(secret func(string) bool) (*argValidator, error) {
	in, err := deriveInput[In](s.constrainInput)
	var v *argValidator
	if err == nil {
		v, err = newArgValidator(in, secret)
	}
	if err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", s.name, err)
	}
	return v, nil
}

// build takes the encoded schemas made ahead (pregenerated, or makes them when there are none), and
// returns the tool ready to register.
func (s spec[In, Out]) build(d *deps) (server.ServerTool, error) {
	// The argument validator is built on the tool's first call, not here: deriving the input schema
	// and compiling its patterns was half the work of building the tools, on the way to a stdio
	// server's first reply. TestEveryArgValidatorBuilds builds each one, so a schema the validator
	// cannot enforce fails the tests, never a call.
	validator := sync.OnceValues(func() (*argValidator, error) { return s.validator(d.opts.isSecret) })
	rawIn, rawOut := json.RawMessage(pregenerated[s.name].in), json.RawMessage(pregenerated[s.name].out)
	if len(rawIn) == 0 || len(rawOut) == 0 {
		var err error
		if rawIn, rawOut, err = s.encodeSchemas(); err != nil {
			return server.ServerTool{}, err
		}
	}
	annotations := s.hints
	annotations.Title = s.title
	description := s.description
	if policy := d.opts.Policy.String(); policy != "" && s.mutating() {
		// The model reads the bounds where it decides how to call the tool.
		description += " " + policy
	}
	tool := mcp.Tool{
		Name:            s.name,
		Title:           s.title,
		Description:     description,
		RawInputSchema:  rawIn,
		RawOutputSchema: rawOut,
		Annotations:     annotations,
	}
	handler := func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return s.handle(ctx, d, validator, req)
	}
	return server.ServerTool{Tool: tool, Handler: handler}, nil
}

// handle runs one call of the tool. Every call of every tool takes these steps, in this order, and
// no others: the one place to read what a tool call does.
func (s spec[In, Out]) handle(ctx context.Context, d *deps, validator func() (*argValidator, error), req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	ctx = withProgress(ctx, req)
	v, broken := validator()
	if broken != nil {
		return nil, broken
	}

	// 1. Decode and validate the arguments; a problem is told without repeating any value. A null
	// argument is one not given: never "clear this".
	raw, args, problem := decodeArguments(req.Params)
	if problem == "" {
		raw, args, problem = dropNulls(raw, args)
	}
	if problem == "" {
		problem = v.validate(args)
	}
	if problem != "" {
		return mcp.NewToolResultError(problem), nil
	}
	var input In
	if err := json.Unmarshal(raw, &input); err != nil {
		// The validator accepted what the type cannot hold: a bug, reported without the value.
		return mcp.NewToolResultError("Invalid arguments, nothing was sent to OpenRouter: they do not fit the tool's input type."), nil
	}

	// 2. Refuse what the schema cannot express: a cursor of other arguments, and the tool's own checks.
	var page window
	if s.window != nil {
		var err error
		if page, _, err = windowOf(s.name, input, args); err != nil {
			return s.failure(d, input, err), nil
		}
	}
	if s.refuse != nil {
		if err := s.refuse(input); err != nil {
			return s.failure(d, input, err), nil
		}
	}

	// 3. Hold the arguments to the server's policy.
	if s.admit != nil {
		if err := s.admit(d.opts.Policy, &input, time.Now()); err != nil {
			return s.failure(d, input, err), nil
		}
	}

	// From here the call works with OpenRouter, within one deadline for all its requests: the time a
	// user takes to answer a question is not counted.
	work := startDeadline(ctx, d.opts.callTimeout())
	defer work.stop()

	// 4. Look up the key the call acts on, once, when the policy, the question or the audit record
	// must know it (or, for a tool acting on several, every one of them); the policy decides whether
	// this server may change it.
	var hash, name string
	if s.subject != nil {
		hash, name = s.subject(input)
	}
	mayAsk := s.confirm != nil && d.opts.Confirm == ConfirmAuto && clientCanElicit(ctx)
	auditing := d.opts.Audit != nil && s.mutating()
	capped := s.admitTarget != nil && d.opts.Policy.MaxLimit != nil
	policed := (d.opts.Policy.ManagedPrefix != "" || capped) && s.mutating()
	var target *openrouter.Key
	if hash != "" && (mayAsk || auditing || policed || s.callOn != nil) {
		k, err := d.client.GetKey(work.ctx, hash)
		if err != nil {
			return s.failure(d, input, work.overTime(err)), nil
		}
		target, name = k, k.Name
		if policed {
			err := d.opts.Policy.checkTarget(k)
			if err == nil && capped {
				err = s.admitTarget(d.opts.Policy, input, k)
			}
			if err != nil {
				return s.failure(d, input, err), nil
			}
		}
	}
	if s.lookUp != nil {
		if err := s.lookUp(work.ctx, d, &input); err != nil {
			return s.failure(d, input, work.overTime(err)), nil
		}
	}
	// Whether a call stops or moves a key depends on the key as it is, so it is decided on it.
	asking := mayAsk && (target != nil || s.lookUp != nil) && s.confirm.when(target, input)

	// 5. Ask the user, when this call needs their agreement and their client can ask. An answer
	// counts once, for these arguments and the key as it was when asked.
	if asking {
		// The arguments are bound in one spelling (json.Marshal sorts a map's keys), so that a client
		// which sends them again in another order or spacing is still recognised.
		canonical, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("encode arguments: %w", err)
		}
		// A question about several keys names them itself; their states are bound where they were read.
		q := question{tool: s.name, who: d.opts.principal(ctx), args: canonical}
		message := s.confirm.message(target, input)
		if target != nil {
			q.key, message = keyState(target), message+" "+d.facts(target, time.Now())
		}
		q.message = showable(message)
		switch answer, ask := d.confirm.ask(ctx, req, q); answer {
		case unanswered:
			return ask, nil
		case declined:
			d.opts.Audit.declined(ctx, s.name, hash, name)
			return s.result(input, s.confirm.declined(target, input))
		case unheard:
			return mcp.NewToolResultError(d.confirm.unheardMessage()), nil
		case accepted:
			work.restart()
		default:
			return mcp.NewToolResultError(refusals[answer]), nil
		}
	}

	// 6. Record the attempt; a change that cannot be recorded is not made.
	var record *auditRecord
	if auditing {
		var err error
		if record, err = d.opts.Audit.attempt(ctx, s.name, hash, name); err != nil {
			return mcp.NewToolResultError(auditRefusal(err)), nil
		}
	}

	// 7. Call OpenRouter.
	var output Out
	var err error
	if s.callOn != nil {
		output, err = s.callOn(work.ctx, d, input, target)
	} else {
		output, err = s.call(work.ctx, d, input)
	}
	err = work.overTime(err)

	// 8. Record the outcome, naming the key as it is afterwards: a new key's hash, a renamed key's
	// name, a rotated key's successor.
	if auditing {
		outcome := auditOutcome{hash: hash, name: name, err: err}
		if err == nil {
			outcome.from(output)
		}
		d.opts.Audit.outcome(ctx, record, outcome)
	}

	// 9. The result: structuredContent and a text block, sized for a model's context, or an error
	// result that says what to do.
	if err != nil {
		return s.failure(d, input, err), nil
	}
	if s.window != nil {
		return s.fit(input, output, page)
	}
	return s.result(input, output)
}

// deadline bounds a call's work with OpenRouter.
type deadline struct {
	parent context.Context
	limit  time.Duration
	ctx    context.Context // the context of the work, ended at the deadline
	cancel context.CancelFunc
}

func startDeadline(parent context.Context, limit time.Duration) *deadline {
	d := &deadline{parent: parent, limit: limit}
	d.ctx, d.cancel = context.WithTimeout(parent, limit)
	return d
}

// restart gives the work its whole time again, after waiting for a person.
func (d *deadline) restart() {
	d.cancel()
	d.ctx, d.cancel = context.WithTimeout(d.parent, d.limit)
}

func (d *deadline) stop() { d.cancel() }

// overTime marks err as the deadline passing, when it did: the client's own error then says less
// than that the whole call ran out of time.
func (d *deadline) overTime(err error) error {
	if err == nil || !errors.Is(d.ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return deadlineError{limit: d.limit, err: errors.Join(context.DeadlineExceeded, err)}
}

// mutating reports whether the tool may change keys: whatever does not declare itself read-only.
func (s spec[In, Out]) mutating() bool { return s.hints.ReadOnlyHint == nil || !*s.hints.ReadOnlyHint }

// result builds a successful result; the output is encoded once. A tool with a text function (a
// result too big to say twice) hands mcp-go the output itself as structuredContent, to be encoded
// straight into the reply. Otherwise the output is encoded here, and the same bytes serve as
// structuredContent and, after the summary line, as the text block for clients that read only text.
// (mcp-go re-scans every json.Marshaler's output, json.RawMessage included, once more for each level
// that holds it: for a page of keys that costs more than encoding it; see BENCHMARKS.md.)
func (s spec[In, Out]) result(input In, output Out) (*mcp.CallToolResult, error) {
	showUntrusted(&output) // text from OpenRouter, before anything is rendered from it (untrusted.go)
	if s.text != nil {
		return &mcp.CallToolResult{
			Content:           []mcp.Content{mcp.NewTextContent(s.text(input, output))},
			StructuredContent: output,
		}, nil
	}
	b, err := json.Marshal(output)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{mcp.NewTextContent(s.summary(input, output) + "\n" + string(tidyNumbers(b)))},
		StructuredContent: json.RawMessage(b),
	}, nil
}

// failure is the error result for a failed call.
func (s spec[In, Out]) failure(d *deps, input In, err error) *mcp.CallToolResult {
	if d.opts.OnPolicyRefusal != nil && errors.As(err, new(policyRefusal)) {
		d.opts.OnPolicyRefusal(s.name)
	}
	msg := explain(err)
	if s.failed != nil {
		if advice := s.failed(input, err); advice != "" {
			msg += " " + advice
		}
	}
	return mcp.NewToolResultError(showable(msg)) // it may quote OpenRouter's text (untrusted.go)
}

// decodeArguments turns the call's arguments into JSON bytes and a generic object; absent arguments
// are an empty object. Arguments that came over the wire are already both: mcp-go decoded the object
// from the bytes it kept, so they are used as they are.
func decodeArguments(p mcp.CallToolParams) (json.RawMessage, map[string]any, string) {
	if p.Arguments == nil {
		return json.RawMessage("{}"), map[string]any{}, ""
	}
	if args, ok := p.Arguments.(map[string]any); ok && args != nil && len(p.RawArguments) > 0 {
		return p.RawArguments, args, ""
	}
	raw, err := json.Marshal(p.Arguments)
	if err != nil {
		return nil, nil, "Invalid arguments, nothing was sent to OpenRouter: they are not valid JSON."
	}
	var args map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&args); err != nil || args == nil {
		return nil, nil, "Invalid arguments, nothing was sent to OpenRouter: arguments must be a JSON object."
	}
	return raw, args, ""
}

// dropNulls leaves out the arguments whose value is null: hosts in strict tool modes make every
// optional argument nullable, and models then send null for what they mean to leave alone.
func dropNulls(raw json.RawMessage, args map[string]any) (json.RawMessage, map[string]any, string) {
	nulls := 0
	for _, v := range args {
		if v == nil {
			nulls++
		}
	}
	if nulls == 0 {
		return raw, args, ""
	}
	kept := maps.Clone(args)
	maps.DeleteFunc(kept, func(_ string, v any) bool { return v == nil })
	b, err := json.Marshal(kept)
	if err != nil {
		return nil, nil, "Invalid arguments, nothing was sent to OpenRouter: they are not valid JSON."
	}
	return b, kept, ""
}
