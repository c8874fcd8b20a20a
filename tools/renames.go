package tools

import (
	"sync"
	"time"
)

// renameWindow is how long a rename this server made is told in every question about the key: an
// agent that renames a key and then asks to delete it cannot hide the name the user knew.
const renameWindow = time.Hour

// maxRenames bounds the renames remembered; past it the oldest is forgotten first.
const maxRenames = 1024

// rename is a rename this server made.
type rename struct {
	from string    // the name before
	at   time.Time // when
}

// renames remembers, per key hash, the renames this process made within renameWindow. Other
// processes' renames (replicas, a restart) and renames made elsewhere are not known.
type renames struct {
	mu     sync.Mutex
	byHash map[string]rename
}

func newRenames() *renames { return &renames{byHash: map[string]rename{}} }

// record remembers that hash was renamed from from at at. A key renamed again within the window keeps
// its first entry: the name the user knew before the agent began renaming.
func (r *renames) record(hash, from string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forget(at)
	if _, ok := r.byHash[hash]; ok {
		return
	}
	if len(r.byHash) >= maxRenames {
		oldest := ""
		for h, e := range r.byHash {
			if oldest == "" || e.at.Before(r.byHash[oldest].at) {
				oldest = h
			}
		}
		delete(r.byHash, oldest)
	}
	r.byHash[hash] = rename{from: from, at: at}
}

// recent returns the rename of hash made within the window before now.
func (r *renames) recent(hash string, now time.Time) (rename, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byHash[hash]
	if !ok || now.Sub(e.at) > renameWindow {
		return rename{}, false
	}
	return e, true
}

// forget drops the renames older than the window.
func (r *renames) forget(now time.Time) {
	for h, e := range r.byHash {
		if now.Sub(e.at) > renameWindow {
			delete(r.byHash, h)
		}
	}
}
