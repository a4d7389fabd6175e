package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// protoJSON writes API objects with their proto field names. Default
// values and empty lists are written too, so scripts find every key.
var protoJSON = protojson.MarshalOptions{
	UseProtoNames:     true,
	EmitDefaultValues: true,
}

func (a *app) jsonOutput() bool { return a.output == "json" }

// printProto writes m as one indented JSON document. It indents with
// encoding/json because protojson varies its whitespace on purpose, and
// stable output is easier to read and to compare.
func (a *app) printProto(m proto.Message) error {
	data, err := protoJSON.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}

	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	buf.WriteByte('\n')
	_, err = a.out.Write(buf.Bytes())
	return err
}

// printJSON writes v as one JSON document.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; flush writes them out.
type table struct{ w *tabwriter.Writer }

func newTable(out io.Writer) table {
	return table{tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)}
}

// row writes one line of cells. Each cell is escaped to one line, so
// stored data cannot start a row or a column of its own.
func (t table) row(cells ...string) {
	escaped := make([]string, len(cells))
	for i, cell := range cells {
		escaped[i] = escapeText(cell, false)
	}
	fmt.Fprintln(t.w, strings.Join(escaped, "\t"))
}

// field writes one "name: value" line of a detail view, with name and
// value escaped to one line.
func (t table) field(name, value string) {
	fmt.Fprintf(t.w, "%s:\t%s\n", escapeText(name, false), escapeText(value, false))
}

func (t table) flush() error { return t.w.Flush() }

// enumText turns an enum value name such as CONNECTION_STATE_AUTHORIZED
// into "authorized".
func enumText(name, prefix string) string {
	s := strings.TrimPrefix(name, prefix)
	if s == "UNSPECIFIED" {
		return "-"
	}
	return strings.ToLower(s)
}

func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return "-"
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

func formatDuration(d *durationpb.Duration) string {
	if d == nil {
		return "-"
	}
	return d.AsDuration().String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// setText shows whether a write-only secret is stored, never its value.
func setText(set bool) string {
	if set {
		return "(set)"
	}
	return "(not set)"
}

func itoa[T ~int32 | ~int64](n T) string {
	return strconv.FormatInt(int64(n), 10)
}

// plural returns n and noun, with an s for any count but one.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
