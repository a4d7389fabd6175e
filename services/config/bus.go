package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func busLabel(name string) string { return fmt.Sprintf("bus %q", name) }

func (s *Service) createBus(ctx context.Context, in *v1.Bus) (*v1.Bus, error) {
	defer s.lockWrites()()

	if err := checkBus(in); err != nil {
		return nil, err
	}

	b := &v1.Bus{Name: in.GetName(), Description: in.GetDescription()}
	b.CreateTime = timestamppb.Now()
	b.UpdateTime = b.CreateTime
	rev, err := s.buses.create(ctx, b.GetName(), busLabel(b.GetName()), b)
	if err != nil {
		return nil, err
	}
	b.Revision = int64(rev)
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_BUS, "", b.GetName(), b.GetRevision()))
	return b, nil
}

func (s *Service) getBus(ctx context.Context, name string) (*v1.Bus, error) {
	if err := checkName("name", "the bus name", name); err != nil {
		return nil, err
	}
	return s.buses.get(ctx, name, busLabel(name))
}

func (s *Service) updateBus(ctx context.Context, in *v1.Bus) (*v1.Bus, error) {
	defer s.lockWrites()()

	if err := checkBus(in); err != nil {
		return nil, err
	}

	b, err := s.buses.update(ctx, in.GetName(), busLabel(in.GetName()), in.GetRevision(),
		func(stored *v1.Bus) (*v1.Bus, error) {
			next := proto.Clone(stored).(*v1.Bus)
			next.Description = in.GetDescription()
			next.UpdateTime = timestamppb.Now()
			return next, nil
		})
	if err != nil {
		return nil, err
	}
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_BUS, "", b.GetName(), b.GetRevision()))
	return b, nil
}

// deleteBus deletes a bus without rules. The default bus stays.
func (s *Service) deleteBus(ctx context.Context, name string, revision int64) error {
	defer s.lockWrites()()

	if err := checkName("name", "the bus name", name); err != nil {
		return err
	}
	if name == DefaultBus {
		return classErrorf(ErrFailedPrecondition, "bus %q always exists and cannot be deleted", name)
	}

	b, err := s.buses.remove(ctx, name, busLabel(name), revision, func(*v1.Bus) error {
		rules, err := s.rules.list(ctx, name+".*")
		if err != nil {
			return err
		}
		if len(rules) > 0 {
			names := make([]string, len(rules))
			for i, r := range rules {
				names[i] = r.GetName()
			}
			return classErrorf(ErrFailedPrecondition, "bus %q has rules %s; delete them first",
				name, quoteList(names))
		}
		return nil
	})
	if err != nil {
		return err
	}
	change := changeOf(internalv1.ChangeKind_CHANGE_KIND_BUS, "", name, b.GetRevision())
	change.Deleted = true
	s.announce(ctx, change)
	return nil
}

func checkBus(in *v1.Bus) error {
	if in == nil {
		return invalidf("bus", "the bus is missing")
	}
	if err := checkName("bus.name", "the bus name", in.GetName()); err != nil {
		return err
	}
	return checkDescription("bus.description", "the bus", in.GetDescription())
}

// ensureDefaultBus creates the default bus unless it exists.
func (s *Service) ensureDefaultBus(ctx context.Context) error {
	_, err := s.createBus(ctx, &v1.Bus{Name: DefaultBus, Description: "The default event bus."})
	if errors.Is(err, ErrAlreadyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: create the default bus: %w", err)
	}
	s.log.Info("default bus created", "bus", DefaultBus)
	return nil
}

// maxQuoted bounds how many names an error lists.
const maxQuoted = 10

// quoteList returns names quoted and comma-separated, the first
// maxQuoted of them and a count of the rest.
func quoteList(names []string) string {
	shown := names
	if len(shown) > maxQuoted {
		shown = shown[:maxQuoted]
	}
	quoted := make([]string, len(shown))
	for i, n := range shown {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	out := strings.Join(quoted, ", ")
	if rest := len(names) - len(shown); rest > 0 {
		out += fmt.Sprintf(" and %d more", rest)
	}
	return out
}
