package views

import (
	"regexp"
	"strings"
	"testing"
)

// Each view is one self-contained page: its shared parts inlined, under 60 KB, naming nothing it
// could load, and putting no value into the page as markup.
func TestViewsAreSelfContained(t *testing.T) {
	loads := regexp.MustCompile(`(?i)<link|<img|<iframe|src=|url\(|@import|fetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)
	for _, v := range All() {
		if len(v.HTML) >= 60<<10 {
			t.Errorf("%s is %d bytes, over 60 KB", v.URI, len(v.HTML))
		}
		t.Logf("%s: %d bytes", v.URI, len(v.HTML))
		if strings.Contains(v.HTML, "@common.") || strings.Contains(v.HTML, "@head") || !strings.Contains(v.HTML, "const app = ") || !strings.Contains(v.HTML, "--color-background-primary") {
			t.Errorf("%s: the shared script and style are not inlined", v.URI)
		}
		if m := loads.FindString(v.HTML); m != "" {
			t.Errorf("%s holds %q: a view loads nothing and builds its DOM from text nodes", v.URI, m)
		}
		// The one URL allowed is the SVG namespace, which is a name, not a request.
		if n := strings.Count(v.HTML, "http://") + strings.Count(v.HTML, "https://"); n != strings.Count(v.HTML, "http://www.w3.org/2000/svg") {
			t.Errorf("%s names a URL", v.URI)
		}
		if !strings.HasPrefix(v.URI, "ui://") || len(v.Tools) == 0 {
			t.Errorf("%+v: a view is a ui:// resource of at least one tool", v)
		}
	}
}
