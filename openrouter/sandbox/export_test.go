package sandbox

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
