package config

import (
	"testing"
)

func FuzzCheckHTTPURL(f *testing.F) {
	for _, seed := range []string{
		"https://example.com/hook", "http://h/job/*/build", "ftp://x/", "https://u:p@h/",
		"//h/path", "http://[::1]:80/", "http://%41/", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := checkHTTPURL("url", "the URL", raw)
		if err != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Errorf("checkHTTPURL(%q) accepted scheme %q", raw, u.Scheme)
		}
		if u.Hostname() == "" || u.User != nil {
			t.Errorf("checkHTTPURL(%q) accepted host %q, user %v", raw, u.Hostname(), u.User)
		}
	})
}
