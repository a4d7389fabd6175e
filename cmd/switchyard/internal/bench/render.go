package bench

import "fmt"

func renderIngest(rep *Report) string {
	rows, notes := runRows(rep, PhaseIngest, oneRow(func(run *RunResult) []string {
		in := run.Ingest
		if in == nil {
			return nil
		}
		return []string{
			commas(int64(in.HTTPRequests)), fmt.Sprint(in.HTTPConnections),
			number(in.HTTPRequestsPerSecond), number(in.HTTPLatency.P50),
			number(in.HTTPLatency.P99), fmt.Sprint(in.HTTPFailed),
			number(in.NATSEventsPerSecond), cpuCell(in.HTTPCPU),
		}
	}))
	head := []string{"run", "HTTP requests", "connections", "requests/s", "p50 ms", "p99 ms",
		"failed", "NATS events/s", "CPU µs per HTTP request"}
	return block(measuredOn(rep),
		"Each HTTP request is one structured CloudEvent of 1 KB, answered once "+
			"JetStream has stored it in EVENTS. The NATS figure is JetStream "+
			"publishes to ingest.<bus>, counted until EVENTS holds every event. "+cpuScopes,
		table(head, rows), notes,
		targetLines(rep, "ingest requests/s", "ingest p99 ms"))
}

func renderPipeline(rep *Report) string {
	rows, notes := runRows(rep, PhasePipeline, func(run *RunResult) [][]string {
		var rows [][]string
		for _, p := range run.Pipeline {
			rows = append(rows, []string{
				fmt.Sprint(p.Round), commas(int64(p.Rules)), commas(int64(p.Events)),
				fmt.Sprintf("%.1f", p.Seconds), number(p.EventsPerSecond),
				fmt.Sprintf("%.2f", p.LongestGapSeconds), cpuCell(p.CPU),
			})
		}
		return rows
	})
	head := []string{"run", "round", "rules", "events", "seconds", "events/s", "longest gap s",
		"CPU µs per event"}
	return block(measuredOn(rep),
		"Events of 1 KB are published over NATS to ingest.<bus>, each matching "+
			"one rule, and delivered to an HTTP endpoint on 127.0.0.1 that answers "+
			"200 at once. The rate runs from the first publish to the last delivery "+
			"counted at the endpoint. The rule counts run in ABBA order on the same "+
			"buses, and the comparisons below use the mean of each count's runs. "+
			"The raw figures come from the JetStream limit phase. "+cpuScopes,
		table(head, rows), notes,
		targetLines(rep, "pipeline / raw JetStream", "many rules / few rules")+
			shareLines(rep, "pipeline / raw shaped flow"))
}

func renderLatency(rep *Report) string {
	rows, notes := runRows(rep, PhaseLatency, oneRow(func(run *RunResult) []string {
		l := run.Latency
		if l == nil {
			return nil
		}
		return []string{
			fmt.Sprint(l.PerSecond), commas(int64(l.Events)), number(l.Latency.P50),
			number(l.Latency.P90), number(l.Latency.P99), number(l.Latency.Max),
			fmt.Sprint(l.Missing),
		}
	}))
	head := []string{"run", "events/s", "events", "p50 ms", "p90 ms", "p99 ms", "max ms", "missing"}
	return block(measuredOn(rep),
		"Events are published at a steady rate, each carrying its publish time, "+
			"and the endpoint subtracts it from the time the request arrives.",
		table(head, rows), notes,
		targetLines(rep, "latency p50 ms", "latency p99 ms"))
}

func renderIsolation(rep *Report) string {
	rows, notes := runRows(rep, PhaseIsolation, oneRow(func(run *RunResult) []string {
		iso := run.Isolation
		if iso == nil {
			return nil
		}
		return []string{
			number(iso.HealthyBaseline), number(iso.HealthyDegraded), number(iso.Share),
			commas(int64(iso.Accepted)), commas(int64(iso.Delivered)),
			commas(int64(iso.DeadLettered)), commas(int64(iso.Waiting)),
			commas(int64(iso.Answered503)),
			fmt.Sprint(iso.Lost),
		}
	}))
	head := []string{"run", "healthy alone/s", "healthy beside failing/s", "share",
		"failing: accepted", "delivered", "dead-lettered", "waiting", "503 answers", "lost"}
	return block(measuredOn(rep),
		"The events are split over two destinations. In the second round one "+
			"destination answers 503 to every other request; its targets retry at "+
			"most three attempts with a backoff from 10 ms to 100 ms. Accepted must "+
			"equal delivered plus dead-lettered plus waiting, the tasks still stored "+
			"in DELIVERIES a minute after the healthy side finished (held by the "+
			"circuit breaker).",
		table(head, rows), notes,
		targetLines(rep, "healthy share beside a failing destination"))
}

func renderLimit(rep *Report) string {
	rows, notes := runRows(rep, PhaseLimit, oneRow(func(run *RunResult) []string {
		l := run.Limit
		if l == nil {
			return nil
		}
		row := []string{commas(int64(l.Events)), fmt.Sprintf("%.1f", l.Seconds),
			number(l.EventsPerSecond), "not measured", "", "", ""}
		if sh := l.Shaped; sh != nil {
			row[3] = fmt.Sprintf("%.1f", sh.Seconds)
			row[4] = number(sh.EventsPerSecond)
			row[5] = commas(int64(sh.UpdateRetries))
			row[6] = commas(int64(sh.LateCreates))
		}
		return row
	}))
	head := []string{"run", "messages", "two-hop seconds", "two-hop messages/s",
		"shaped flow seconds", "shaped flow events/s", "record update retries", "late record creates"}
	return block(measuredOn(rep),
		"Raw JetStream on the same server as the run, with the same 1 KB "+
			"payloads. The raw two-hop flow: asynchronous publishes into a "+
			"file-backed work queue, a consumer that republishes each message to a "+
			"second file-backed stream and acks it once the copy is stored, and a "+
			"consumer that acks the second stream. No ack is synchronous.",
		"The raw shaped flow does the JetStream and HTTP work of Switchyard's "+
			"design for each event, with none of the services' logic: three "+
			"file-backed streams in a row (as INGRESS, EVENTS and DELIVERIES), a "+
			"record created asynchronously in a key-value bucket beside each task, "+
			"and for each task a record read, an HTTP POST of the payload to a local "+
			"endpoint, a record update at the revision read, and an ack, by 64 "+
			"workers. An update retries after a fresh read when the record's create "+
			"was stored after the first read, and a create that finds the updated "+
			"record counts as late.",
		table(head, rows), notes,
		shareLines(rep, "raw shaped flow / raw JetStream"))
}

// cpuScopes explains the CPU figures of a table.
const cpuScopes = "CPU time is user plus system time: of the four service processes " +
	"in processes mode, and of the whole bench process, with NATS and the load " +
	"generator, in dev mode."

// cpuNote formats CPU use for a sentence, with a leading comma.
func cpuNote(c *CPUUse, unit string) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf(", %s µs CPU per %s", number(c.MicrosecondsPerEvent), unit)
}

// cpuCell formats CPU use for a table cell.
func cpuCell(c *CPUUse) string {
	if c == nil {
		return "not measured"
	}
	return number(c.MicrosecondsPerEvent)
}
