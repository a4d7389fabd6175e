package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/switchyard-dev/switchyard/pkg/pattern"
	"github.com/switchyard-dev/switchyard/pkg/render"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// maxTargets is the number of targets a rule may have at most.
const maxTargets = 5

// defaultMaxAttempts is the number of retries after the first attempt
// that a target without a retry policy gets.
const defaultMaxAttempts = 185

// ruleFlags are the flags of rule create and update.
type ruleFlags struct {
	bus         string
	description string
	pattern     string
	disabled    bool
	enabled     bool
	targets     []string

	pathValues  []string
	headers     []string
	queries     []string
	inputPath   string
	template    string
	vars        []string
	formFields  []string
	formJSON    []string
	contentType string
	maxAttempts int32
	maxAge      time.Duration
	backoffBase time.Duration
	backoffMax  time.Duration
	deadLetter  string
}

func (f *ruleFlags) register(fs *pflag.FlagSet, update bool) {
	fs.StringVar(&f.bus, "bus", "default", "bus of the rule")
	fs.StringVar(&f.description, "description", "", "what the rule is for")
	fs.StringVar(&f.pattern, "pattern", "",
		"event pattern: JSON text, @FILE, or @- for standard input")
	fs.BoolVar(&f.disabled, "disabled", false, "stop matching events")
	if update {
		fs.BoolVar(&f.enabled, "enabled", false, "match events again")
	}
	fs.StringArrayVar(&f.targets, "target", nil,
		"API destination to send matched events to; the target id is its name (repeatable, at most 5)")

	fs.StringArrayVar(&f.pathValues, "path-value", nil,
		`target: value for the next "*" in the destination URL: a constant, or a JSON path `+
			`such as $.data.job (repeatable)`)
	fs.StringArrayVar(&f.headers, "target-header", nil,
		"target: request header NAME=VALUE, VALUE a constant or JSON path; left out "+
			"when the path matches nothing (repeatable)")
	fs.StringArrayVar(&f.queries, "target-query", nil,
		"target: query parameter NAME=VALUE, VALUE a constant or JSON path; left out "+
			"when the path matches nothing (repeatable)")
	fs.StringVar(&f.inputPath, "input-path", "",
		"target: send the part of the event at this JSON path, such as $.data, instead of the whole event")
	fs.StringVar(&f.template, "input-template", "",
		"target: send this template, TEMPLATE, @FILE or @-, with <name> placeholders "+
			"for --template-var variables; JSON escaping when the content type is JSON")
	fs.StringArrayVar(&f.vars, "template-var", nil,
		"target: template variable NAME=JSON_PATH for --input-template and --form-json-field (repeatable)")
	fs.StringArrayVar(&f.formFields, "form-field", nil,
		"target: form field NAME=VALUE, VALUE a constant or JSON path; sends "+
			"application/x-www-form-urlencoded (repeatable)")
	fs.StringArrayVar(&f.formJSON, "form-json-field", nil,
		"target: form field NAME=TEMPLATE whose value is a JSON template, such as Jenkins' "+
			"json field of /build (repeatable)")
	fs.StringVar(&f.contentType, "content-type", "",
		"target: request content type (default application/json, or "+
			"application/x-www-form-urlencoded with --form-field or --form-json-field)")
	fs.Int32Var(&f.maxAttempts, "max-attempts", defaultMaxAttempts,
		"target: retries after the first attempt, 0 to 185, so 2 allows 3 attempts in all")
	fs.DurationVar(&f.maxAge, "max-age", 24*time.Hour,
		"target: retry an event until it is this old, 1m to 24h")
	fs.DurationVar(&f.backoffBase, "backoff-base", time.Second,
		"target: ceiling of the first retry's random delay; it doubles after each attempt")
	fs.DurationVar(&f.backoffMax, "backoff-max", 5*time.Minute,
		"target: largest random delay between attempts, at least --backoff-base")
	fs.StringVar(&f.deadLetter, "dead-letter", "on",
		"target: on sends deliveries that fail for good to the dead-letter stream; off drops them")
}

