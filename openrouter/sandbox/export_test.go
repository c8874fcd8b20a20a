package sandbox

import "crypto/rand"

// Workspaces exposes, to this package's tests only, the workspace ids of the
// account owning managementKey (default first), without a round trip to
// GET /workspaces.
func (s *Sandbox) Workspaces(managementKey string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.accountsByHash[hashSecret(managementKey)]
	if acct == nil {
		return nil
	}
	ids := make([]string, len(acct.workspaces))
	for i, w := range acct.workspaces {
		ids[i] = w.id
	}
	return ids
}

// AddGuardrail gives the account owning managementKey a guardrail in its
// default workspace, with a monthly budget of limitUSD, and returns its id.
// OpenRouter creates guardrails with POST /guardrails, which the sandbox
// does not serve; tests of assignment need a second assignable one.
func (s *Sandbox) AddGuardrail(managementKey, name string, limitUSD float64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.accountsByHash[hashSecret(managementKey)]
	g := &guardrail{id: newUUID(rand.Reader), name: name, workspaceID: ptrTo(acct.defaultWorkspace), limitUSD: &limitUSD,
		resetInterval: ptrTo("monthly"), createdAt: s.clock()}
	acct.guardrails = append(acct.guardrails, g)
	return g.id
}
