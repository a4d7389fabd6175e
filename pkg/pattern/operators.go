package pattern

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
)

// parseOperator parses an operator object such as {"prefix": "a"}.
func parseOperator(path string, object map[string]any) (cond, error) {
	if len(object) != 1 {
		msg := fmt.Sprintf("expected an object with one operator, found %d fields", len(object))
		return cond{}, errorAt(path, msg)
	}
	name, arg := onlyEntry(object)
	argPath := joinKey(path, name)
	switch name {
	case "prefix", "suffix":
		return parseAffix(argPath, name, arg)
	case "equals-ignore-case":
		return parseStringOperand(argPath, opEqualFold, arg)
	case "contains":
		return parseStringOperand(argPath, opContains, arg)
	case "wildcard":
		return parseWildcard(argPath, arg)
	case "anything-but":
		return parseAnythingBut(argPath, arg)
	case "numeric":
		return parseNumeric(argPath, arg)
	case "cidr":
		return parseCIDR(argPath, arg)
	case "exists":
		return parseExists(argPath, arg)
	}
	return cond{}, errorAt(path, fmt.Sprintf("unknown operator %q", name))
}

// parseAffix parses the operand of prefix or suffix: a string, or
// {"equals-ignore-case": string}.
func parseAffix(path, name string, arg any) (cond, error) {
	op, foldOp := opPrefix, opPrefixFold
	if name == "suffix" {
		op, foldOp = opSuffix, opSuffixFold
	}
	if s, ok := arg.(string); ok {
		return cond{op: op, text: []byte(s)}, nil
	}
	if object, ok := arg.(map[string]any); ok && len(object) == 1 {
		if inner, ok := object["equals-ignore-case"]; ok {
			return parseStringOperand(joinKey(path, "equals-ignore-case"), foldOp, inner)
		}
	}
	msg := `expected a string or {"equals-ignore-case": string}, found ` + typeName(arg)
	return cond{}, errorAt(path, msg)
}

func parseStringOperand(path string, op operator, arg any) (cond, error) {
	s, ok := arg.(string)
	if !ok {
		return cond{}, errorAt(path, "expected a string, found "+typeName(arg))
	}
	return cond{op: op, text: []byte(s)}, nil
}

// parseWildcard parses a wildcard, in which '*' matches any run of
// characters, `\*` is a literal star and `\\` a literal backslash.
func parseWildcard(path string, arg any) (cond, error) {
	s, ok := arg.(string)
	if !ok {
		return cond{}, errorAt(path, "expected a string, found "+typeName(arg))
	}
	var segments [][]byte
	var segment []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 == len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return cond{}, errorAt(path, `invalid escape; only \* and \\ are allowed`)
			}
			i++
			segment = append(segment, s[i])
		case c == '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return cond{}, errorAt(path, "consecutive '*' characters are not allowed")
			}
			segments = append(segments, segment)
			segment = nil
		default:
			segment = append(segment, c)
		}
	}
	segments = append(segments, segment)
	return cond{op: opWildcard, segments: segments}, nil
}

func parseExists(path string, arg any) (cond, error) {
	b, ok := arg.(bool)
	if !ok {
		return cond{}, errorAt(path, "expected true or false, found "+typeName(arg))
	}
	if b {
		return cond{op: opExists, kind: kindTrue}, nil
	}
	return cond{op: opExists, kind: kindFalse}, nil
}

func parseCIDR(path string, arg any) (cond, error) {
	s, ok := arg.(string)
	if !ok {
		return cond{}, errorAt(path, "expected a CIDR string, found "+typeName(arg))
	}
	prefix, err := netip.ParsePrefix(s)
	if err != nil {
		msg := fmt.Sprintf("invalid CIDR %q; expected a form such as 10.0.0.0/24 or 2001:db8::/32", s)
		return cond{}, errorAt(path, msg)
	}
	return cond{op: opCIDR, prefix: prefix.Masked()}, nil
}

// parseNumeric parses ["=", 3], [">", 0] or a range such as [">", 0, "<=", 5].
func parseNumeric(path string, arg any) (cond, error) {
	list, ok := arg.([]any)
	if !ok || (len(list) != 2 && len(list) != 4) {
		msg := `expected [operator, number] or [lower operator, number, upper operator, number]`
		return cond{}, errorAt(path, msg)
	}
	c := cond{op: opNumeric}
	for i := 0; i < len(list); i += 2 {
		if err := c.addComparison(path, i, list[i], list[i+1], len(list) == 2); err != nil {
			return cond{}, err
		}
	}
	if c.lower.set && c.upper.set && emptyRange(c.lower, c.upper) {
		return cond{}, errorAt(path, "numeric range is empty")
	}
	return c, nil
}

