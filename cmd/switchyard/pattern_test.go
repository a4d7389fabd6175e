package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPatternTestExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		event   string
		code    int
		stdout  string
		stderr  string
	}{
		{"match", `{"source":["app"]}`, `{"source":"app"}`, exitOK, "match\n", ""},
		{"no match", `{"source":["app"]}`, `{"source":"web"}`, exitFailure, "no match\n", ""},
		{"file", "@testdata/push-pattern.json",
			`{"type":"com.github.push","data":{"ref":"refs/heads/main"}}`, exitOK, "match\n", ""},
		{"invalid pattern", `{"source":"app"}`, `{}`, exitUsage, "", "invalid --pattern: source:"},
		{"pattern not JSON", `{"source"`, `{}`, exitUsage, "", "invalid --pattern: not valid JSON"},
		{"event not object", `{"source":["app"]}`, `[1]`, exitUsage, "", "invalid --event: invalid event"},
		{"number out of range", `{"n":[{"exists":true}]}`, `{"n":1e400}`, exitUsage, "",
			"invalid --event: invalid event: the number 1e400 at $.n is out of the range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cli{t: t}

			r := c.run("pattern", "test", "--pattern", tt.pattern, "--event", tt.event)
			r.wantCode(t, tt.code)

			if r.stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.stderr)
			}
		})
	}
}

func TestPatternTestJSON(t *testing.T) {
	c := cli{t: t}

	r := c.run("-o", "json", "pattern", "test", "--pattern", `{"a":[1]}`, "--event", `{"a":2}`)
	r.wantCode(t, exitFailure)

	if got, want := r.stdout, "{\n  \"match\": false\n}\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestPatternTestCases(t *testing.T) {
	lines := []string{
		`{"pattern": {"a": [1]}, "event": {"a": 1}}`,
		`{"pattern": {"a": [1]}, "event": {"a": 2}}`,
		``,
		`{"pattern": "{\"a\": [{\"prefix\": \"x\"}]}", "event": "{\"a\": \"xy\"}"}`,
		`not json`,
		`{"pattern": {"a": 1}, "event": {}}`,
		`{"pattern": {"a": [1]}}`,
		`{"pattern": {"a": [1]}, "event": [1]}`,
		`{"pattern": {"a": [1]}, "event": {"a": 1, "pad": "` + strings.Repeat("x", 200_000) + `"}}`,
	}
	want := []string{
		`{"match":true}`,
		`{"match":false}`,
		`error`,
		`{"match":true}`,
		`error`,
		`error`,
		`error`,
		`error`,
		`{"match":true}`,
	}

	file := filepath.Join(t.TempDir(), "cases.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c := cli{t: t}

	r := c.run("pattern", "test", "--cases", file)
	r.wantCode(t, exitOK)

	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), r.stdout)
	}
	for i := range want {
		if want[i] == "error" {
			checkErrorLine(t, i, got[i])
			continue
		}
		if got[i] != want[i] {
			t.Errorf("line %d = %s, want %s", i+1, got[i], want[i])
		}
	}
}

func checkErrorLine(t *testing.T, i int, line string) {
	t.Helper()
	var res map[string]any
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Errorf("line %d = %s, not JSON: %v", i+1, line, err)
		return
	}
	msg, ok := res["error"].(string)
	if !ok || msg == "" || len(res) != 1 {
		t.Errorf("line %d = %s, want only a non-empty error", i+1, line)
	}
}

func TestPatternTestCasesStdin(t *testing.T) {
	c := cli{t: t, stdin: `{"pattern":{"a":["b"]},"event":{"a":"b"}}` + "\n"}

	r := c.run("pattern", "test", "--cases", "-")
	r.wantCode(t, exitOK)
	if got, want := r.stdout, "{\"match\":true}\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestPatternTestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "needs --pattern and --event, or --cases"},
		{"cases with pattern", []string{"--cases", "x", "--pattern", "{}"}, "use --cases alone"},
		{"missing cases file", []string{"--cases", "/nonexistent/cases"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cli{t: t}
			r := c.run(append([]string{"pattern", "test"}, tt.args...)...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
		})
	}
}

// FuzzTestCase checks that every line of --cases gets exactly one result:
// a match result or an error, never both and never a panic.
func FuzzTestCase(f *testing.F) {
	f.Add([]byte(`{"pattern": {"a": [1]}, "event": {"a": 1}}`))
	f.Add([]byte(`{"pattern": "{\"a\": [1]}", "event": "{}"}`))
	f.Add([]byte(`{"pattern": {"$or": [{"a": [1]}, {"b": [{"exists": false}]}]}, "event": {"b": []}}`))
	f.Add([]byte(`{"pattern": "", "event": ""}`))
	f.Add([]byte(`{"pattern": 1, "event": null}`))
	f.Add([]byte(`[]`))

	f.Fuzz(func(t *testing.T, line []byte) {
		res := testCase(line)
		if (res.Match == nil) == (res.Error == "") {
			t.Errorf("testCase(%q) = %+v, want either a match result or an error", line, res)
		}
	})
}
