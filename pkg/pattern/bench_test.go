package pattern

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// benchEvent is an event for the benchmarks, with the fields that the
// generated rules test and the values the event has there.
type benchEvent struct {
	name        string
	json        []byte
	eventType   string
	source      string
	stringField []string // path in data of a string field
	stringValue string
	numberField []string // path in data of a number field
	numberValue int
	ipField     []string // path in data of a field that cidr rules test
}

// orderEvent is a CloudEvent of about 1 KB, the usual shape of an event.
var orderEvent = benchEvent{
	name: "1KB",
	json: []byte(`{"specversion":"1.0","id":"9a1b7c4e-4f1e-4c55-9b7e-7f3a2d9e0c11",
"source":"https://example.com/orders","type":"com.example.order.created",
"time":"2026-12-04T16:00:00Z","datacontenttype":"application/json",
"subject":"orders/ord-20261204-000123",
"data":{"orderId":"ord-20261204-000123","customer":{"id":"cust-000042",
"name":"Ada Lovelace","email":"ada@example.com","tier":"gold"},
"clientIp":"203.0.113.7","currency":"EUR","total":129.5,"itemCount":3,
"items":[{"sku":"SKU-1001","name":"Analytical engine manual","qty":1,"price":49.5},
{"sku":"SKU-2002","name":"Punch cards, box of 500","qty":2,"price":30},
{"sku":"SKU-3003","name":"Brass gear set","qty":1,"price":20}],
"shipping":{"method":"express","address":{"street":"12 St James's Square",
"city":"London","postcode":"SW1Y 4JH","country":"GB"}},
"payment":{"method":"card","status":"authorized","last4":"4242"},
"tags":["priority","gift"],"channel":"web","locale":"en-GB",
"referrer":"https://example.com/campaigns/winter?utm_source=newsletter",
"notes":"Leave the parcel at the front desk."}}`),
	eventType:   "com.example.order.created",
	source:      "https://example.com/orders",
	stringField: []string{"customer", "id"},
	stringValue: "cust-000042",
	numberField: []string{"total"},
	numberValue: 129,
	ipField:     []string{"clientIp"},
}

// githubEvent wraps the GitHub push payload in testdata as the data of a
// CloudEvent.
func githubEvent(b *testing.B) benchEvent {
	payload, err := os.ReadFile("../../testdata/github-push-branch.json")
	if err != nil {
		b.Fatal(err)
	}
	header := `{"specversion":"1.0","id":"b3c1e0a2-55d4-4f0e-8d38-0e4f1a6b2c77",` +
		`"source":"https://github.com/example-org/hello-world","type":"com.github.push",` +
		`"datacontenttype":"application/json","data":`
	return benchEvent{
		name:        "github-push",
		json:        append([]byte(header), append(payload, '}')...),
		eventType:   "com.github.push",
		source:      "https://github.com/example-org/hello-world",
		stringField: []string{"repository", "full_name"},
		stringValue: "example-org/hello-world",
		numberField: []string{"repository", "id"},
		numberValue: 186853002,
		ipField:     []string{"pusher", "name"},
	}
}

// ruleGenerator returns the pattern of rule i of a set of n rules.
type ruleGenerator func(e *benchEvent, i, n int) string

// ruleSets are the generated rule sets: exact values only; a mix of
// operators; and the operators that quamina lacks.
var ruleSets = []struct {
	name     string
	generate ruleGenerator
}{
	{"exact", exactRule},
	{"mixed", mixedRule},
	{"operators", operatorRule},
}

// ruleHeader returns the type and source members of rule i of n. Type is
// one of 20 values, so n/20 rules share each. Source is one of n/10
// values, so about 10 rules share each. Rule 0 and the other rules that
// draw value 0 take the event's type or source. The draws are hashes of
// i, so that they do not follow the operator, which depends on i%20.
func ruleHeader(e *benchEvent, i, n int) string {
	eventType, source := e.eventType, e.source
	if t := spread(i, 1) % 20; t != 0 {
		eventType = fmt.Sprintf("com.example.type%d", t)
	}
	if s := spread(i, 2) % max(1, n/10); s != 0 {
		source = fmt.Sprintf("https://example.com/service%d", s)
	}
	return fmt.Sprintf(`"type":[%q],"source":[%q]`, eventType, source)
}

// spread returns a hash of i that is 0 for i = 0.
func spread(i int, seed uint32) int {
	h := uint32(i) * 2654435761
	h ^= h >> 15
	h *= 2246822519 + seed*2
	return int(h>>1) % (1 << 30)
}

// inData nests leaf under the path in data.
func inData(path []string, leaf string) string {
	out := leaf
	for i := len(path) - 1; i >= 0; i-- {
		out = fmt.Sprintf(`{%q:%s}`, path[i], out)
	}
	return `"data":` + out
}

// stringValue returns the event's value for rule 0 and a value no event
// has for the others.
func stringValue(e *benchEvent, i int) string {
	if i == 0 {
		return e.stringValue
	}
	return fmt.Sprintf("value-%d", i)
}

func exactRule(e *benchEvent, i, n int) string {
	leaf := fmt.Sprintf(`[%q]`, stringValue(e, i))
	return "{" + ruleHeader(e, i, n) + "," + inData(e.stringField, leaf) + "}"
}

