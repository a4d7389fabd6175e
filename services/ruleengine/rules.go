package ruleengine

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/pattern"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// listTimeout bounds one ListRules call.
const listTimeout = 30 * time.Second

// retryInterval is how often a failed rule reload is retried, and how
// often the NATS connection is checked for a reconnect.
const retryInterval = time.Second

// busRules is the enabled rules of one bus with their compiled patterns.
// It is immutable once built.
type busRules struct {
	matcher *pattern.Matcher
	// rules maps the matcher's ids, the rule names, to the rules.
	rules map[string]*v1.Rule
}

// noRules stands for a bus without enabled rules. Its matcher matches
// nothing but still checks that an event is a JSON object.
var noRules = &busRules{matcher: pattern.NewBuilder().Build()}

// ruleSet is the rules of every bus. It is immutable: a change builds a
// new set, which is swapped in atomically.
type ruleSet struct {
	buses map[string]*busRules
}

func (rs *ruleSet) forBus(bus string) *busRules {
	if br := rs.buses[bus]; br != nil {
		return br
	}
	return noRules
}

// compile builds the matcher of one bus from its enabled rules. A rule
// whose pattern does not compile is logged and left out, since config
// validates patterns and one bad rule must not stop the others.
func (s *Service) compile(bus string, rules []*v1.Rule) *busRules {
	b := pattern.NewBuilder()
	br := &busRules{rules: make(map[string]*v1.Rule, len(rules))}
	for _, r := range rules {
		if r.GetState() != v1.RuleState_RULE_STATE_ENABLED {
			continue
		}
		if err := b.Add(r.GetName(), []byte(r.GetEventPattern())); err != nil {
			s.throttled.log(slog.LevelWarn, "pattern/"+bus+"/"+r.GetName(),
				"rule skipped: invalid event pattern",
				"bus", bus, "rule", r.GetName(), "error", err)
			continue
		}
		br.rules[r.GetName()] = r
	}
	br.matcher = b.Build()
	return br
}

// loadAll replaces every bus's rules with freshly listed ones.
func (s *Service) loadAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()

	rules, err := s.cfg.Rules.ListRules(ctx, "")
	if err != nil {
		return err
	}

	byBus := make(map[string][]*v1.Rule)
	for _, r := range rules {
		byBus[r.GetBus()] = append(byBus[r.GetBus()], r)
	}
	next := &ruleSet{buses: make(map[string]*busRules, len(byBus))}
	for bus, rules := range byBus {
		next.buses[bus] = s.compile(bus, rules)
	}
	s.rules.Store(next)
	return nil
}

// rebuildBus replaces one bus's rules, leaving the others as they are.
func (s *Service) rebuildBus(ctx context.Context, bus string) error {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()

	rules, err := s.cfg.Rules.ListRules(ctx, bus)
	if err != nil {
		return err
	}
	mine := rules[:0:0]
	for _, r := range rules {
		if r.GetBus() == bus {
			mine = append(mine, r)
		}
	}

	br := s.compile(bus, mine)
	next := &ruleSet{buses: maps.Clone(s.rules.Load().buses)}
	if len(br.rules) == 0 {
		delete(next.buses, bus)
	} else {
		next.buses[bus] = br
	}
	s.rules.Store(next)
	return nil
}

// loadInitial loads every rule, retrying until it succeeds or ctx ends,
// and reports whether it succeeded. Events wait meanwhile, because
// matching them against no rules would ack them unmatched.
func (s *Service) loadInitial(ctx context.Context) bool {
	backoff := retryInterval
	for {
		err := s.loadAll(ctx)
		if err == nil {
			return true
		}
		s.cfg.Logger.Warn("loading rules failed, retrying", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// onChange handles a config change notice. It runs on the consumer's
// goroutine, so it only records what to reload.
func (s *Service) onChange(data []byte) {
	var change internalv1.ConfigChange
	if err := proto.Unmarshal(data, &change); err != nil {
		s.throttled.log(slog.LevelWarn, "change/decode",
			"invalid config change notice, reloading every rule", "error", err)
		s.pending.add("", true)
		return
	}
	if change.GetKind() != internalv1.ChangeKind_CHANGE_KIND_RULE {
		return
	}
	s.pending.add(change.GetBus(), true)
}

// refreshRules applies change notices as they come, reloads every rule
// each ReloadInterval and after NATS reconnects (core NATS drops notices
// while disconnected), and retries what failed. It returns when ctx ends.
func (s *Service) refreshRules(ctx context.Context) {
	reload := time.NewTicker(s.cfg.ReloadInterval)
	defer reload.Stop()
	check := time.NewTicker(retryInterval)
	defer check.Stop()
	reconnects := s.cfg.NATS.Stats().Reconnects

	for {
		select {
		case <-ctx.Done():
			return
		case <-s.pending.wake:
		case <-reload.C:
			s.pending.add("", false)
		case <-check.C:
			if n := s.cfg.NATS.Stats().Reconnects; n != reconnects {
				reconnects = n
				s.cfg.Logger.Info("NATS reconnected, reloading every rule")
				s.pending.add("", false)
			}
		}
		s.applyPending(ctx)
	}
}

// applyPending rebuilds what change notices asked for. What fails stays
// pending and is retried on the next check.
func (s *Service) applyPending(ctx context.Context) {
	all, buses := s.pending.take()
	if all {
		if err := s.loadAll(ctx); err != nil {
			s.throttled.log(slog.LevelWarn, "reload/all", "reloading rules failed", "error", err)
			s.pending.add("", false)
		}
		return
	}
	for _, bus := range buses {
		if err := s.rebuildBus(ctx, bus); err != nil {
			s.throttled.log(slog.LevelWarn, "reload/"+bus,
				"reloading rules of a bus failed", "bus", bus, "error", err)
			s.pending.add(bus, false)
		}
	}
}

// pendingReloads collects the buses whose rules changed. It is safe for
// concurrent use.
type pendingReloads struct {
	mu    sync.Mutex
	all   bool
	buses map[string]struct{}
	// wake has room for one signal, so adding never blocks.
	wake chan struct{}
}

func newPendingReloads() *pendingReloads {
	return &pendingReloads{buses: make(map[string]struct{}), wake: make(chan struct{}, 1)}
}

// add marks bus for a rebuild, or every bus when bus is "". With wake,
// the refresher starts at once instead of at its next check.
func (p *pendingReloads) add(bus string, wake bool) {
	p.mu.Lock()
	if bus == "" {
		p.all = true
	} else {
		p.buses[bus] = struct{}{}
	}
	p.mu.Unlock()

	if wake {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// take returns and clears what is pending. A full reload covers every
// bus, so buses is nil when all is true.
func (p *pendingReloads) take() (all bool, buses []string) {
	p.mu.Lock()
	defer p.mu.Unlock()

	all = p.all
	if !all {
		buses = make([]string, 0, len(p.buses))
		for bus := range p.buses {
			buses = append(buses, bus)
		}
	}
	p.all = false
	clear(p.buses)
	return all, buses
}

// RuleRevision returns the revision of the rule that matching uses now,
// or 0 when the rule is not loaded or not enabled. Rule changes reach
// the rule engine through notices, a moment after config stores them,
// so callers that must not race a change (tests, scripts) wait until
// the revision they wrote is in use.
func (s *Service) RuleRevision(bus, name string) int64 {
	br := s.rules.Load().buses[bus]
	if br == nil {
		return 0
	}
	return br.rules[name].GetRevision()
}