// apply changes r as the given flags specify. Flags left out keep r's values.
func (f *ruleFlags) apply(a *app, fs *pflag.FlagSet, r *v1.Rule) error {
	if fs.Changed("description") {
		r.Description = f.description
	}
	if fs.Changed("pattern") {
		src, err := a.readPattern("pattern", f.pattern)
		if err != nil {
			return err
		}
		r.EventPattern = src
	}
	if err := f.applyState(r); err != nil {
		return err
	}

	if fs.Changed("target") {
		targets, err := f.buildTargets(r.GetTargets())
		if err != nil {
			return err
		}
		r.Targets = targets
	}
	if err := f.applyTargetOptions(a, fs, r.GetTargets()); err != nil {
		return err
	}
	return checkRendering(r.GetTargets())
}

// checkRendering runs the rendering checks that the config service runs
// on write, so that an invalid template or path fails before the call,
// with the flag that set it named once.
func checkRendering(targets []*v1.Target) error {
	for _, t := range targets {
		err := render.ValidateTarget(t)
		var fe *render.FieldError
		if errors.As(err, &fe) {
			return usagef("invalid %s: %v", renderedFlag(fe.Field), fe.Err)
		}
		if err != nil {
			return usagef("invalid target %s: %v", t.GetId(), err)
		}
	}
	return nil
}

// renderedFlag names the flag that sets a target field of a
// render.FieldError, such as --target-header "X-Ref" for
// headers["X-Ref"], or --path-value (number 1) for path_values[0].
func renderedFlag(field string) string {
	flag := flagOf(ruleFieldFlag, "rule.targets."+field)
	start, end := strings.LastIndexByte(field, '['), strings.LastIndexByte(field, ']')
	if start < 0 || end < start {
		return flag
	}
	key := field[start+1 : end]
	if i, err := strconv.Atoi(key); err == nil {
		return fmt.Sprintf("%s (number %d)", flag, i+1)
	}
	return flag + " " + key
}

// readPattern reads and validates an event pattern, returning it as
// compact JSON.
func (a *app) readPattern(flag, value string) (string, error) {
	src, err := a.readJSON(flag, value)
	if err != nil {
		return "", err
	}
	if err := pattern.Validate(src); err != nil {
		return "", usagef("invalid %s: %v", describeSource(flag, value), err)
	}

	var buf bytes.Buffer
	if err := json.Compact(&buf, src); err != nil {
		return "", usagef("invalid --%s: %v", flag, err)
	}
	return buf.String(), nil
}

func (f *ruleFlags) applyState(r *v1.Rule) error {
	switch {
	case f.enabled && f.disabled:
		return usagef("use one of --enabled and --disabled")
	case f.enabled:
		r.State = v1.RuleState_RULE_STATE_ENABLED
	case f.disabled:
		r.State = v1.RuleState_RULE_STATE_DISABLED
	}
	return nil
}

// buildTargets returns one target per --target. A target that exists in
// old keeps its settings.
func (f *ruleFlags) buildTargets(old []*v1.Target) ([]*v1.Target, error) {
	if len(f.targets) > maxTargets {
		return nil, usagef("a rule has at most %d targets, got %d", maxTargets, len(f.targets))
	}

	var targets []*v1.Target
	for _, dest := range f.targets {
		if dest == "" {
			return nil, usagef("invalid --target \"\": want a destination name")
		}
		if slices.ContainsFunc(targets, func(t *v1.Target) bool { return t.Id == dest }) {
			return nil, usagef("invalid --target: %s is given twice", dest)
		}

		i := slices.IndexFunc(old, func(t *v1.Target) bool { return t.GetId() == dest })
		if i >= 0 {
			targets = append(targets, old[i])
			continue
		}
		targets = append(targets, &v1.Target{Id: dest, ApiDestination: dest})
	}
	return targets, nil
}

// applyTargetOptions sets the target flags given on every target.
func (f *ruleFlags) applyTargetOptions(a *app, fs *pflag.FlagSet, targets []*v1.Target) error {
	headers, err := parseKeyValues("target-header", f.headers)
	if err != nil {
		return err
	}
	query, err := parseKeyValues("target-query", f.queries)
	if err != nil {
		return err
	}
	policy, err := f.retryChanges(fs)
	if err != nil {
		return err
	}
	deadLetter, err := parseOnOff("dead-letter", f.deadLetter)
	if err != nil {
		return err
	}
	input, inputChanged, err := f.input(a, fs)
	if err != nil {
		return err
	}

	for _, t := range targets {
		if fs.Changed("path-value") {
			t.PathValues = slices.Clone(f.pathValues)
		}
		if fs.Changed("target-header") {
			t.Headers = maps.Clone(headers)
		}
		if fs.Changed("target-query") {
			t.Query = maps.Clone(query)
		}
		if inputChanged {
			t.Input = nil
			if input != nil {
				t.Input = proto.CloneOf(input)
			}
		}
		if fs.Changed("content-type") {
			t.ContentType = f.contentType
		}
		if fs.Changed("dead-letter") {
			t.DeadLetter = proto.Bool(deadLetter)
		}
		mergeRetryPolicy(t, policy)
	}
	return nil
}

