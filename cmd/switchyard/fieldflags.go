package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// fieldFlags returns the flag, such as "--url", or the argument, such
// as "NAME", that sets a field of the request a command sent. path is the
// field path of a BadRequest field violation, such as
// rule.targets[0].headers["X-Ref"]. found is false for a field it does
// not know, and flag is "" for a field that no flag sets.
type fieldFlags func(path string) (flag string, found bool)

// requestError is a config service error about a request that a command
// built from its flags.
type requestError struct {
	err   error
	flags fieldFlags
}

func (e requestError) Error() string { return e.err.Error() }
func (e requestError) Unwrap() error { return e.err }

// withFlags attaches the flags of a command to the error of its request.
func withFlags(err error, flags fieldFlags) error {
	if err == nil {
		return nil
	}
	return requestError{err: err, flags: flags}
}

// requestFieldFlags are the fields of requests whose flag is the same in
// every command that sends them: the names and filters of get, list,
// delete, dlq and replay commands.
var requestFieldFlags = map[string]string{
	"name":       "NAME",
	"bus":        "--bus",
	"rule":       "--rule",
	"since":      "--since",
	"id":         "ID",
	"ids":        "--ids",
	"event_id":   "EVENT_ID",
	"start_time": "--from",
	"end_time":   "--to",
	"replay_id":  "--id",
}

// invalidArgument returns the lines that report an InvalidArgument
// status of the config service, each naming the flag to fix, such as
// "invalid --url: the destination URL ...". It returns nil for other
// errors, and for a status without field violations.
func invalidArgument(err error) []string {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return nil
	}
	var flags fieldFlags
	var fe requestError
	if errors.As(err, &fe) {
		flags = fe.flags
	}

	var lines []string
	for _, detail := range st.Details() {
		br, ok := detail.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			flag := flagOf(flags, v.GetField())
			if flag == "" {
				lines = append(lines, v.GetDescription())
				continue
			}
			lines = append(lines, fmt.Sprintf("invalid %s: %s", flag, v.GetDescription()))
		}
	}
	return lines
}

// flagOf names the flag for path: the command's, the one common to all
// commands, or else the field path itself. It returns "" for a field
// that no flag of the command sets.
func flagOf(flags fieldFlags, path string) string {
	if flags != nil {
		if flag, found := flags(path); found {
			return flag
		}
	}
	if flag, found := lookupField(requestFieldFlags, path); found {
		return flag
	}
	return path
}

