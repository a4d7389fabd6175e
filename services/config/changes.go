package config

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
)

// announceTimeout bounds the wait for the CHANGES stream to store a
// change notice.
const announceTimeout = 5 * time.Second

// announce stores a change notice in the CHANGES stream after a
// successful write and logs the write. The write has happened, so a
// failed publish is logged and not returned: a cache then serves the
// old object until its entry expires or its service reconnects to NATS.
func (s *Service) announce(ctx context.Context, change *internalv1.ConfigChange) {
	s.log.Debug("config object written",
		"kind", change.GetKind().String(),
		"bus", change.GetBus(),
		"name", change.GetName(),
		"revision", change.GetRevision(),
		"deleted", change.GetDeleted())

	data, err := proto.Marshal(change)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), announceTimeout)
		defer cancel()
		_, err = s.js.Publish(ctx, s.cfg.Topology.ChangesSubject(), data)
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