func (c *cond) addComparison(path string, i int, opArg, numArg any, alone bool) error {
	op, ok := opArg.(string)
	if !ok {
		return errorAt(joinIndex(path, i), `expected one of "=", "<", "<=", ">", ">="`)
	}
	n, ok := numArg.(json.Number)
	if !ok {
		return errorAt(joinIndex(path, i+1), "expected a number, found "+typeName(numArg))
	}
	value, err := parseNumber(joinIndex(path, i+1), n)
	if err != nil {
		return err
	}
	b := bound{set: true, inclusive: op == "=" || op == "<=" || op == ">=", value: value}
	switch {
	case op == "=" && alone:
		c.lower, c.upper = b, b
	case (op == ">" || op == ">=") && !c.lower.set:
		c.lower = b
	case (op == "<" || op == "<=") && !c.upper.set:
		c.upper = b
	default:
		msg := fmt.Sprintf("unexpected operator %q; a range needs one of > >= and one of < <=", op)
		return errorAt(joinIndex(path, i), msg)
	}
	return nil
}

func emptyRange(lower, upper bound) bool {
	if lower.value != upper.value {
		return lower.value > upper.value
	}
	return !lower.inclusive || !upper.inclusive
}

// parseAnythingBut parses the operand of anything-but: a string, a
// number, a list of strings or of numbers, or an object with prefix,
// suffix, equals-ignore-case or wildcard.
func parseAnythingBut(path string, arg any) (cond, error) {
	switch arg := arg.(type) {
	case string, json.Number:
		c, err := parseValue(path, arg)
		return cond{op: opAnythingBut, not: []cond{c}}, err
	case []any:
		not, err := parseAnythingButList(path, arg)
		return cond{op: opAnythingBut, not: not}, err
	case map[string]any:
		not, err := parseAnythingButOperator(path, arg)
		return cond{op: opAnythingBut, not: not}, err
	}
	msg := "expected a string, a number, a list of strings or numbers, " +
		"or an object with prefix, suffix, equals-ignore-case or wildcard"
	return cond{}, errorAt(path, msg+", found "+typeName(arg))
}

func parseAnythingButList(path string, list []any) ([]cond, error) {
	if len(list) == 0 || len(list) > MaxValuesPerField {
		msg := fmt.Sprintf("expected a list of 1 to %d values", MaxValuesPerField)
		return nil, errorAt(path, msg)
	}
	not := make([]cond, 0, len(list))
	for i, item := range list {
		itemPath := joinIndex(path, i)
		if typeName(item) != typeName(list[0]) {
			return nil, errorAt(itemPath, "expected only strings or only numbers in the list")
		}
		if _, ok := item.(string); !ok {
			if _, ok := item.(json.Number); !ok {
				return nil, errorAt(itemPath, "expected a string or number, found "+typeName(item))
			}
		}
		c, err := parseValue(itemPath, item)
		if err != nil {
			return nil, err
		}
		not = append(not, c)
	}
	return not, nil
}

func parseAnythingButOperator(path string, object map[string]any) ([]cond, error) {
	const expected = "expected an object with one of prefix, suffix, equals-ignore-case, wildcard"
	if len(object) != 1 {
		return nil, errorAt(path, expected)
	}
	name, arg := onlyEntry(object)
	argPath := joinKey(path, name)
	if !slices.Contains([]string{"prefix", "suffix", "equals-ignore-case", "wildcard"}, name) {
		return nil, errorAt(path, fmt.Sprintf("%s, found %q", expected, name))
	}

	operands, ok := arg.([]any)
	if !ok {
		operands = []any{arg}
	} else if len(operands) == 0 || len(operands) > MaxValuesPerField {
		msg := fmt.Sprintf("expected a string or a list of 1 to %d strings", MaxValuesPerField)
		return nil, errorAt(argPath, msg)
	}

	not := make([]cond, 0, len(operands))
	for i, operand := range operands {
		operandPath := argPath
		if ok {
			operandPath = joinIndex(argPath, i)
		}
		c, err := parseNegated(operandPath, name, operand)
		if err != nil {
			return nil, err
		}
		not = append(not, c)
	}
	return not, nil
}

// parseNegated parses one string operand of anything-but's inner operator.
// An empty operand is rejected because anything-but of it would match
// no string, which is almost certainly a mistake.
func parseNegated(path, name string, operand any) (cond, error) {
	s, ok := operand.(string)
	if !ok || (s == "" && name != "equals-ignore-case") {
		return cond{}, errorAt(path, "expected a non-empty string, found "+describe(operand))
	}
	switch name {
	case "prefix":
		return cond{op: opPrefix, text: []byte(s)}, nil
	case "suffix":
		return cond{op: opSuffix, text: []byte(s)}, nil
	case "equals-ignore-case":
		return cond{op: opEqualFold, text: []byte(s)}, nil
	}
	return parseWildcard(path, s)
}

// onlyEntry returns the key and value of an object with one field.
func onlyEntry(object map[string]any) (string, any) {
	for key, value := range object {
		return key, value
	}
	return "", nil
}

func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return typeName(v)
}
