package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Sections of the benchmarks page that the report fills, in page order.
// Other sections, such as Matcher and Delivery, belong to other tools
// and are left as they are.
var sections = []struct {
	title  string
	marker string
	render func(*Report) string
}{
	{"Ingest", "ingest", renderIngest},
	{"Pipeline", "pipeline", renderPipeline},
	{"Latency", "latency", renderLatency},
	{"Isolation", "isolation", renderIsolation},
	{"JetStream limit", "limit", renderLimit},
}

// WriteMarkdown puts the report's figures into the benchmarks page at
// path. In each of its sections it replaces only the text between the
// section's begin and end comments, so notes written around the figures
// stay. A missing section is added at the end of the page.
func WriteMarkdown(path string, rep *Report) error {
	page, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		page = []byte("# Benchmarks\n\nFigures measured with `make bench` on one machine.\n")
	} else if err != nil {
		return err
	}

	text := string(page)
	for _, s := range sections {
		// A phase that did not run leaves its section as it was, with
		// the figures and date of the run that measured them.
		if !slices.Contains(rep.Phases, s.marker) {
			continue
		}
		text = replaceSection(text, s.title, s.marker, s.render(rep))
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// replaceSection replaces the generated block of one section, or adds
// the section with the block.
func replaceSection(page, title, marker, body string) string {
	begin := "<!-- bench:" + marker + ":begin -->"
	end := "<!-- bench:" + marker + ":end -->"
	block := begin + "\n" + body + end

	i := strings.Index(page, begin)
	j := strings.Index(page, end)
	if i >= 0 && j > i {
		return page[:i] + block + page[j+len(end):]
	}
	return strings.TrimRight(page, "\n") + "\n\n## " + title + "\n\n" + block + "\n"
}

// measuredOn is the first line of every generated block.
func measuredOn(rep *Report) string {
	m := rep.Machine
	cpu := fmt.Sprintf("%d CPUs", m.CPUs)
	if m.CPUModel != "" {
		cpu += " (" + m.CPUModel + ")"
	}
	line := fmt.Sprintf("Measured %s by `make bench` (`switchyard bench`) on %s, %s/%s, %s.",
		rep.Time.Format("2006-01-02 15:04 MST"), cpu, m.OS, m.Arch, m.GoVersion)
	var loads []string
	for _, run := range rep.Runs {
		if run.LoadBefore != "" {
			loads = append(loads, fmt.Sprintf("%s %s to %s", run.Name(), run.LoadBefore, run.LoadAfter))
		}
	}
	if len(loads) > 0 {
		line += " Load average (1, 5, 15 min) from start to end of each run: " +
			strings.Join(loads, "; ") + "."
	}
	return line + "\n"
}

// table renders a Markdown table.
func table(head []string, rows [][]string) string {
	var b bytes.Buffer
	b.WriteString("| " + strings.Join(head, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(head)) + "\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// runRows calls rows for every run that measured something, and adds a
// line for each run that did not start or failed in the phase. Each row
// starts with the run's name.
func runRows(rep *Report, phase string, rows func(*RunResult) [][]string) ([][]string, string) {
	var out [][]string
	var notes strings.Builder
	for _, run := range rep.Runs {
		switch {
		case run.Errors["start"] != "":
			fmt.Fprintf(&notes, "- %s: did not start: %s\n", run.Name(), firstLine(run.Errors["start"]))
			continue
		case run.Errors[phase] != "":
			fmt.Fprintf(&notes, "- %s: failed: %s\n", run.Name(), firstLine(run.Errors[phase]))
		}
		for _, r := range rows(run) {
			out = append(out, append([]string{run.Name()}, r...))
		}
	}
	return out, notes.String()
}

// oneRow adapts a function that returns one row, or nil, to runRows.
func oneRow(row func(*RunResult) []string) func(*RunResult) [][]string {
	return func(run *RunResult) [][]string {
		if r := row(run); r != nil {
			return [][]string{r}
		}
		return nil
	}
}

// targetLines lists the target checks with the given names.
func targetLines(rep *Report, names ...string) string {
	var b strings.Builder
	for _, t := range rep.Targets {
		if !slices.Contains(names, t.Name) {
			continue
		}
		fmt.Fprintf(&b, "- %s, %s%s\n", t.Run, t.Summary(), basisNote(t.Basis))
	}
	return b.String()
}

// shareLines lists the shares with the given names.
func shareLines(rep *Report, names ...string) string {
	var b strings.Builder
	for _, s := range rep.Shares {
		if !slices.Contains(names, s.Name) {
			continue
		}
		fmt.Fprintf(&b, "- %s, %s%s\n", s.Run, s.Summary(), basisNote(s.Basis))
	}
	return b.String()
}

// basisNote formats the basis of a figure as a sentence that ends a
// list item.
func basisNote(basis string) string {
	if basis == "" {
		return ""
	}
	return ". From " + basis + "."
}

func number(v float64) string {
	switch {
	case v >= 100:
		return commas(int64(v + 0.5))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// commas formats n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// block joins the parts of a generated block with blank lines.
func block(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.Join(nonEmpty, "\n\n") + "\n"
}

// firstLine cuts an error at its first line break, because a list item
// holds one line and the JSON report keeps the whole error.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
