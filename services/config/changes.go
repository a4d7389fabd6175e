package config

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
)

// announceTimeout bounds the flush that confirms a change notice reached
// the NATS server.
const announceTimeout = 5 * time.Second

// announce publishes a change notice after a successful write and logs
// the write. The write has happened, so a failed publish is logged and
// not returned: a cache then serves the old object until it reloads,
// which services do whenever they reconnect to NATS.
func (s *Service) announce(ctx context.Context, change *internalv1.ConfigChange) {
	s.log.Debug("config object written",
		"kind", change.GetKind().String(),
		"bus", change.GetBus(),
		"name", change.GetName(),
		"revision", change.GetRevision(),
		"deleted", change.GetDeleted())

	data, err := proto.Marshal(change)
	if err == nil {
		err = s.cfg.NATS.Publish(s.cfg.Topology.ChangesSubject(), data)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
		defer cancel()
		err = s.cfg.NATS.FlushWithContext(ctx)
	}
	if err != nil {
		s.log.Warn("config change notice not published",
			"kind", change.GetKind().String(),
			"bus", change.GetBus(),
			"name", change.GetName(),
			"error", err)
	}
}

func changeOf(kind internalv1.ChangeKind, bus, name string, revision int64,
) *internalv1.ConfigChange {
	return &internalv1.ConfigChange{Kind: kind, Bus: bus, Name: name, Revision: revision}
}