// retryChanges returns the retry settings given as flags, or nil.
func (f *ruleFlags) retryChanges(fs *pflag.FlagSet) (*v1.RetryPolicy, error) {
	if !fs.Changed("max-attempts") && !fs.Changed("max-age") &&
		!fs.Changed("backoff-base") && !fs.Changed("backoff-max") {
		return nil, nil
	}

	p := &v1.RetryPolicy{}
	if fs.Changed("max-attempts") {
		if f.maxAttempts < 0 {
			return nil, usagef("invalid --max-attempts %d: want 0 to 185", f.maxAttempts)
		}
		p.MaxAttempts = proto.Int32(f.maxAttempts)
	}
	if fs.Changed("max-age") {
		if f.maxAge <= 0 {
			return nil, usagef("invalid --max-age %s: want 1m to 24h", f.maxAge)
		}
		p.MaxEventAge = durationpb.New(f.maxAge)
	}
	if fs.Changed("backoff-base") {
		if f.backoffBase <= 0 {
			return nil, usagef("invalid --backoff-base %s: want a positive duration", f.backoffBase)
		}
		p.BackoffBase = durationpb.New(f.backoffBase)
	}
	if fs.Changed("backoff-max") {
		if f.backoffMax <= 0 {
			return nil, usagef("invalid --backoff-max %s: want a positive duration", f.backoffMax)
		}
		p.BackoffMax = durationpb.New(f.backoffMax)
	}
	return p, nil
}

func mergeRetryPolicy(t *v1.Target, changes *v1.RetryPolicy) {
	if changes == nil {
		return
	}
	if t.RetryPolicy == nil {
		t.RetryPolicy = &v1.RetryPolicy{}
	}
	if changes.MaxAttempts != nil {
		t.RetryPolicy.MaxAttempts = proto.Int32(changes.GetMaxAttempts())
	}
	if changes.MaxEventAge != nil {
		t.RetryPolicy.MaxEventAge = durationpb.New(changes.GetMaxEventAge().AsDuration())
	}
	if changes.BackoffBase != nil {
		t.RetryPolicy.BackoffBase = durationpb.New(changes.GetBackoffBase().AsDuration())
	}
	if changes.BackoffMax != nil {
		t.RetryPolicy.BackoffMax = durationpb.New(changes.GetBackoffMax().AsDuration())
	}
}

// inputPath selects the request body by a JSON path; "" sends the whole
// event again.
func inputPath(path string) *v1.Input {
	if path == "" {
		return nil
	}
	return &v1.Input{Kind: &v1.Input_Path{Path: path}}
}

// input returns the body that the input flags select, and whether any
// was given. The kinds exclude each other, since a body has one source.
func (f *ruleFlags) input(a *app, fs *pflag.FlagSet) (*v1.Input, bool, error) {
	var kinds []string
	for _, name := range []string{"input-path", "input-template", "form-field", "form-json-field"} {
		if fs.Changed(name) {
			kinds = append(kinds, "--"+name)
		}
	}
	if fs.Changed("form-field") && fs.Changed("form-json-field") {
		kinds = kinds[:len(kinds)-1]
	}
	if len(kinds) > 1 {
		return nil, false, usagef("use one of %s: a body has one source", strings.Join(kinds, ", "))
	}
	if fs.Changed("template-var") && !fs.Changed("input-template") && !fs.Changed("form-json-field") {
		return nil, false, usagef("--template-var needs --input-template or --form-json-field")
	}
	vars, err := parseKeyValues("template-var", f.vars)
	if err != nil {
		return nil, false, err
	}

	switch {
	case fs.Changed("input-path"):
		return inputPath(f.inputPath), true, nil
	case fs.Changed("input-template"):
		text, err := a.readSource("input-template", f.template)
		if err != nil {
			return nil, false, err
		}
		tmpl := &v1.InputTemplate{Paths: vars, Template: string(text)}
		return &v1.Input{Kind: &v1.Input_Template{Template: tmpl}}, true, nil
	case fs.Changed("form-field") || fs.Changed("form-json-field"):
		form, err := f.formBody(vars)
		if err != nil {
			return nil, false, err
		}
		return &v1.Input{Kind: &v1.Input_Form{Form: form}}, true, nil
	}
	return nil, false, nil
}

