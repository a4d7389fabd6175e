// Package streams declares the JetStream streams, subjects, key-value
// buckets and headers through which Switchyard's services talk, and
// creates them.
//
// Every name comes from a Topology, so that several installations (or
// tests running side by side) can share one NATS server: a Topology with
// a prefix puts that prefix in front of every stream, bucket and subject.
// The zero prefix gives the documented names, such as EVENTS and
// events.<bus>.
package streams

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Stream names without a prefix.
const (
	Ingress    = "INGRESS"
	Events     = "EVENTS"
	Deliveries = "DELIVERIES"
	DeadLetter = "DEADLETTER"
	Rejected   = "REJECTED"
	// Replay is a work queue of archived events that config copied from
	// EVENTS for the rule engine to match again.
	Replay = "REPLAY"
	// Changes keeps the config change notices for a while, so that a
	// service reading them through WatchChanges misses none.
	Changes = "CHANGES"
)

// Key-value bucket names without a prefix.
const (
	BucketBuses        = "sy_buses"
	BucketConnections  = "sy_connections"
	BucketDestinations = "sy_destinations"
	BucketRules        = "sy_rules"
	BucketDeliveries   = "sy_deliveries"
	// BucketCircuits holds the latest circuit breaker state change of
	// each API destination, keyed by destination name, as published by
	// any delivery replica.
	BucketCircuits = "sy_circuits"
	// BucketConnectionState holds the authorization state of each
	// connection as delivery last saw it, keyed by connection name. A
	// value is a switchyard.v1.Connection with only name, revision,
	// state and state_reason set; it applies only to that revision.
	BucketConnectionState = "sy_connection_state"
)

// Subject roots without a prefix. A full subject adds one token, such as
// ingest.<bus> or deliveries.<destination>.
const (
	rootIngest     = "ingest"
	rootEvents     = "events"
	rootDeliveries = "deliveries"
	rootDeadLetter = "deadletter"
	rootRejected   = "rejected"
	rootReplay     = "replay"
	subjectChanges = "config.changes"
)

// Message headers set by Switchyard. Nats-Msg-Id is JetStream's own
// header for de-duplication.
const (
	HeaderMsgID      = "Nats-Msg-Id"
	HeaderBus        = "Switchyard-Bus"
	HeaderIngestTime = "Switchyard-Ingest-Time"
	// HeaderReason carries why a message on rejected.<bus> was rejected.
	HeaderReason = "Switchyard-Reason"
	// HeaderReplayID carries the replay id of an event on replay.<bus>.
	HeaderReplayID = "Switchyard-Replay-Id"
	// HeaderReplayRule names the one rule that matches an event on
	// replay.<bus>; absent means every rule of the bus.
	HeaderReplayRule = "Switchyard-Replay-Rule"
)

// Topology names every stream, subject and bucket of one installation.
// The zero value is the default installation.
type Topology struct {
	// Prefix goes in front of every name. It must be a valid subject
	// token: letters, digits, '-' and '_'.
	Prefix string
}

func (t Topology) stream(name string) string {
	if t.Prefix == "" {
		return name
	}
	return strings.ToUpper(t.Prefix) + "_" + name
}

func (t Topology) subject(parts ...string) string {
	s := strings.Join(parts, ".")
	if t.Prefix == "" {
		return s
	}
	return t.Prefix + "." + s
}

// Stream returns the full name of a stream, such as Events.
func (t Topology) Stream(name string) string { return t.stream(name) }

// Bucket returns the full name of a key-value bucket.
func (t Topology) Bucket(name string) string {
	if t.Prefix == "" {
		return name
	}
	return t.Prefix + "_" + name
}

// IngestSubject returns the subject on which NATS producers publish the
// events of a bus.
func (t Topology) IngestSubject(bus string) string { return t.subject(rootIngest, bus) }

