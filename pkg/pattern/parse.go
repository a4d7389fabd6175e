package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// objectPattern is a parsed pattern object. It matches when every field
// matches and, for each $or group, at least one alternative matches.
type objectPattern struct {
	fields []fieldPattern
	ors    [][]*objectPattern
}

// fieldPattern is one field of a pattern object: either the conditions of
// a leaf or a nested object.
type fieldPattern struct {
	key    string
	leaf   *leafPattern
	object *objectPattern
}

// leafPattern is the array of conditions of a field. It matches when one
// scalar value of the field matches one condition, or, with existsFalse,
// when the field has no scalar value.
type leafPattern struct {
	conds       []cond
	existsFalse bool
}

// Validate parses src as an event pattern. The error, an *Error, names the
// JSON path of the problem and what is expected there, for example
// `data.ref[0]: unknown operator "prefx"`.
func Validate(src []byte) error {
	_, err := parsePattern(src)
	return err
}

func parsePattern(src []byte) (*objectPattern, error) {
	if len(src) > MaxPatternBytes {
		msg := fmt.Sprintf("pattern is %d bytes; the maximum is %d", len(src), MaxPatternBytes)
		return nil, errorAt("", msg)
	}
	decoder := json.NewDecoder(bytes.NewReader(src))
	decoder.UseNumber()
	var v any
	if err := decoder.Decode(&v); err != nil {
		return nil, errorAt("", "invalid JSON: "+err.Error())
	}
	if _, err := decoder.Token(); err != io.EOF {
		return nil, errorAt("", "invalid JSON: unexpected data after the pattern object")
	}
	object, ok := v.(map[string]any)
	if !ok {
		return nil, errorAt("", "expected a JSON object, found "+typeName(v))
	}
	p, _, err := parseObject("", object, 1)
	return p, err
}

// parseObject parses a pattern object and returns it with the number of
// combinations its $or groups expand to.
func parseObject(path string, object map[string]any, depth int) (*objectPattern, int, error) {
	if depth > MaxDepth {
		msg := fmt.Sprintf("nesting is deeper than the maximum of %d levels", MaxDepth)
		return nil, 0, errorAt(path, msg)
	}
	if len(object) == 0 {
		return nil, 0, errorAt(path, "empty object; expected at least one field")
	}
	p := &objectPattern{}
	combinations := 1
	for _, key := range sortedKeys(object) {
		fieldPath := joinKey(path, key)
		var n int
		var err error
		if key == "$or" {
			n, err = p.parseOr(fieldPath, object[key], depth)
		} else {
			n, err = p.parseField(fieldPath, key, object[key], depth)
		}
		if err != nil {
			return nil, 0, err
		}
		combinations = multiplyCapped(combinations, n)
		if combinations > MaxCombinations {
			return nil, 0, errorAt(path, tooManyCombinations)
		}
	}
	return p, combinations, nil
}

var tooManyCombinations = fmt.Sprintf(
	"$or expands to more than %d combinations; split the rule", MaxCombinations)

func (p *objectPattern) parseField(path, key string, v any, depth int) (int, error) {
	switch v := v.(type) {
	case []any:
		leaf, err := parseLeaf(path, v)
		if err != nil {
			return 0, err
		}
		p.fields = append(p.fields, fieldPattern{key: key, leaf: leaf})
		return 1, nil
	case map[string]any:
		object, n, err := parseObject(path, v, depth+1)
		if err != nil {
			return 0, err
		}
		p.fields = append(p.fields, fieldPattern{key: key, object: object})
		return n, nil
	}
	return 0, errorAt(path, "expected an array of conditions or an object, found "+typeName(v))
}

func (p *objectPattern) parseOr(path string, v any, depth int) (int, error) {
	list, ok := v.([]any)
	if !ok || len(list) < 2 {
		return 0, errorAt(path, "expected an array of at least two pattern objects")
	}
	group := make([]*objectPattern, 0, len(list))
	combinations := 0
	for i, item := range list {
		itemPath := joinIndex(path, i)
		object, ok := item.(map[string]any)
		if !ok {
			return 0, errorAt(itemPath, "expected a pattern object, found "+typeName(item))
		}
		alternative, n, err := parseObject(itemPath, object, depth+1)
		if err != nil {
			return 0, err
		}
		group = append(group, alternative)
		combinations = min(combinations+n, MaxCombinations+1)
	}
	if combinations > MaxCombinations {
		return 0, errorAt(path, tooManyCombinations)
	}
	p.ors = append(p.ors, group)
	return combinations, nil
}

func parseLeaf(path string, list []any) (*leafPattern, error) {
	if len(list) == 0 {
		return nil, errorAt(path, "empty array; expected at least one condition")
	}
	if len(list) > MaxValuesPerField {
		msg := fmt.Sprintf("%d conditions; the maximum is %d", len(list), MaxValuesPerField)
		return nil, errorAt(path, msg)
	}
	leaf := &leafPattern{}
	for i, item := range list {
		c, err := parseCondition(joinIndex(path, i), item)
		if err != nil {
			return nil, err
		}
		if c.op == opExists && c.kind == kindFalse {
			leaf.existsFalse = true
			continue
		}
		c.setIndexKey()
		leaf.conds = append(leaf.conds, c)
	}
	return leaf, nil
}

// parseCondition parses one element of a field's array. It returns
// exists:false as an opExists condition of kind kindFalse.
func parseCondition(path string, v any) (cond, error) {
	switch v := v.(type) {
	case map[string]any:
		return parseOperator(path, v)
	case []any:
		return cond{}, errorAt(path, "expected a value or an operator object, found array")
	}
	return parseValue(path, v)
}

// parseValue parses an exact value: a string, number, boolean or null.
func parseValue(path string, v any) (cond, error) {
	switch v := v.(type) {
	case string:
		return cond{op: opExact, kind: kindString, text: []byte(v)}, nil
	case json.Number:
		if _, err := parseNumber(path, v); err != nil {
			return cond{}, err
		}
		text := appendCanonicalNumber(nil, []byte(v))
		return cond{op: opExact, kind: kindNumber, text: text}, nil
	case bool:
		if v {
			return cond{op: opExact, kind: kindTrue}, nil
		}
		return cond{op: opExact, kind: kindFalse}, nil
	case nil:
		return cond{op: opExact, kind: kindNull}, nil
	}
	return cond{}, errorAt(path, "expected a string, number, boolean or null, found "+typeName(v))
}

func parseNumber(path string, n json.Number) (float64, error) {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0, errorAt(path, fmt.Sprintf("number %s is out of range", n))
	}
	return f, nil
}

func sortedKeys(object map[string]any) []string {
	keys := make([]string, 0, len(object))
	for key := range object {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func multiplyCapped(a, b int) int {
	if a > MaxCombinations || b > MaxCombinations || a*b > MaxCombinations {
		return MaxCombinations + 1
	}
	return a * b
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
