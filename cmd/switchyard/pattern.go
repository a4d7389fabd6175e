package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/pkg/cloudevent"
	"github.com/switchyard-dev/switchyard/pkg/pattern"
)

const patternTestLong = `Test an event pattern against an event locally, without a server.

With --pattern and --event, print "match" and exit 0, or print "no match"
and exit 1. An invalid pattern or event prints the error and exits 2.

With --cases FILE ("-" for standard input), read one JSON object per line,
{"pattern": {...}, "event": {...}}, and print one JSON line per input line,
in order: {"match": true}, {"match": false} or {"error": "..."}. The
pattern and event may also be given as JSON strings holding the JSON text.
The exit status is 0 once every line has its result, and 2 when FILE cannot
be read.`

type patternTestFlags struct {
	pattern string
	event   string
	cases   string
}

func newPatternCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("pattern", "Test event patterns locally")
	cmd.AddCommand(newPatternTestCommand(a))
	return cmd
}

func newPatternTestCommand(a *app) *cobra.Command {
	f := &patternTestFlags{}
	cmd := &cobra.Command{
		Use:   "test --pattern JSON|@FILE --event JSON|@FILE | --cases FILE",
		Short: "Report whether an event matches a pattern",
		Long:  patternTestLong,
		Example: `  switchyard pattern test --pattern '{"source":["app"]}' --event @event.json
  switchyard pattern test --cases cases.jsonl`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			if fs.Changed("cases") {
				if fs.Changed("pattern") || fs.Changed("event") {
					return usagef("use --cases alone, or --pattern with --event")
				}
				return a.testCases(f.cases)
			}
			if !fs.Changed("pattern") || !fs.Changed("event") {
				return usagef("pattern test needs --pattern and --event, or --cases")
			}
			return a.testPattern(f)
		},
	}

	fs := cmd.Flags()
	fs.StringVar(&f.pattern, "pattern", "",
		"event pattern: JSON text, @FILE, or @- for standard input")
	fs.StringVar(&f.event, "event", "", "event: JSON text, @FILE, or @- for standard input")
	fs.StringVar(&f.cases, "cases", "",
		`file of JSON lines {"pattern": ..., "event": ...}; - for standard input`)
	return cmd
}

func (a *app) testPattern(f *patternTestFlags) error {
	src, err := a.readJSON("pattern", f.pattern)
	if err != nil {
		return err
	}
	event, err := a.readJSON("event", f.event)
	if err != nil {
		return err
	}

	match, err := matchEvent(src, event)
	if errors.Is(err, pattern.ErrInvalidEvent) {
		return usagef("invalid %s: %v", describeSource("event", f.event), err)
	}
	if err != nil {
		return usagef("invalid %s: %v", describeSource("pattern", f.pattern), err)
	}

	if err := a.printMatch(match); err != nil {
		return err
	}
	if !match {
		return exitCode(exitFailure)
	}
	return nil
}

func (a *app) printMatch(match bool) error {
	if a.jsonOutput() {
		return a.printJSON(caseResult{Match: &match})
	}
	text := "match"
	if !match {
		text = "no match"
	}
	_, err := fmt.Fprintln(a.out, text)
	return err
}

// caseResult is the result of one line of --cases.
type caseResult struct {
	Match *bool  `json:"match,omitempty"`
	Error string `json:"error,omitempty"`
}

// testCases writes one JSON result line for each line of the file name,
// or of standard input for "-". Lines are read whole, whatever their length.
func (a *app) testCases(name string) error {
	in, closeInput, err := a.openCases(name)
	if err != nil {
		return err
	}
	defer closeInput()

	r := bufio.NewReader(in)
	w := bufio.NewWriter(a.out)
	enc := json.NewEncoder(w)
	for {
		line, readErr := r.ReadBytes('\n')
		if len(line) > 0 {
			if err := enc.Encode(testCase(line)); err != nil {
				return err
			}
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			return fmt.Errorf("--cases: read %s: %w", name, readErr)
		}
	}
	return w.Flush()
}

func (a *app) openCases(name string) (io.Reader, func(), error) {
	if name == "-" {
		if a.stdinRead {
			return nil, nil, usagef("--cases: standard input is already read by another flag")
		}
		a.stdinRead = true
		return a.in, func() {}, nil
	}

	file, err := os.Open(name)
	if err != nil {
		return nil, nil, usagef("--cases: %v", err)
	}
	return file, func() { file.Close() }, nil
}

// testCase evaluates one line of --cases.
func testCase(line []byte) caseResult {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return caseResult{Error: "empty line; want {\"pattern\": ..., \"event\": ...}"}
	}

	var c struct {
		Pattern json.RawMessage `json:"pattern"`
		Event   json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(line, &c); err != nil {
		return caseResult{Error: "invalid case: " + err.Error()}
	}
	if c.Pattern == nil || c.Event == nil {
		return caseResult{Error: "invalid case: want both \"pattern\" and \"event\""}
	}

	match, err := matchEvent(jsonText(c.Pattern), jsonText(c.Event))
	if err != nil {
		return caseResult{Error: err.Error()}
	}
	return caseResult{Match: &match}
}

// matchEvent matches event against the pattern src. An event with a
// number that a 64-bit float cannot hold is invalid, because ingest
// rejects it and so no rule ever matches it.
func matchEvent(src, event []byte) (bool, error) {
	if e := cloudevent.CheckNumbers(event, "$"); e != nil {
		return false, fmt.Errorf("%w: %s", pattern.ErrInvalidEvent, e.Message)
	}
	return pattern.Matches(src, event)
}

// jsonText returns the JSON text that raw contains as a string, or raw
// itself when it is not a string.
func jsonText(raw json.RawMessage) []byte {
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return raw
}