// EventsSubject returns the subject on which ingest stores the accepted
// events of a bus.
func (t Topology) EventsSubject(bus string) string { return t.subject(rootEvents, bus) }

// DeliveriesSubject returns the subject on which the rule engine puts
// the tasks of a destination.
func (t Topology) DeliveriesSubject(destination string) string {
	return t.subject(rootDeliveries, destination)
}

// DeadLetterSubject returns the subject on which delivery puts the
// deliveries of a bus that failed for good.
func (t Topology) DeadLetterSubject(bus string) string { return t.subject(rootDeadLetter, bus) }

// RejectedSubject returns the subject on which ingest puts the NATS
// messages of a bus that it could not accept.
func (t Topology) RejectedSubject(bus string) string { return t.subject(rootRejected, bus) }

// ReplaySubject is where config puts archived events of a bus that the
// rule engine matches again.
func (t Topology) ReplaySubject(bus string) string { return t.subject(rootReplay, bus) }

// ChangesSubject carries a notice after each configuration write. The
// CHANGES stream stores what is published on it; read it with
// WatchChanges rather than a plain subscription.
func (t Topology) ChangesSubject() string { return t.subject(subjectChanges) }

// BusFromSubject returns the last token of subject, the bus or
// destination name, or "" when subject has no dot.
func BusFromSubject(subject string) string {
	i := strings.LastIndexByte(subject, '.')
	if i < 0 {
		return ""
	}
	return subject[i+1:]
}

func (t Topology) wildcard(root string) string { return t.subject(root, ">") }

// EventMsgID is the JetStream message id of a stored event. A CloudEvent
// is identified by its source and id together, so a producer that
// retries a publish does not store the event twice.
func EventMsgID(bus, source, id string) string {
	return digest(bus, source, id)
}

// TaskMsgID is the JetStream message id of a delivery task, derived from
// the event, the rule and the target, so a rule engine that handles the
// same event twice after a crash publishes the task once.
func TaskMsgID(bus, source, eventID, rule, target string) string {
	return digest(bus, source, eventID, rule, target)
}

// ReplayTaskMsgID is the message id of a delivery task made by a
// replay. It adds the replay id to what TaskMsgID covers, so the task is
// not dropped as a duplicate of the first delivery's task, while a rule
// engine that handles the same replayed event twice publishes it once.
func ReplayTaskMsgID(replayID, bus, source, eventID, rule, target string) string {
	return digest(bus, source, eventID, rule, target, replayID)
}

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:20])
}

// PullExpiry is how long each pull request of the services' consumers
// waits on the server, and PullHeartbeat how often the server sends an
// idle heartbeat while it holds one. The client notices a pull request
// that ended without its knowledge only after two missed heartbeats,
// and then pulls again. With nats.go v1.56.0 and nats-server v2.9.10
// and v2.15.3 that happens under load: the server holds no pull
// request while the client waits for messages it asked for, and the
// consumer receives nothing until the client notices. With nats.go's
// default expiry of 30 s and a heartbeat of half the expiry, each loss
// stalled a consumer for 30 s. `switchyard bench` still saw stalls of
// about 4 s at an expiry of 4 s, and of 1.2 to 1.8 s at 2 s. A
// heartbeat of 500 ms, the least that nats.go v1.56.0 accepts (it also
// rejects more than half the expiry), bounds a stall at about 1 s. The
// cost is a new pull request every expiry while a stream is idle, and
// a spurious one when a busy client reads a heartbeat late.
//
// TODO: find why the pull request is lost. The same state (no waiting
// pull, no outstanding ack, messages unprocessed) is reported upstream
// as nats-io/nats-server#6290 and nats-io/nats.go#1622, both open. The
// bench's longest gap between deliveries shows whether a change or an
// upgrade removed it: with the heartbeat, a loss leaves a gap of about
// 1 s.
const (
	PullExpiry    = 2 * time.Second
	PullHeartbeat = 500 * time.Millisecond
)
