package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/pattern"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// maxTargets is the maximum number of targets of one rule.
const maxTargets = 5

func ruleKey(bus, name string) string { return bus + "." + name }

func ruleLabel(bus, name string) string { return fmt.Sprintf("rule %q on bus %q", name, bus) }

// busOrDefault returns bus, or the default bus when bus is empty.
func busOrDefault(bus string) string {
	if bus == "" {
		return DefaultBus
	}
	return bus
}

func (s *Service) createRule(ctx context.Context, in *v1.Rule) (*v1.Rule, error) {
	defer s.lockWrites()()

	r, err := normalizeRule(in)
	if err != nil {
		return nil, err
	}
	if err := s.checkRuleReferences(ctx, r); err != nil {
		return nil, err
	}

	r.CreateTime = timestamppb.Now()
	r.UpdateTime = r.CreateTime
	key := ruleKey(r.GetBus(), r.GetName())
	rev, err := s.rules.create(ctx, key, ruleLabel(r.GetBus(), r.GetName()), r)
	if err != nil {
		return nil, err
	}
	r.Revision = int64(rev)
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_RULE, r.GetBus(), r.GetName(),
		r.GetRevision()))
	return r, nil
}

// getRule returns a rule; an empty bus means the default bus.
func (s *Service) getRule(ctx context.Context, bus, name string) (*v1.Rule, error) {
	bus = busOrDefault(bus)
	if err := checkName("bus", "the bus name", bus); err != nil {
		return nil, err
	}
	if err := checkName("name", "the rule name", name); err != nil {
		return nil, err
	}
	return s.rules.get(ctx, ruleKey(bus, name), ruleLabel(bus, name))
}

// listRules returns the rules of a bus, or of every bus when bus is
// empty. A bus that does not exist is NOT_FOUND.
func (s *Service) listRules(ctx context.Context, bus string) ([]*v1.Rule, error) {
	if bus == "" {
		return s.rules.list(ctx, ">")
	}
	if err := checkName("bus", "the bus name", bus); err != nil {
		return nil, err
	}
	if _, err := s.buses.get(ctx, bus, busLabel(bus)); err != nil {
		return nil, err
	}
	return s.rules.list(ctx, bus+".*")
}

func (s *Service) updateRule(ctx context.Context, in *v1.Rule) (*v1.Rule, error) {
	defer s.lockWrites()()

	r, err := normalizeRule(in)
	if err != nil {
		return nil, err
	}

	key := ruleKey(r.GetBus(), r.GetName())
	next, err := s.rules.update(ctx, key, ruleLabel(r.GetBus(), r.GetName()), in.GetRevision(),
		func(stored *v1.Rule) (*v1.Rule, error) {
			if err := s.checkRuleReferences(ctx, r); err != nil {
				return nil, err
			}
			next := proto.Clone(r).(*v1.Rule)
			next.CreateTime = stored.GetCreateTime()
			next.UpdateTime = timestamppb.Now()
			return next, nil
		})
	if err != nil {
		return nil, err
	}
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_RULE, next.GetBus(), next.GetName(),
		next.GetRevision()))
	return next, nil
}

func (s *Service) deleteRule(ctx context.Context, bus, name string, revision int64) error {
	defer s.lockWrites()()

	bus = busOrDefault(bus)
	if err := checkName("bus", "the bus name", bus); err != nil {
		return err
	}
	if err := checkName("name", "the rule name", name); err != nil {
		return err
	}

	r, err := s.rules.remove(ctx, ruleKey(bus, name), ruleLabel(bus, name), revision,
		func(*v1.Rule) error { return nil })
	if err != nil {
		return err
	}
	change := changeOf(internalv1.ChangeKind_CHANGE_KIND_RULE, bus, name, r.GetRevision())
	change.Deleted = true
	s.announce(ctx, change)
	return nil
}

