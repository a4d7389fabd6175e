package config

import (
	"errors"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
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
		return invalidf("rule.targets", "the rule has %d targets; give 1 to %d",
			len(targets), maxTargets)
	}
	seen := map[string]int{}
	for i, t := range targets {
		field := fieldIndex("rule.targets", i)
		if t == nil {
			return invalidf(field, "target %d is missing", i)
		}
		if err := normalizeTarget(field, t); err != nil {
			return err
		}
		if j, dup := seen[t.GetId()]; dup {
			return invalidf(field+".id", "the target id %q is also the id of target %d; "+
				"give each target its own id", t.GetId(), j)
		}
		seen[t.GetId()] = i
	}
	return nil
}

func normalizeTarget(field string, t *v1.Target) error {
	err := checkName(field+".api_destination", "the target's API destination name",
		t.GetApiDestination())
	if err != nil {
		return err
	}
	if t.GetId() == "" {
		t.Id = t.GetApiDestination()
	}
	if err := checkName(field+".id", "the target id", t.GetId()); err != nil {
		return err
	}

	for i, v := range t.GetPathValues() {
		if v == "" {
			return invalidf(fieldIndex(field+".path_values", i),
				"path value %d is empty; give a constant or a JSON path such as $.data.name", i)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.GetHeaders())) {
		if err := checkTargetHeader(headerField(field, name), name); err != nil {
			return err
		}
	}
	for name := range t.GetQuery() {
		if name == "" {
			return invalidf(field+".query",
				"a target query parameter has an empty name; give each one a name")
		}
	}
	if ct := t.GetContentType(); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return invalidf(field+".content_type", "the target content type %q is not a media type; "+
				"use one such as application/json", ct)
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
			return invalidf(field+".path", "the input path is empty; give a JSON path such as $.data")
		}
	case *v1.Input_Template:
		if kind.Template.GetTemplate() == "" {
			return invalidf(field+".template.template",
				"the input template is empty; give the body with <name> placeholders")
		}
	case *v1.Input_Form:
		for name := range kind.Form.GetFields() {
			if name == "" {
				return invalidf(field+".form.fields",
					"a form field has an empty name; give each form field a name")
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
	switch {
	case errors.As(err, &fe) && fe.Label != "":
		return invalidf(field+"."+fe.Field, "%v", fe)
	case fe != nil:
		return invalidf(field+"."+fe.Field, "%s: %v", renderedNoun(fe.Field), fe.Err)
	}
	return invalidf(field, "the target is invalid: %v", err)
}

// renderedNoun names the part of a target that a render.FieldError's
// field, such as `headers["X-Ref"]` or input.template, is about.
func renderedNoun(field string) string {
	prefix, rest, _ := strings.Cut(field, "[")
	key, _, _ := strings.Cut(rest, "]")
	switch {
	case prefix == "headers":
		return "the target header " + key
	case prefix == "query":
		return "the target query parameter " + key
	case strings.HasPrefix(field, "input.path"):
		return "the input path"
	case strings.HasPrefix(field, "input.template"):
		return "the input template"
	case strings.HasPrefix(field, "input.constant"):
		return "the constant body"
	case strings.HasPrefix(field, "input.form"):
		return "the form body"
	}
	return "the target input"
}

// headerField is the path of the target header name.
func headerField(target, name string) string {
	return fmt.Sprintf("%s.headers[%q]", target, name)
}

// checkRetryPolicy checks the bounds of a policy whose unset fields mean
// 185 attempts, 24 h and a backoff from 1 s to 5 min.
func checkRetryPolicy(field string, p *v1.RetryPolicy) error {
	if p == nil {
		return nil
	}
	if p.MaxAttempts != nil {
		err := checkRange(field+".max_attempts", "the maximum number of retry attempts",
			int64(p.GetMaxAttempts()), 0, maxAttempts)
		if err != nil {
			return err
		}
	}
	err := checkDuration(field+".max_event_age", "the maximum event age", p.GetMaxEventAge(),
		minEventAge, maxEventAge)
	if err != nil {
		return err
	}
	if err := checkBackoff(field+".backoff_base", "the backoff base", p.GetBackoffBase()); err != nil {
		return err
	}
	if err := checkBackoff(field+".backoff_max", "the backoff maximum", p.GetBackoffMax()); err != nil {
		return err
	}

	base := orDefault(p.GetBackoffBase(), defaultBackoffMin)
	limit := orDefault(p.GetBackoffMax(), defaultBackoffMax)
	if base > limit {
		limitName := "the backoff maximum"
		if p.GetBackoffMax() == nil {
			limitName = "the default backoff maximum"
		}
		return invalidf(field+".backoff_base", "the backoff base %s is more than %s %s; "+
			"make the backoff base at most the backoff maximum", base, limitName, limit)
	}
	return nil
}

// checkBackoff checks an optional backoff bound: more than zero and at
// most maxBackoff.
func checkBackoff(field, noun string, d *durationpb.Duration) error {
	if d == nil {
		return nil
	}
	if err := d.CheckValid(); err != nil {
		return invalidf(field, "%s is not a valid duration: %v", noun, err)
	}
	if v := d.AsDuration(); v <= 0 || v > maxBackoff {
		return invalidf(field, "%s %s is out of range; use more than 0s and at most %s",
			noun, v, maxBackoff)
	}
	return nil
}

func orDefault(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}
