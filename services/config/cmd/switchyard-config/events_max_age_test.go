package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlagsEventsMaxAge(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    time.Duration
		wantErr string
	}{
		{"default", nil, 7 * 24 * time.Hour, ""},
		{"three days", []string{"--events-max-age", "72h"}, 72 * time.Hour, ""},
		{"at the minimum", []string{"--events-max-age", "2m"}, 2 * time.Minute, ""},
		{"below the minimum", []string{"--events-max-age", "1m"}, 0, "at least 2m0s"},
		{"negative", []string{"--events-max-age", "-1h"}, 0, "at least 2m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%q) error = %v, want one containing %q",
						tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			if o.eventsMaxAge != tt.want {
				t.Errorf("events max age = %s, want %s", o.eventsMaxAge, tt.want)
			}
		})
	}
}
