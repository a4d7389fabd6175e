package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Limits of a target. They bound the work of rendering each event and
// the size of a stored rule.
const (
	// MaxValueLength is the maximum length in characters of a path
	// value, header or query value, form field path or variable path.
	MaxValueLength = 512
	// MaxTemplateSize is the maximum size in bytes of a template, a
	// constant body or a constant form field.
	MaxTemplateSize = 8 << 10
	// MaxVariables is the maximum number of template variables, and of
	// form fields.
	MaxVariables = 100
)

// sampleKinds are values of each JSON kind, with hostile text in the
// string, that a JSON template must turn into valid JSON. A nil value
// stands for a path that selects nothing.
var sampleKinds = []struct {
	kind  string
	value json.RawMessage
}{
	{"strings", json.RawMessage(`"q\"\\\n</script>\u2028 <b>"`)},
	{"numbers", json.RawMessage(`-1.5e3`)},
	{"objects", json.RawMessage(`{"a":[1,"x"]}`)},
	{"arrays", json.RawMessage(`[]`)},
	{"booleans", json.RawMessage(`true`)},
	{"null", json.RawMessage(`null`)},
	{"missing", nil},
}

// ValidateTarget checks the values, input and limits of a target that
// Request reads, without an event. It returns a *FieldError naming the
// field, such as `input.template: unknown variable <branch>`, that wraps
// ErrInvalidPath, ErrUnknownVariable, ErrInvalidVariable,
// ErrInvalidJSON, ErrTooLarge, ErrInvalidHeaderValue or
// ErrInvalidPathValue.
//
// A target that passes renders for every event that is a JSON object,
// except that a header value taken from the event may hold a control
// character, and a path value taken from the event may be empty, "." or
// "..".
func ValidateTarget(t *v1.Target) error {
	for i, spec := range t.GetPathValues() {
		if err := checkPathValueSpec(fmt.Sprintf("path_values[%d]", i), spec); err != nil {
			return pathValueError(i, spec, err)
		}
	}
	for _, name := range sortedKeys(t.GetHeaders()) {
		if err := checkHeader(name, t.GetHeaders()[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(t.GetQuery()) {
		field := fmt.Sprintf("query[%q]", name)
		if err := checkValue(field, t.GetQuery()[name], MaxValueLength); err != nil {
			return err
		}
	}
	return checkInput(t.GetInput(), formatOf(ContentType(t)))
}

// checkValue checks a constant or a path against its length limit.
func checkValue(field, spec string, maxConstant int) error {
	if isPath(spec) {
		return checkPath(field, spec)
	}
	if n := utf8.RuneCountInString(spec); n > maxConstant {
		return fieldErrorf(field, "%w: the constant has %d characters; the maximum is %d",
			ErrTooLarge, n, maxConstant)
	}
	return nil
}

// checkPathValueSpec checks a path value's constant or path. A constant
// "." or ".." is rejected here, since Request would reject it for every
// event. The caller decides about an empty constant.
func checkPathValueSpec(field, spec string) error {
	if err := checkValue(field, spec, MaxValueLength); err != nil {
		return err
	}
	if isPath(spec) || spec == "" {
		return nil
	}
	if err := checkPathValueOf(spec, spec); err != nil {
		return &FieldError{Field: field, Err: err}
	}
	return nil
}

func checkPath(field, spec string) error {
	if n := utf8.RuneCountInString(spec); n > MaxValueLength {
		return fieldErrorf(field, "%w: the path has %d characters; the maximum is %d",
			ErrTooLarge, n, MaxValueLength)
	}
	if _, err := parsePath(spec); err != nil {
		return &FieldError{Field: field, Err: err}
	}
	return nil
}

func checkHeader(name, spec string) error {
	field := fmt.Sprintf("headers[%q]", name)
	if err := checkValue(field, spec, MaxValueLength); err != nil {
		return err
	}
	if i := strings.IndexFunc(spec, isControl); i >= 0 && !isPath(spec) {
		return fieldErrorf(field, "%w: the constant contains the control character %q, "+
			"which HTTP headers cannot carry", ErrInvalidHeaderValue, spec[i])
	}
	return nil
}

func checkInput(in *v1.Input, f format) error {
	switch kind := in.GetKind().(type) {
	case *v1.Input_Path:
		return checkPath("input.path", kind.Path)

	case *v1.Input_Constant:
		return checkConstant(kind.Constant, f == formatJSON)

	case *v1.Input_Form:
		return checkForm(kind.Form)

	case *v1.Input_Template:
		return checkTemplate("input.template", kind.Template, f)
	}
	return nil
}

func checkConstant(constant string, jsonMode bool) error {
	if len(constant) > MaxTemplateSize {
		return fieldErrorf("input.constant", "%w: the constant has %d bytes; the maximum is %d",
			ErrTooLarge, len(constant), MaxTemplateSize)
	}
	if jsonMode && !json.Valid([]byte(constant)) {
		return fieldErrorf("input.constant", "%w, but the content type is JSON; "+
			"fix the JSON or set a content type that is not JSON, such as text/plain", ErrInvalidJSON)
	}
	return nil
}

func checkForm(f *v1.FormBody) error {
	if n := len(f.GetFields()) + len(f.GetJsonFields()); n > MaxVariables {
		return fieldErrorf("input.form.fields", "%w: %d fields; the maximum is %d",
			ErrTooLarge, n, MaxVariables)
	}
	for _, name := range sortedKeys(f.GetFields()) {
		field := fmt.Sprintf("input.form.fields[%q]", name)
		if err := checkValue(field, f.GetFields()[name], MaxTemplateSize); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(f.GetJsonFields())) {
		t := f.GetJsonFields()[name]
		if _, dup := f.GetFields()[name]; dup {
			return fieldErrorf(fmt.Sprintf("input.form.json_fields[%q]", name),
				"%w: the field is also a plain form field; give it once", ErrInvalidVariable)
		}
		field := fmt.Sprintf("input.form.json_fields[%q]", name)
		if err := checkTemplate(field, t, formatJSON); err != nil {
			return err
		}
	}
	return nil
}

// checkTemplate checks the template at field, rendered in format f.
func checkTemplate(field string, t *v1.InputTemplate, f format) error {
	if err := checkVariables(field+".paths", t.GetPaths()); err != nil {
		return err
	}
	if n := len(t.GetTemplate()); n > MaxTemplateSize {
		return fieldErrorf(field, "%w: the template has %d bytes; the maximum is %d",
			ErrTooLarge, n, MaxTemplateSize)
	}

	segments := parseTemplate(t.GetTemplate(), f == formatJSON)
	for _, s := range segments {
		_, declared := t.GetPaths()[s.variable]
		if s.variable != "" && !declared && !isBuiltin(s.variable) {
			return fieldErrorf(field, "%w <%s>; declare it as a template variable with its JSON path, "+
				`or write \<%s> for the literal text`, ErrUnknownVariable, s.variable, s.variable)
		}
	}
	if err := checkOtherPlaceholders(field, t, segments); err != nil {
		return err
	}
	if f == formatJSON {
		return checkTemplateJSON(field, segments)
	}
	return nil
}

// checkOtherPlaceholders rejects a template that writes a declared
// variable in another template language's syntax, such as {{ref}} or
// ${ref}, and never as <ref>, because that text would be sent unchanged.
// A variable that the template does not mention at all is allowed.
func checkOtherPlaceholders(field string, t *v1.InputTemplate, segments []segment) error {
	used := map[string]bool{}
	for _, s := range segments {
		used[s.variable] = true
	}
	for _, name := range sortedKeys(t.GetPaths()) {
		if used[name] {
			continue
		}
		for _, form := range []string{"{{" + name + "}}", "{{ " + name + " }}", "${" + name + "}"} {
			if strings.Contains(t.GetTemplate(), form) {
				return fieldErrorf(field, "%w: the template writes %s, which is sent "+
					"unchanged; write the variable %q as <%s>", ErrUnknownVariable, form, name, name)
			}
		}
	}
	return nil
}

func checkVariables(prefix string, paths map[string]string) error {
	if n := len(paths); n > MaxVariables {
		return fieldErrorf(prefix, "%w: %d variables; the maximum is %d",
			ErrTooLarge, n, MaxVariables)
	}
	for _, name := range sortedKeys(paths) {
		field := fmt.Sprintf("%s[%q]", prefix, name)
		switch {
		case !validName(name):
			return fieldErrorf(field, "%w: use letters, digits, _, - and ., "+
				"starting with a letter or _", ErrInvalidVariable)
		case strings.HasPrefix(name, builtinPrefix):
			return fieldErrorf(field, "%w: names starting with %q are reserved for "+
				"built-in variables", ErrInvalidVariable, builtinPrefix)
		}
		if err := checkPath(field, paths[name]); err != nil {
			return err
		}
	}
	return nil
}

// checkTemplateJSON renders a JSON template with every variable set to a
// value of one kind, for each kind, and fails unless each result is
// valid JSON.
func checkTemplateJSON(field string, segments []segment) error {
	for _, sample := range sampleKinds {
		value := func(string) (json.RawMessage, bool, error) {
			return sample.value, sample.value != nil, nil
		}
		body, err := execute(segments, formatJSON, value)
		if err != nil {
			return &FieldError{Field: field, Err: err}
		}
		if err := json.Unmarshal(body, new(any)); err != nil {
			return fieldErrorf(field, "%w when the variables are %s: %v; "+
				`quote placeholders that must be strings ("<name>"), or set a content type `+
				"that is not JSON, such as text/plain", ErrInvalidJSON, sample.kind, err)
		}
	}
	return nil
}
