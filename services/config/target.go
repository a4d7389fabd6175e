package config

import (
	"errors"
	"mime"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard-dev/switchyard/pkg/render"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Bounds of a retry policy, as in the cloud services.
const (
	maxAttempts       = 185
	minEventAge       = 60 * time.Second
	maxEventAge       = 24 * time.Hour
	defaultBackoffMin = time.Second
	defaultBackoffMax = 5 * time.Minute
	maxBackoff        = 24 * time.Hour
)

// normalizeTargets checks the targets of a rule in place and fills each
// missing id with the destination name.
func normalizeTargets(targets []*v1.Target) error {
	if len(targets) == 0 || len(targets) > maxTargets {
		return invalidf("rule.targets", "%d targets given; give 1 to %d", len(targets), maxTargets)
	}
	seen := map[string]int{}
	for i, t := range targets {
		field := fieldIndex("rule.targets", i)
		if t == nil {
			return invalidf(field, "missing")
		}
		if err := normalizeTarget(field, t); err != nil {
			return err
		}
		if j, dup := seen[t.GetId()]; dup {
			return invalidf(field+".id", "%q is also the id of targets[%d]; give each target its own id",
				t.GetId(), j)
		}
		seen[t.GetId()] = i
	}
	return nil
}

func normalizeTarget(field string, t *v1.Target) error {
	if err := checkName(field+".api_destination", t.GetApiDestination()); err != nil {
		return err
	}
	if t.GetId() == "" {
		t.Id = t.GetApiDestination()
	}
	if err := checkName(field+".id", t.GetId()); err != nil {
		return err
	}

	for i, v := range t.GetPathValues() {
		if v == "" {
			return invalidf(fieldIndex(field+".path_values", i),
				"empty; give a constant or a JSON path such as $.data.name")
		}
	}
	for name := range t.GetHeaders() {
		if err := checkHeaderName(field+".headers", name); err != nil {
			return err
		}
	}
	for name := range t.GetQuery() {
		if name == "" {
			return invalidf(field+".query", "empty parameter name; give each query parameter a name")
		}
	}
	if ct := t.GetContentType(); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return invalidf(field+".content_type", "%q is not a media type; use one such as "+
				"application/json", ct)
		}
	}
	if err := checkInput(field+".input", t.GetInput()); err != nil {
		return err
	}
	if err := checkRendering(field, t); err != nil {
		return err
	}
	return checkRetryPolicy(field+".retry_policy", t.GetRetryPolicy())
}

func checkInput(field string, in *v1.Input) error {
	switch kind := in.GetKind().(type) {
	case *v1.Input_Path:
		if kind.Path == "" {
			return invalidf(field+".path", "empty; give a JSON path such as $.data")
		}
	case *v1.Input_Template:
		if kind.Template.GetTemplate() == "" {
			return invalidf(field+".template.template", "empty; give the body with <name> placeholders")
		}
	case *v1.Input_Form:
		for name := range kind.Form.GetFields() {
			if name == "" {
				return invalidf(field+".form.fields", "empty field name; give each form field a name")
			}
		}
	}
	return nil
}

// checkRendering checks what the rule engine reads to render the
// target's requests: JSON paths, template variables, that a JSON template
// always renders JSON, and the size limits. Checking on write means a
// stored target fails to render only for an event that is not a JSON
// object, or a header value with a control character.
func checkRendering(field string, t *v1.Target) error {
	err := render.ValidateTarget(t)
	if err == nil {
		return nil
	}
	var fe *render.FieldError
	if errors.As(err, &fe) {
		return invalidf(field+"."+fe.Field, "%v", fe.Err)
	}
	return invalidf(field, "%v", err)
}

// checkRetryPolicy checks the bounds of a policy whose unset fields mean
// 185 attempts, 24 h and a backoff from 1 s to 5 min.
func checkRetryPolicy(field string, p *v1.RetryPolicy) error {
	if p == nil {
		return nil
	}
	if p.MaxAttempts != nil {
		err := checkRange(field+".max_attempts", int64(p.GetMaxAttempts()), 0, maxAttempts)
		if err != nil {
			return err
		}
	}
	err := checkDuration(field+".max_event_age", p.GetMaxEventAge(), minEventAge, maxEventAge)
	if err != nil {
		return err
	}
	if err := checkBackoff(field+".backoff_base", p.GetBackoffBase()); err != nil {
		return err
	}
	if err := checkBackoff(field+".backoff_max", p.GetBackoffMax()); err != nil {
		return err
	}

	base := orDefault(p.GetBackoffBase(), defaultBackoffMin)
	limit := orDefault(p.GetBackoffMax(), defaultBackoffMax)
	if base > limit {
		limitName := "backoff_max"
		if p.GetBackoffMax() == nil {
			limitName = "the default backoff_max"
		}
		return invalidf(field+".backoff_base", "%s is more than %s %s; "+
			"make backoff_base at most backoff_max", base, limitName, limit)
	}
	return nil
}

// checkBackoff checks an optional backoff bound: more than zero and at
// most maxBackoff.
func checkBackoff(field string, d *durationpb.Duration) error {
	if d == nil {
		return nil
	}
	if err := d.CheckValid(); err != nil {
		return invalidf(field, "invalid duration: %v", err)
	}
	if v := d.AsDuration(); v <= 0 || v > maxBackoff {
		return invalidf(field, "%s is out of range; use more than 0s and at most %s", v, maxBackoff)
	}
	return nil
}

func orDefault(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}
