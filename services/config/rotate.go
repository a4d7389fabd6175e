package config

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// RotateSecrets re-encrypts under the current key every connection
// secret sealed with an older key, and returns how many connections it
// rewrote. After it succeeds, the old keys can be dropped from
// Config.SecretKeys. Each rewrite is a compare-and-swap that keeps the
// connection's content and update time, gets a new revision and is
// announced like any write. A connection that fails does not stop the
// others; the errors are joined.
func (s *Service) RotateSecrets(ctx context.Context) (int, error) {
	all, err := s.connections.list(ctx, ">")
	if err != nil {
		return 0, fmt.Errorf("rotate secrets: %w", err)
	}

	rotated := 0
	var errs []error
	for _, c := range all {
		if s.sealedWithCurrentKey(c) {
			continue
		}
		if err := s.rotateConnection(ctx, c.GetName()); err != nil {
			errs = append(errs, fmt.Errorf("rotate secrets: %w", err))
			continue
		}
		rotated++
	}
	s.log.Info("connection secrets rotated", "connections", rotated, "failed", len(errs))
	return rotated, errors.Join(errs...)
}

func (s *Service) sealedWithCurrentKey(c *v1.Connection) bool {
	for _, ref := range secretRefs(c) {
		if *ref != "" && !s.keys.current(*ref) {
			return false
		}
	}
	return true
}

func (s *Service) rotateConnection(ctx context.Context, name string) error {
	label := connectionLabel(name)
	next, err := s.connections.update(ctx, name, label, 0,
		func(stored *v1.Connection) (*v1.Connection, error) {
			next := proto.Clone(stored).(*v1.Connection)
			if err := s.openSecrets(next); err != nil {
				return nil, err
			}
			if err := s.sealSecrets(next); err != nil {
				return nil, err
			}
			return next, nil
		})
	if err != nil {
		return err
	}
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "",
		name, next.GetRevision()))
	return nil
}
