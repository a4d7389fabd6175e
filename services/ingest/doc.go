// Package ingest is Switchyard's entry point for events. It accepts
// CloudEvents 1.0 over HTTP and from NATS producers, validates them,
// fills a missing id and time, and stores each valid event in the EVENTS
// stream on events.<bus>. JetStream de-duplicates by source and id, so a
// retried publish is stored once within the stream's duplicate window.
//
// # HTTP
//
// POST /v1/buses/{bus}/events accepts the three CloudEvents HTTP modes:
//
//   - structured: Content-Type application/cloudevents+json, or
//     application/json without a ce-specversion header, with one event
//     as a JSON object;
//   - batch: application/cloudevents-batch+json, a JSON array of 1 to
//     MaxBatchEntries events;
//   - binary: a ce-specversion header, the other attributes in ce-*
//     headers, the data in the body and its media type in Content-Type.
//
// The body may hold at most MaxRequestSize bytes, and each event, as the
// stored JSON, at most streams.MaxEventSize bytes. Every response is a
// Response with one entry per event. The status is:
//
//   - 200 when the request was read. A batch gets 200 even when some or
//     all of its entries failed, so clients must check
//     failed_entry_count. The valid entries of such a batch are stored.
//   - the status of the entry's failure for a single event: 400 for an
//     invalid event, 500 when it could not be stored.
//   - 400, 404, 413, 415 or 503 when the request fails as a whole (a
//     malformed batch, an unknown bus, a body over the limit, an unknown
//     Content-Type, config unreachable). Nothing is stored then.
//
// 207 is never used. Error codes are the Code constants.
//
// GET /healthz returns 200 while the process runs, GET /readyz returns
// 200 while the NATS connection is up.
//
// # NATS
//
// Producers publish one event in the CloudEvents JSON format per message
// to ingest.<bus> through JetStream, so the publish ack means the
// message is in the INGRESS work queue. The durable consumer "ingest"
// stores each valid event in EVENTS and acks the message only after the
// EVENTS publish is acknowledged. An invalid message goes, body and
// headers unchanged, to rejected.<bus> with the error code and message
// in the Switchyard-Reason header. A message that fails for a transient
// reason (NATS or config unavailable) is redelivered after a delay.
//
// Binary mode over NATS (ce-* message headers) is not read: such a
// message is rejected unless its body is a complete JSON event.
//
// # Buses
//
// The bus "default" always exists. Other buses are looked up in the
// config service through a BusGetter and cached, until config announces
// a change to the bus on config.changes.
package ingest
