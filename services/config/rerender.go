package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard-dev/switchyard/pkg/tasks"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// rerender renders the request of a dead letter's task again, from its
// stored event and the current target of its rule, so that a rule
// update followed by a redrive sends what the updated target renders.
// The rule engine stores such dead letters, without a request, when
// rendering failed or the task was too large.
//
// A non-empty reason means the dead letter cannot be redriven now. It
// names the cause and the fix. An error means the rule could not be read.
func (s *Service) rerender(ctx context.Context, id string, task *internalv1.DeliveryTask,
) (reason string, err error) {
	bus, name := task.GetBus(), task.GetRule()
	rule, err := s.rules.get(ctx, ruleKey(bus, name), ruleLabel(bus, name))
	if errors.Is(err, ErrNotFound) {
		return fmt.Sprintf("rule %s/%s no longer exists, so its request cannot be rendered "+
			"again; purge the dead letter with `switchyard dlq purge --ids %s`", bus, name, id), nil
	}
	if err != nil {
		return "", err
	}

	target := findTarget(rule, task.GetTargetId())
	if target == nil {
		return fmt.Sprintf("rule %s/%s no longer has target %q (its targets are %s), so its "+
			"request cannot be rendered again; purge the dead letter with "+
			"`switchyard dlq purge --ids %s`", bus, name, task.GetTargetId(), targetIDs(rule), id), nil
	}

	if err := tasks.Render(task, target); err != nil {
		return fmt.Sprintf("rendering the request failed again: %v; fix target %q with "+
			"`switchyard rule update`, then redrive", err, target.GetId()), nil
	}
	if _, err := tasks.Encode(task, s.maxTaskSize); err != nil {
		return fmt.Sprintf("%v; change target %q with `switchyard rule update` to send "+
			"less of the event, then redrive", err, target.GetId()), nil
	}
	return "", nil
}

func findTarget(rule *v1.Rule, id string) *v1.Target {
	for _, t := range rule.GetTargets() {
		if t.GetId() == id {
			return t
		}
	}
	return nil
}

func targetIDs(rule *v1.Rule) string {
	ids := make([]string, 0, len(rule.GetTargets()))
	for _, t := range rule.GetTargets() {
		ids = append(ids, t.GetId())
	}
	return strings.Join(ids, ", ")
}