// mixedRule returns rules of which 65% test the data field for an exact
// value, 10% for a prefix, 10% with anything-but, 5% with a wildcard, 5%
// with equals-ignore-case and 5% with exists.
func mixedRule(e *benchEvent, i, n int) string {
	value := stringValue(e, i)
	var leaf string
	switch i % 20 {
	case 13, 14:
		leaf = fmt.Sprintf(`[{"prefix":%q}]`, value[:len(value)-1])
	case 15, 16:
		leaf = fmt.Sprintf(`[{"anything-but":[%q,"other"]}]`, value)
	case 17:
		leaf = fmt.Sprintf(`[{"wildcard":"%s*%s"}]`, value[:2], value[len(value)-2:])
	case 18:
		leaf = fmt.Sprintf(`[{"equals-ignore-case":%q}]`, strings.ToUpper(value))
	case 19:
		leaf = `[{"exists":true}]`
	default:
		leaf = fmt.Sprintf(`[%q]`, value)
	}
	return "{" + ruleHeader(e, i, n) + "," + inData(e.stringField, leaf) + "}"
}

// operatorRule returns rules with numeric ranges, cidr, suffix,
// anything-but variants and $or, in equal shares.
func operatorRule(e *benchEvent, i, n int) string {
	value := stringValue(e, i)
	number := e.numberValue + i%7
	var member string
	switch i % 6 {
	case 0:
		member = inData(e.numberField, fmt.Sprintf(`[{"numeric":[">",%d,"<",%d]}]`, number-10, number+1))
	case 1:
		member = inData(e.ipField, fmt.Sprintf(`[{"cidr":"203.0.%d.0/24"}]`, i%256))
	case 2:
		member = inData(e.stringField, fmt.Sprintf(`[{"suffix":%q}]`, value[2:]))
	case 3:
		member = inData(e.stringField, fmt.Sprintf(`[{"anything-but":{"prefix":[%q,"x-"]}}]`, value[:3]))
	case 4:
		member = inData(e.stringField, fmt.Sprintf(`[{"anything-but":{"suffix":%q}}]`, value[3:]))
	case 5:
		member = fmt.Sprintf(`"$or":[{%s},{%s}]`,
			inData(e.numberField, fmt.Sprintf(`[{"numeric":["=",%d]}]`, number)),
			inData(e.stringField, fmt.Sprintf(`[{"equals-ignore-case":%q}]`, value)))
	}
	return "{" + ruleHeader(e, i, n) + "," + member + "}"
}

var ruleCounts = []int{1, 100, 1000, 10000}

// buildRules builds n rules of a set and returns the Matcher with the heap
// bytes that a Matcher retains per rule. It measures enough copies for
// 10,000 rules in all, so that small sets are measured with large ones.
func buildRules(b *testing.B, e *benchEvent, generate ruleGenerator, n int) (*Matcher, float64) {
	copies := make([]*Matcher, max(1, 10000/n))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for c := range copies {
		builder := NewBuilder()
		for i := range n {
			if err := builder.Add(fmt.Sprintf("rule-%d", i), []byte(generate(e, i, n))); err != nil {
				b.Fatalf("Add(%s) = %v", generate(e, i, n), err)
			}
		}
		copies[c] = builder.Build()
		// A Matcher keeps one scratch state per goroutine, so count one.
		copies[c].states.Put(copies[c].states.Get())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(copies)
	retained := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
	return copies[0], retained / float64(len(copies)*n)
}

// BenchmarkMatch matches each event against each rule set and size. It
// reports events/s, allocations per event and the heap bytes per rule.
// The "nomatch" variants change the event's source so that no rule
// matches.
func BenchmarkMatch(b *testing.B) {
	events := []benchEvent{orderEvent, githubEvent(b)}
	for _, e := range events {
		for _, set := range ruleSets {
			for _, n := range ruleCounts {
				m, perRule := buildRules(b, &e, set.generate, n)
				name := fmt.Sprintf("%s/%s/rules=%d", e.name, set.name, n)
				b.Run(name, func(b *testing.B) {
					benchmarkMatch(b, m, e.json, perRule)
				})
				noMatch := []byte(strings.Replace(string(e.json), e.source, "https://example.com/none", 1))
				b.Run(name+"/nomatch", func(b *testing.B) {
					benchmarkMatch(b, m, noMatch, perRule)
				})
			}
		}
	}
}

func benchmarkMatch(b *testing.B, m *Matcher, event []byte, perRule float64) {
	var ids []string
	b.ReportAllocs()
	b.SetBytes(int64(len(event)))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpuStart, cpuOK := threadCPUTime()
	for b.Loop() {
		var err error
		ids, err = m.Match(event, ids[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	if cpuEnd, ok := threadCPUTime(); cpuOK && ok {
		b.ReportMetric(float64(cpuEnd-cpuStart)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(perRule, "B/rule")
	b.ReportMetric(float64(len(ids)), "matches")
}

// BenchmarkBuild adds 10,000 rules of the mixed set and builds a Matcher.
func BenchmarkBuild(b *testing.B) {
	const n = 10000
	rules := make([][]byte, n)
	for i := range rules {
		rules[i] = []byte(mixedRule(&orderEvent, i, n))
	}
	b.ReportAllocs()
	for b.Loop() {
		builder := NewBuilder()
		for i, rule := range rules {
			if err := builder.Add(fmt.Sprintf("rule-%d", i), rule); err != nil {
				b.Fatal(err)
			}
		}
		builder.Build()
	}
}
