package sandbox

// Workspaces exposes, to this package's tests only, the workspace ids of the
// account owning managementKey (default first). The API under emulation has
// no workspace endpoint, so tests cannot learn the second id otherwise.
func (s *Sandbox) Workspaces(managementKey string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.accountsByHash[hashSecret(managementKey)]
	if acct == nil {
		return nil
	}
	return append([]string(nil), acct.workspaces...)
}
