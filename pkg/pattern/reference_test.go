package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds a reference matcher: a direct interpreter of a pattern
// decoded by encoding/json, written for clarity and not speed. The
// differential tests check that the compiled Matcher agrees with it.

// absent stands for a missing field.
type absent struct{}

// referenceMatch reports whether the event matches the pattern, both
// given as JSON text. The pattern must be valid.
func referenceMatch(pattern, event []byte) (bool, error) {
	var p map[string]any
	if err := decodeJSON(pattern, &p); err != nil {
		return false, err
	}
	var e any
	if err := decodeJSON(event, &e); err != nil {
		return false, err
	}
	if _, ok := e.(map[string]any); !ok {
		return false, fmt.Errorf("event is %T, not an object", e)
	}
	return referenceObject(p, e), nil
}

func decodeJSON(src []byte, v any) error {
	if !json.Valid(src) {
		return fmt.Errorf("invalid JSON: %q", src)
	}
	d := json.NewDecoder(bytes.NewReader(src))
	d.UseNumber()
	return d.Decode(v)
}

// referenceObject matches a pattern object against an event value. An
// array matches when one element matches, and an empty array counts as
// a missing value.
func referenceObject(p map[string]any, v any) bool {
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return referenceObject(p, absent{})
		}
		for _, element := range list {
			if referenceObject(p, element) {
				return true
			}
		}
		return false
	}
	object, _ := v.(map[string]any)
	for key, sub := range p {
		if key == "$or" {
			if !referenceOr(sub.([]any), v) {
				return false
			}
			continue
		}
		child, ok := object[key]
		if !ok {
			child = absent{}
		}
		switch sub := sub.(type) {
		case map[string]any:
			if !referenceObject(sub, child) {
				return false
			}
		case []any:
			if !referenceLeaf(sub, child) {
				return false
			}
		}
	}
	return true
}

func referenceOr(alternatives []any, v any) bool {
	for _, alternative := range alternatives {
		if referenceObject(alternative.(map[string]any), v) {
			return true
		}
	}
	return false
}

func referenceLeaf(conditions []any, v any) bool {
	values := scalarsOf(v)
	for _, c := range conditions {
		if isExistsFalse(c) {
			if len(values) == 0 {
				return true
			}
			continue
		}
		for _, value := range values {
			if referenceCondition(c, value) {
				return true
			}
		}
	}
	return false
}

func isExistsFalse(c any) bool {
	object, ok := c.(map[string]any)
	return ok && object["exists"] == false
}

// scalarsOf returns the strings, numbers, booleans and nulls of v,
// flattening arrays and leaving out objects.
func scalarsOf(v any) []any {
	switch v := v.(type) {
	case absent, map[string]any:
		return nil
	case []any:
		var out []any
		for _, element := range v {
			out = append(out, scalarsOf(element)...)
		}
		return out
	}
	return []any{v}
}

func referenceCondition(c, v any) bool {
	object, ok := c.(map[string]any)
	if !ok {
		return referenceEqual(c, v)
	}
	for op, arg := range object {
		return referenceOperator(op, arg, v)
	}
	return false
}

func referenceOperator(op string, arg, v any) bool {
	s, isString := v.(string)
	switch op {
	case "exists":
		return arg == true
	case "anything-but":
		return !referenceAnyOf(arg, v)
	case "numeric":
		n, ok := v.(json.Number)
		return ok && referenceNumeric(arg.([]any), n)
	}
	if !isString {
		return false
	}
	switch op {
	case "prefix", "suffix":
		if text, ok := arg.(string); ok {
			if op == "prefix" {
				return strings.HasPrefix(s, text)
			}
			return strings.HasSuffix(s, text)
		}
		text := arg.(map[string]any)["equals-ignore-case"].(string)
		return affixFold(op, s, text)
	case "equals-ignore-case":
		return strings.EqualFold(s, arg.(string))
	case "contains":
		return strings.Contains(s, arg.(string))
	case "wildcard":
		return wildcardRegexp(arg.(string)).MatchString(s)
	case "cidr":
		addr, err := netip.ParseAddr(s)
		prefix := netip.MustParsePrefix(arg.(string)).Masked()
		return err == nil && prefix.Contains(addr)
	}
	panic("unknown operator " + op)
}

// referenceAnyOf reports whether v matches the operand of anything-but.
func referenceAnyOf(arg, v any) bool {
	switch arg := arg.(type) {
	case []any:
		for _, item := range arg {
			if referenceEqual(item, v) {
				return true
			}
		}
		return false
	case map[string]any:
		for op, operand := range arg {
			operands, ok := operand.([]any)
			if !ok {
				operands = []any{operand}
			}
			for _, item := range operands {
				if referenceOperator(op, item, v) {
					return true
				}
			}
		}
		return false
	}
	return referenceEqual(arg, v)
}

// affixFold compares the first or last runes of s with text, as many
// runes as text has, ignoring case.
func affixFold(op, s, text string) bool {
	runes := []rune(s)
	n := utf8.RuneCountInString(text)
	if len(runes) < n {
		return false
	}
	if op == "prefix" {
		return strings.EqualFold(string(runes[:n]), text)
	}
	return strings.EqualFold(string(runes[len(runes)-n:]), text)
}

var wildcardCache = map[string]*regexp.Regexp{}

func wildcardRegexp(w string) *regexp.Regexp {
	if re, ok := wildcardCache[w]; ok {
		return re
	}
	var expr strings.Builder
	expr.WriteString(`(?s)^`)
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '\\':
			i++
			expr.WriteString(regexp.QuoteMeta(w[i : i+1]))
		case '*':
			expr.WriteString(`.*`)
		default:
			expr.WriteString(regexp.QuoteMeta(w[i : i+1]))
		}
	}
	expr.WriteString(`$`)
	re := regexp.MustCompile(expr.String())
	wildcardCache[w] = re
	return re
}

func referenceNumeric(comparisons []any, n json.Number) bool {
	x, _ := strconv.ParseFloat(string(n), 64)
	for i := 0; i < len(comparisons); i += 2 {
		bound, _ := strconv.ParseFloat(string(comparisons[i+1].(json.Number)), 64)
		var ok bool
		switch comparisons[i] {
		case "=":
			ok = x == bound
		case "<":
			ok = x < bound
		case "<=":
			ok = x <= bound
		case ">":
			ok = x > bound
		case ">=":
			ok = x >= bound
		}
		if !ok {
			return false
		}
	}
	return true
}

// referenceEqual compares two JSON values, numbers by exact value.
func referenceEqual(a, b any) bool {
	an, aNumber := a.(json.Number)
	bn, bNumber := b.(json.Number)
	if aNumber && bNumber {
		x, okX := new(big.Rat).SetString(string(an))
		y, okY := new(big.Rat).SetString(string(bn))
		return okX && okY && x.Cmp(y) == 0
	}
	if aNumber || bNumber {
		return false
	}
	return a == b
}
