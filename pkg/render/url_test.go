package render

import "testing"

func TestFillURL(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		values []string
		want   string
	}{
		{"no wildcard", "https://h/job/x/build", nil, "https://h/job/x/build"},
		{"one", "https://h/job/*/build", []string{"app"}, "https://h/job/app/build"},
		{"folder", "https://h/job/*/job/*/build", []string{"team", "app"},
			"https://h/job/team/job/app/build"},
		{"escaped value", "https://h/job/*/build", []string{"a b/c?d"},
			"https://h/job/a%20b%2Fc%3Fd/build"},
		{"keeps query", "https://h/*?x=1", []string{"v"}, "https://h/v?x=1"},
		{"star inside a segment stays", "https://h/a*b/*", []string{"v"}, "https://h/a*b/v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := FillURL(tt.raw, tt.values)
			if err != nil {
				t.Fatalf("FillURL(%q, %q) = %v", tt.raw, tt.values, err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("FillURL(%q, %q) = %q, want %q", tt.raw, tt.values, got, tt.want)
			}
		})
	}
}

func TestFillURLCountMismatch(t *testing.T) {
	for _, values := range [][]string{nil, {"a", "b"}} {
		if _, err := FillURL("https://h/job/*/build", values); err == nil {
			t.Errorf("FillURL with %d values for one * = nil error, want an error", len(values))
		}
	}
}

func TestFillURLRejectsUnsafeValues(t *testing.T) {
	for _, v := range []string{"", ".", ".."} {
		if _, err := FillURL("https://h/job/*/build", []string{v}); err == nil {
			t.Errorf("FillURL with path value %q = nil error, want an error", v)
		}
	}
	u, err := FillURL("https://h/job/*/build", []string{"..x"})
	if err != nil {
		t.Fatalf("FillURL with path value ..x = %v, want it accepted", err)
	}
	if got := u.String(); got != "https://h/job/..x/build" {
		t.Errorf("FillURL = %q, want https://h/job/..x/build", got)
	}
}