// lookupField returns the flag in table for path without its indexes and
// map keys, or for the nearest enclosing field that table has, such as
// rule.targets.input.template for rule.targets[0].input.template.paths.
func lookupField(table map[string]string, path string) (string, bool) {
	p := stripIndexes(path)
	for p != "" {
		if flag, ok := table[p]; ok {
			return flag, true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return "", false
}

// stripIndexes removes the [N] indexes and ["key"] map keys of a field
// path: rule.targets[0].headers["X"] becomes rule.targets.headers.
func stripIndexes(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); {
		if path[i] != '[' {
			b.WriteByte(path[i])
			i++
			continue
		}
		rest := path[i+1:]
		if quoted, err := strconv.QuotedPrefix(rest); err == nil {
			rest = rest[len(quoted):]
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			break
		}
		i = len(path) - len(rest) + end + 1
	}
	return b.String()
}

// fieldIndex returns the N of list[N] in path, or -1 when path is not
// about an element of list.
func fieldIndex(path, list string) int {
	rest, ok := strings.CutPrefix(path, list+"[")
	if !ok {
		return -1
	}
	digits, _, _ := strings.Cut(rest, "]")
	n, err := strconv.Atoi(digits)
	if err != nil {
		return -1
	}
	return n
}

var busFieldFlags = map[string]string{
	"bus":             "",
	"bus.name":        "NAME",
	"bus.description": "--description",
}

func busFieldFlag(path string) (string, bool) { return lookupField(busFieldFlags, path) }

var destinationFieldFlags = map[string]string{
	"api_destination":                                  "",
	"api_destination.name":                             "NAME",
	"api_destination.description":                      "--description",
	"api_destination.url":                              "--url",
	"api_destination.method":                           "--method",
	"api_destination.connection":                       "--connection",
	"api_destination.timeout":                          "--timeout",
	"api_destination.invocation_rate_limit_per_second": "--rate-limit",
	"api_destination.max_concurrency":                  "--max-concurrency",
}

func destinationFieldFlag(path string) (string, bool) {
	return lookupField(destinationFieldFlags, path)
}

var connectionFieldFlags = map[string]string{
	"connection":                                           "",
	"connection.name":                                      "NAME",
	"connection.description":                               "--description",
	"connection.authorization":                             "--auth",
	"connection.network":                                   "--network",
	"connection.basic.username":                            "--username",
	"connection.basic.password":                            "--password-env",
	"connection.api_key.header_name":                       "--api-key-name",
	"connection.api_key.value":                             "--api-key-env",
	"connection.oauth_client_credentials.token_url":        "--token-url",
	"connection.oauth_client_credentials.token_method":     "--token-method",
	"connection.oauth_client_credentials.client_id":        "--client-id",
	"connection.oauth_client_credentials.client_secret":    "--client-secret-env",
	"connection.oauth_client_credentials.client_auth":      "--client-auth",
	"connection.oauth_client_credentials.token_parameters": "--token-param",
	"connection.invocation_parameters":                     "--header",
}

// parameterFlags are the flags that add invocation parameters, by
// location and whether the value is secret.
var parameterFlags = map[v1.ParameterLocation][2]string{
	v1.ParameterLocation_PARAMETER_LOCATION_HEADER: {"--header", "--header-env"},
	v1.ParameterLocation_PARAMETER_LOCATION_QUERY:  {"--query", "--query-env"},
	v1.ParameterLocation_PARAMETER_LOCATION_BODY:   {"--body-field", "--body-field-env"},
}

// connectionFieldFlag names the flags for the fields of c, the
// connection a command sent. A parameter's flag depends on its location
// and on whether it is secret, which only c records.
func connectionFieldFlag(c *v1.Connection) fieldFlags {
	return func(path string) (string, bool) {
		const tokenParams = "connection.oauth_client_credentials.token_parameters"
		if i := fieldIndex(path, "connection.invocation_parameters"); i >= 0 {
			if p := c.GetInvocationParameters(); i < len(p) {
				if flags, ok := parameterFlags[p[i].GetLocation()]; ok {
					return flags[secretIndex(p[i])], true
				}
			}
		}
		if i := fieldIndex(path, tokenParams); i >= 0 {
			if p := c.GetOauthClientCredentials().GetTokenParameters(); i < len(p) && p[i].GetSecret() {
				return "--token-param-env", true
			}
		}
		return lookupField(connectionFieldFlags, path)
	}
}

func secretIndex(p *v1.Parameter) int {
	if p.GetSecret() {
		return 1
	}
	return 0
}

var ruleFieldFlags = map[string]string{
	"rule":                                "",
	"bus":                                 "--bus",
	"name":                                "NAME",
	"rule.bus":                            "--bus",
	"rule.name":                           "NAME",
	"rule.description":                    "--description",
	"rule.event_pattern":                  "--pattern",
	"rule.state":                          "--disabled",
	"rule.targets":                        "--target",
	"rule.targets.path_values":            "--path-value",
	"rule.targets.headers":                "--target-header",
	"rule.targets.query":                  "--target-query",
	"rule.targets.content_type":           "--content-type",
	"rule.targets.input.path":             "--input-path",
	"rule.targets.input.template":         "--input-template",
	"rule.targets.input.template.paths":   "--template-var",
	"rule.targets.input.form":             "--form-field",
	"rule.targets.input.form.json_fields": "--form-json-field",
	"rule.targets.input.form.json_fields.paths": "--template-var",
	"rule.targets.retry_policy.max_attempts":    "--max-attempts",
	"rule.targets.retry_policy.max_event_age":   "--max-age",
	"rule.targets.retry_policy.backoff_base":    "--backoff-base",
	"rule.targets.retry_policy.backoff_max":     "--backoff-max",
	// No flag sets a constant body.
	"rule.targets.input.constant":                  "",
	"rule.targets.input.form.json_fields.template": "--form-json-field",
}

func ruleFieldFlag(path string) (string, bool) { return lookupField(ruleFieldFlags, path) }