func (f *ruleFlags) formBody(vars map[string]string) (*v1.FormBody, error) {
	fields, err := parseKeyValues("form-field", f.formFields)
	if err != nil {
		return nil, err
	}
	templates, err := parseKeyValues("form-json-field", f.formJSON)
	if err != nil {
		return nil, err
	}
	form := &v1.FormBody{Fields: fields}
	for name, text := range templates {
		if form.JsonFields == nil {
			form.JsonFields = make(map[string]*v1.InputTemplate)
		}
		form.JsonFields[name] = &v1.InputTemplate{Paths: maps.Clone(vars), Template: text}
	}
	return form, nil
}

func targetIDs(targets []*v1.Target) string {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.GetId()
	}
	return strings.Join(ids, ",")
}

func (a *app) printRule(r *v1.Rule) error {
	if a.jsonOutput() {
		return a.printProto(r)
	}

	t := newTable(a.out)
	t.field("bus", r.GetBus())
	t.field("name", r.GetName())
	t.field("description", orDash(r.GetDescription()))
	t.field("state", ruleStateText(r.GetState()))
	t.field("pattern", r.GetEventPattern())
	for _, target := range r.GetTargets() {
		targetFields(t, target)
	}
	t.field("revision", itoa(r.GetRevision()))
	t.field("created", formatTime(r.GetCreateTime()))
	t.field("updated", formatTime(r.GetUpdateTime()))
	return t.flush()
}

func targetFields(t table, target *v1.Target) {
	t.field("target", target.GetId())
	t.field("  destination", target.GetApiDestination())
	for _, v := range target.GetPathValues() {
		t.field("  path value", v)
	}
	for _, k := range slices.Sorted(maps.Keys(target.GetHeaders())) {
		t.field("  header", k+"="+target.GetHeaders()[k])
	}
	for _, k := range slices.Sorted(maps.Keys(target.GetQuery())) {
		t.field("  query", k+"="+target.GetQuery()[k])
	}
	t.field("  input", inputText(target.GetInput()))
	// The default depends on the input: a form body is sent as a form.
	t.field("  content type", orDefault(target.GetContentType(),
		target.GetContentType() == "", render.ContentType(target)))

	p := target.GetRetryPolicy()
	noRetries := p == nil || p.MaxAttempts == nil
	t.field("  retries", orDefault(retriesText(p.GetMaxAttempts()), noRetries,
		retriesText(defaultMaxAttempts)))
	maxAge := p.GetMaxEventAge()
	t.field("  max age", orDefault(formatDuration(maxAge), maxAge == nil, "24h"))
	base, maxDelay := p.GetBackoffBase(), p.GetBackoffMax()
	t.field("  backoff base", orDefault(formatDuration(base), base == nil, "1s"))
	t.field("  backoff max", orDefault(formatDuration(maxDelay), maxDelay == nil, "5m"))
	t.field("  dead letter", onOffText(target.DeadLetter == nil || target.GetDeadLetter()))
}

// retriesText describes a retry policy's max attempts, which counts the
// retries after the first attempt, not the attempts.
func retriesText(maxAttempts int32) string {
	if maxAttempts == 0 {
		return "none, only the first attempt"
	}
	return "up to " + itoa(maxAttempts) + " after the first attempt"
}

func inputText(in *v1.Input) string {
	switch in.GetKind().(type) {
	case *v1.Input_Path:
		return "path " + in.GetPath()
	case *v1.Input_Constant:
		return "constant " + in.GetConstant()
	case *v1.Input_Template:
		return "template " + in.GetTemplate().GetTemplate()
	case *v1.Input_Form:
		form := in.GetForm()
		return "form with " + itoa(int32(len(form.GetFields())+len(form.GetJsonFields()))) + " fields"
	}
	return "whole event (default)"
}

func onOffText(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
