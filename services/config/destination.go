package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Bounds of an API destination's settings.
const (
	maxRateLimit      = 10000
	maxConcurrency    = 1000
	minTimeout        = time.Second
	maxTimeout        = 60 * time.Second
	maxURLLength      = 2048
	destinationsField = "api_destination"
)

var destinationMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func destinationLabel(name string) string { return fmt.Sprintf("API destination %q", name) }

// createDestination stores a new API destination. An unset timeout is
// stored unset and means 5 s, so the default lives in one place, the
// delivery service.
func (s *Service) createDestination(
	ctx context.Context, in *v1.ApiDestination,
) (*v1.ApiDestination, error) {
	defer s.lockWrites()()

	d, err := normalizeDestination(in)
	if err != nil {
		return nil, err
	}
	if err := s.requireConnection(ctx, d); err != nil {
		return nil, err
	}

	d.CreateTime = timestamppb.Now()
	d.UpdateTime = d.CreateTime
	rev, err := s.destinations.create(ctx, d.GetName(), destinationLabel(d.GetName()), d)
	if err != nil {
		return nil, err
	}
	d.Revision = int64(rev)
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, "",
		d.GetName(), d.GetRevision()))
	return d, nil
}

func (s *Service) getDestination(ctx context.Context, name string) (*v1.ApiDestination, error) {
	if err := checkName("name", "the destination name", name); err != nil {
		return nil, err
	}
	d, err := s.destinations.get(ctx, name, destinationLabel(name))
	if err != nil {
		return nil, err
	}
	s.mergeCircuits(ctx, []*v1.ApiDestination{d})
	return d, nil
}

// updateDestination replaces an API destination.
//
// NOTE: a new URL may change the number of "*" segments, which leaves
// the path values of rules that target the destination mismatched. That
// is allowed so that destination and rules can change in either order,
// and delivery fails such a call with a clear error.
func (s *Service) updateDestination(
	ctx context.Context, in *v1.ApiDestination,
) (*v1.ApiDestination, error) {
	defer s.lockWrites()()

	d, err := normalizeDestination(in)
	if err != nil {
		return nil, err
	}

	label := destinationLabel(d.GetName())
	next, err := s.destinations.update(ctx, d.GetName(), label, in.GetRevision(),
		func(stored *v1.ApiDestination) (*v1.ApiDestination, error) {
			if err := s.requireConnection(ctx, d); err != nil {
				return nil, err
			}
			next := proto.Clone(d).(*v1.ApiDestination)
			next.CreateTime = stored.GetCreateTime()
			next.UpdateTime = timestamppb.Now()
			return next, nil
		})
	if err != nil {
		return nil, err
	}
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, "",
		next.GetName(), next.GetRevision()))
	return next, nil
}

// deleteDestination deletes an API destination that no rule targets.
func (s *Service) deleteDestination(ctx context.Context, name string, revision int64) error {
	defer s.lockWrites()()

	if err := checkName("name", "the destination name", name); err != nil {
		return err
	}

	d, err := s.destinations.remove(ctx, name, destinationLabel(name), revision,
		func(*v1.ApiDestination) error {
			users, err := s.rulesUsing(ctx, name)
			if err != nil {
				return err
			}
			if len(users) > 0 {
				return classErrorf(ErrFailedPrecondition,
					"API destination %q is a target of rules %s; remove those targets first",
					name, quoteList(users))
			}
			return nil
		})
	if err != nil {
		return err
	}
	s.forgetCircuit(ctx, name)
	change := changeOf(internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, "", name, d.GetRevision())
	change.Deleted = true
	s.announce(ctx, change)
	return nil
}

func normalizeDestination(in *v1.ApiDestination) (*v1.ApiDestination, error) {
	if in == nil {
		return nil, invalidf(destinationsField, "the API destination is missing")
	}
	d := proto.Clone(in).(*v1.ApiDestination)
	const f = destinationsField
	if err := checkName(f+".name", "the destination name", d.GetName()); err != nil {
		return nil, err
	}
	if err := checkDescription(f+".description", "the API destination", d.GetDescription()); err != nil {
		return nil, err
	}
	if len(d.GetUrl()) > maxURLLength {
		return nil, invalidf(f+".url", "the destination URL has %d characters; the maximum is %d",
			len(d.GetUrl()), maxURLLength)
	}
	if _, err := checkHTTPURL(f+".url", "the destination URL", d.GetUrl()); err != nil {
		return nil, err
	}
	method, err := checkMethod(f+".method", "the destination method", d.GetMethod(), destinationMethods)
	if err != nil {
		return nil, err
	}
	d.Method = method
	if err := checkName(f+".connection", "the destination's connection name", d.GetConnection()); err != nil {
		return nil, err
	}
	if err := checkDestinationLimits(d); err != nil {
		return nil, err
	}

	d.Revision = 0
	d.CreateTime = nil
	d.UpdateTime = nil
	clearCircuit(d)
	return d, nil
}

func checkDestinationLimits(d *v1.ApiDestination) error {
	const f = destinationsField
	err := checkRange(f+".invocation_rate_limit_per_second", "the destination rate limit",
		int64(d.GetInvocationRateLimitPerSecond()), 0, maxRateLimit)
	if err != nil {
		return err
	}
	err = checkDuration(f+".timeout", "the destination timeout", d.GetTimeout(), minTimeout, maxTimeout)
	if err != nil {
		return err
	}
	return checkRange(f+".max_concurrency", "the destination's maximum concurrency",
		int64(d.GetMaxConcurrency()), 0, maxConcurrency)
}

// requireConnection checks that the connection of d exists and can
// reach the host of d's URL.
//
// NOTE: the check and the write are separate KV operations, because
// JetStream KV has no multi-key transactions. A delete of the connection
// racing with this write can leave a dangling reference, which the
// Resolver reports as NOT_FOUND.
func (s *Service) requireConnection(ctx context.Context, d *v1.ApiDestination) error {
	name := d.GetConnection()
	c, err := s.connections.get(ctx, name, connectionLabel(name))
	if errors.Is(err, ErrNotFound) {
		return classErrorf(ErrFailedPrecondition, "connection %q not found; create it first", name)
	}
	if err != nil {
		return err
	}
	return checkDestinationNetwork(d, c)
}

// destinationsUsing returns the names of the API destinations that use
// a connection.
func (s *Service) destinationsUsing(ctx context.Context, connection string) ([]string, error) {
	using, err := s.destinationsOf(ctx, connection)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(using))
	for _, d := range using {
		names = append(names, d.GetName())
	}
	return names, nil
}

// destinationsOf returns the API destinations that use a connection.
func (s *Service) destinationsOf(ctx context.Context, connection string) ([]*v1.ApiDestination, error) {
	all, err := s.destinations.list(ctx, ">")
	if err != nil {
		return nil, err
	}
	var using []*v1.ApiDestination
	for _, d := range all {
		if d.GetConnection() == connection {
			using = append(using, d)
		}
	}
	return using, nil
}

// wildcardSegments counts the path segments of a destination URL that
// are exactly "*", which target path values fill in order.
func wildcardSegments(rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	n := 0
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "*" {
			n++
		}
	}
	return n
}
