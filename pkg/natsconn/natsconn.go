// Package natsconn opens the NATS connections of the services, with the
// options they share: a client name that shows in the server's
// connection list, reconnects without limit, and log lines for the
// connection's events.
//
// nats.go reports asynchronous errors, such as a subscription dropping
// messages as a slow consumer, only to an error handler. Without one
// they pass silently, and a consumer that lost messages simply stalls.
package natsconn

import (
	"fmt"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/logthrottle"
)

// Connect connects to the NATS server at url as name. Disconnects and
// reconnects are logged, and asynchronous errors at most once a minute,
// since a slow consumer reports every message it drops. Options in
// extra come last, so they can override these.
func Connect(url, name string, log *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	log = log.With("connection", name)
	asyncErrors := &logthrottle.Warning{Logger: log, Message: "NATS asynchronous error"}

	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS connection lost; reconnecting", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS connection restored", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{"error", err}
			if sub != nil {
				attrs = append(attrs, "subject", sub.Subject)
			}
			asyncErrors.Warn(time.Now(), attrs...)
		}),
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", redact(url), err)
	}
	return nc, nil
}

// redact hides the password of each server URL in a comma-separated
// list, so an error can name the servers.
func redact(servers string) string {
	parts := strings.Split(servers, ",")
	for i, part := range parts {
		u, err := neturl.Parse(strings.TrimSpace(part))
		if err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