// normalizeRule returns a validated copy of in with defaults filled: the
// default bus, the ENABLED state and target ids.
func normalizeRule(in *v1.Rule) (*v1.Rule, error) {
	if in == nil {
		return nil, invalidf("rule", "the rule is missing")
	}
	r := proto.Clone(in).(*v1.Rule)
	r.Bus = busOrDefault(r.GetBus())
	if err := checkName("rule.bus", "the rule's bus name", r.GetBus()); err != nil {
		return nil, err
	}
	if err := checkName("rule.name", "the rule name", r.GetName()); err != nil {
		return nil, err
	}
	if err := checkDescription("rule.description", "the rule", r.GetDescription()); err != nil {
		return nil, err
	}

	if r.GetEventPattern() == "" {
		return nil, invalidf("rule.event_pattern",
			`the event pattern is missing; give a JSON event pattern such as {"source": ["ci"]}`)
	}
	if err := pattern.Validate([]byte(r.GetEventPattern())); err != nil {
		return nil, invalidf("rule.event_pattern", "the event pattern is invalid: %v", err)
	}

	switch r.GetState() {
	case v1.RuleState_RULE_STATE_UNSPECIFIED:
		r.State = v1.RuleState_RULE_STATE_ENABLED
	case v1.RuleState_RULE_STATE_ENABLED, v1.RuleState_RULE_STATE_DISABLED:
	default:
		return nil, invalidf("rule.state", "the rule state %d is not known; use ENABLED or DISABLED",
			r.GetState())
	}

	if err := normalizeTargets(r.GetTargets()); err != nil {
		return nil, err
	}
	r.Revision = 0
	r.CreateTime = nil
	r.UpdateTime = nil
	return r, nil
}

// checkRuleReferences checks that the rule's bus and every target's API
// destination exist, that each target gives one path value for each "*"
// segment of its destination's URL, and that no target header is one
// that the destination's connection replaces.
func (s *Service) checkRuleReferences(ctx context.Context, r *v1.Rule) error {
	ok, err := s.buses.exists(ctx, r.GetBus(), busLabel(r.GetBus()))
	if err != nil {
		return err
	}
	if !ok {
		return classErrorf(ErrFailedPrecondition, "bus %q not found; create it first", r.GetBus())
	}

	for i, t := range r.GetTargets() {
		name := t.GetApiDestination()
		d, err := s.destinations.get(ctx, name, destinationLabel(name))
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return classErrorf(ErrFailedPrecondition,
					"target %d: API destination %q not found; create it first", i, name)
			}
			return err
		}
		want := wildcardSegments(d.GetUrl())
		if got := len(t.GetPathValues()); got != want {
			noun := "path values"
			if got == 1 {
				noun = "path value"
			}
			return invalidf(fieldIndex("rule.targets", i)+".path_values",
				"the target has %d %s, but the URL %q of API destination %q has %d \"*\" "+
					"segments; give one path value per \"*\"", got, noun, d.GetUrl(), name, want)
		}
		if err := s.checkAPIKeyHeader(ctx, fieldIndex("rule.targets", i), t, d); err != nil {
			return err
		}
	}
	return nil
}

// checkAPIKeyHeader rejects a target header that the api_key
// authorization of the destination's connection replaces, because
// delivery signs each request after it sets the target headers. A
// missing connection passes, as the Resolver reports it.
//
// NOTE: a later change of the connection's header name is not checked
// against the rules that use it.
func (s *Service) checkAPIKeyHeader(ctx context.Context, field string, t *v1.Target,
	d *v1.ApiDestination) error {
	name := d.GetConnection()
	c, err := s.connections.get(ctx, name, connectionLabel(name))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	key := c.GetApiKey().GetHeaderName()
	if key == "" {
		return nil
	}
	for header := range t.GetHeaders() {
		if strings.EqualFold(header, key) {
			return invalidf(headerField(field, header), "the target header %q would never be sent: "+
				"connection %q of API destination %q sends its API key in %s, and the "+
				"connection's header wins; remove the target header", header, name,
				d.GetName(), key)
		}
	}
	return nil
}

// rulesUsing returns, as "bus/name", the rules with a target on an API
// destination.
func (s *Service) rulesUsing(ctx context.Context, destination string) ([]string, error) {
	all, err := s.rules.list(ctx, ">")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range all {
		for _, t := range r.GetTargets() {
			if t.GetApiDestination() == destination {
				names = append(names, r.GetBus()+"/"+r.GetName())
				break
			}
		}
	}
	return names, nil
}
