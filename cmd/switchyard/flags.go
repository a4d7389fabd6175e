package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// exactArgs accepts exactly the named positional arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(names) == 0 {
			err := fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)
			return usageError{err: err, help: true}
		}
		err := fmt.Errorf("%s wants %s, got %d arguments",
			cmd.CommandPath(), strings.Join(names, " "), len(args))
		return usageError{err: err, help: true}
	}
}

// parseKeyValue splits "NAME=VALUE" at the first "=". The value may be
// empty and may itself contain "=".
func parseKeyValue(flag, s string) (key, value string, err error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", usagef("invalid --%s %q: missing \"=\"; want NAME=VALUE", flag, s)
	}
	if strings.TrimSpace(key) == "" {
		return "", "", usagef("invalid --%s %q: missing NAME before \"=\"; want NAME=VALUE",
			flag, s)
	}
	return key, value, nil
}

// parseKeyValues parses repeated NAME=VALUE flags into a map, rejecting a
// name given twice.
func parseKeyValues(flag string, list []string) (map[string]string, error) {
	m := make(map[string]string, len(list))
	for _, s := range list {
		key, value, err := parseKeyValue(flag, s)
		if err != nil {
			return nil, err
		}
		if _, dup := m[key]; dup {
			return nil, usagef("invalid --%s: %s is given twice", flag, key)
		}
		m[key] = value
	}
	return m, nil
}

// readSource returns a flag's value: the contents of FILE for "@FILE",
// standard input for "@-", and the value itself otherwise.
func (a *app) readSource(flag, value string) ([]byte, error) {
	name, isFile := strings.CutPrefix(value, "@")
	switch {
	case !isFile:
		return []byte(value), nil
	case name == "-":
		return a.readStdin(flag)
	case name == "":
		return nil, usagef("invalid --%s \"@\": want @FILE, @- or the value itself", flag)
	}

	data, err := os.ReadFile(name)
	if err != nil {
		return nil, usagef("--%s: %v", flag, err)
	}
	return data, nil
}

// readJSON is readSource for a value that must be JSON. The error names
// the file the text came from.
func (a *app) readJSON(flag, value string) ([]byte, error) {
	data, err := a.readSource(flag, value)
	if err != nil {
		return nil, err
	}

	if err := checkJSON(data); err != nil {
		return nil, usagef("invalid %s: not valid JSON: %v", describeSource(flag, value), err)
	}
	return data, nil
}

func checkJSON(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("it is empty")
	}
	// json.Valid accepts numbers of any size, such as 1e400, which are
	// valid JSON. Unmarshal then only runs to describe a syntax error.
	if json.Valid(data) {
		return nil
	}
	var v any
	return json.Unmarshal(data, &v)
}

// describeSource names a flag and, for @FILE and @-, where its text came
// from: "--pattern (file p.json)".
func describeSource(flag, value string) string {
	switch {
	case value == "@-":
		return "--" + flag + " (standard input)"
	case strings.HasPrefix(value, "@"):
		return "--" + flag + " (file " + value[1:] + ")"
	default:
		return "--" + flag
	}
}

// readStdin reads all of standard input, which only one flag of a command
// may do.
func (a *app) readStdin(flag string) ([]byte, error) {
	if a.stdinRead {
		return nil, usagef("--%s: standard input is already read by another flag", flag)
	}
	a.stdinRead = true

	data, err := io.ReadAll(a.in)
	if err != nil {
		return nil, fmt.Errorf("--%s: read standard input: %w", flag, err)
	}
	return data, nil
}

// secretSource names the flags that may supply one secret: an environment
// variable or standard input. A secret never comes from a flag value,
// because command lines end up in shell history and process listings.
type secretSource struct {
	envFlag   string
	envVar    string
	stdinFlag string
	stdin     bool
}

// readSecret returns the secret from the environment variable or standard
// input, or "" when neither flag is given.
func (a *app) readSecret(src secretSource) (string, error) {
	switch {
	case src.envVar != "" && src.stdin:
		return "", usagef("use one of --%s and --%s", src.envFlag, src.stdinFlag)
	case src.envVar != "":
		return a.secretFromEnv(src.envVar, "--"+src.stdinFlag)
	case src.stdin:
		return a.secretFromStdin(src.stdinFlag)
	default:
		return "", nil
	}
}

func (a *app) secretFromEnv(name, alternative string) (string, error) {
	v := a.getenv(name)
	switch {
	case v != "":
		return v, nil
	case alternative == "":
		return "", usagef("environment variable %s is empty; export it", name)
	default:
		return "", usagef("environment variable %s is empty; export it or use %s",
			name, alternative)
	}
}

// secretFromStdin reads a secret from standard input without the line
// ending that `echo` and here-documents add.
func (a *app) secretFromStdin(flag string) (string, error) {
	data, err := a.readStdin(flag)
	if err != nil {
		return "", err
	}

	s := strings.TrimSuffix(string(data), "\n")
	s = strings.TrimSuffix(s, "\r")
	if s == "" {
		return "", usagef("--%s: standard input is empty", flag)
	}
	return s, nil
}

// parseOnOff parses a flag that takes on or off.
func parseOnOff(flag, s string) (bool, error) {
	switch s {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, usagef("invalid --%s %q: want on or off", flag, s)
}
