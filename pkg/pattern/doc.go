// Package pattern matches JSON events against event patterns written in the
// Amazon EventBridge pattern language, with one extension.
//
// # Language
//
// A pattern is a JSON object that mirrors the shape of the events it
// selects. Each leaf is an array of conditions. An event matches when every
// field of the pattern matches (AND) and a field matches when one of its
// conditions matches one value of the field (OR):
//
//	{"type": ["com.github.push"], "data": {"ref": [{"prefix": "refs/heads/"}]}}
//
// The conditions are:
//
//   - An exact value: a string, number, true, false or null. "" and null
//     differ. Numbers compare by value, so 5, 5.0 and 5e0 are equal.
//   - {"prefix": s} and {"suffix": s}, also as
//     {"prefix": {"equals-ignore-case": s}}.
//   - {"equals-ignore-case": s}, with simple Unicode case folding as in
//     strings.EqualFold.
//   - {"wildcard": s}, where '*' matches any run of characters, `\*` is a
//     literal star and `\\` a literal backslash. Two stars in a row are
//     invalid.
//   - {"contains": s}, a substring test. This is an extension: Amazon
//     EventBridge has no such operator.
//   - {"anything-but": x}, where x is a string, a number, a list of
//     strings, a list of numbers, or an object with prefix, suffix,
//     equals-ignore-case or wildcard of a string or a list of strings.
//     It matches a value that matches none of them.
//   - {"numeric": [">", 0, "<=", 5]} with one lower and one upper bound, or
//     one comparison such as ["=", 3] or ["<", 10]. It matches numbers only.
//   - {"cidr": "10.0.0.0/24"}, for IPv4 and IPv6 address strings.
//   - {"exists": true} and {"exists": false}.
//
// String operators match only strings, so prefix never matches a number.
// A missing field matches only {"exists": false}, so it does not match
// anything-but either. Only scalar values count as present, so a field
// whose value is an object or an empty array counts as missing.
//
// An array in the event matches when one of its elements matches. A
// nested pattern object matched against an array of objects must match one
// element as a whole, so that fields of different elements never combine.
// An {"exists": false} inside such an object therefore matches when one
// element lacks the field. NOTE: this case is not checked against Amazon
// EventBridge, which may instead require that no element has the field.
//
// "$or": [p1, p2, ...] at any level of the pattern requires one of two or
// more alternative pattern objects to match the same event object as the
// fields beside it.
//
// Validate and Builder.Add reject an invalid pattern with an *Error that
// names the JSON path of the problem, such as
// `data.ref[0]: unknown operator "prefx"`. The Max constants limit the
// pattern size, nesting depth, values per field and $or combinations.
//
// # Design
//
// Builder.Build compiles all patterns of a bus into one Matcher. The field
// paths of all patterns form a trie, and Match reads the event once,
// skipping every member whose path no pattern names and keeping the rest in
// a small reusable tree. Each trie node indexes rules by the values they
// require at its path: exact values, prefixes and suffixes (also those of
// wildcards), and strings under case folding. Build files every rule under
// its most selective required field, the one whose values the fewest other
// rules share, such as type, source or an id in data. A rule is evaluated
// only if the event has one of those values, so the cost of an event grows
// with its size and with the rules that share its values, not with the
// number of rules. Expensive operators such as wildcard or anything-but run
// only for these candidates. A rule with no indexable field, such as one
// that tests only numeric ranges, is evaluated for every event.
//
// A Matcher is immutable. To change rules, build a new one aside and swap
// it in atomically, for example with atomic.Pointer, so matching never
// waits for a rebuild.
package pattern
