package main

import (
	"strings"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// locations maps the location words of the command line to the API's.
var locations = map[string]v1.ParameterLocation{
	"header": v1.ParameterLocation_PARAMETER_LOCATION_HEADER,
	"query":  v1.ParameterLocation_PARAMETER_LOCATION_QUERY,
	"body":   v1.ParameterLocation_PARAMETER_LOCATION_BODY,
}

func locationText(l v1.ParameterLocation) string {
	return enumText(l.String(), "PARAMETER_LOCATION_")
}

// paramFlag is one repeatable flag that adds parameters at a location.
// With secret set, each value names an environment variable that contains
// the parameter's value.
type paramFlag struct {
	flag     string
	location v1.ParameterLocation
	values   []string
	secret   bool
}

// parameters turns the flags into parameters, rejecting a key given twice.
func (a *app) parameters(flags []paramFlag) ([]*v1.Parameter, error) {
	var params []*v1.Parameter
	for _, pf := range flags {
		for _, s := range pf.values {
			p, err := a.parameter(pf.flag, pf.location, s, pf.secret)
			if err != nil {
				return nil, err
			}
			if findParameter(params, p.Location, p.Key) >= 0 {
				return nil, usagef("invalid --%s: %s %s is given twice",
					pf.flag, locationText(p.Location), p.Key)
			}
			params = append(params, p)
		}
	}
	return params, nil
}

// parameter parses NAME=VALUE, or NAME=VAR for a secret parameter.
func (a *app) parameter(flag string, loc v1.ParameterLocation, s string,
	secret bool) (*v1.Parameter, error) {
	key, value, err := parseKeyValue(flag, s)
	if err != nil {
		return nil, err
	}

	if secret {
		if value == "" {
			return nil, usagef("invalid --%s %q: missing environment variable name; want NAME=VAR",
				flag, s)
		}
		value, err = a.secretFromEnv(value, "")
		if err != nil {
			return nil, err
		}
	}
	return &v1.Parameter{Location: loc, Key: key, Value: value, Secret: secret}, nil
}

// locatedFlags splits "LOCATION:NAME=VALUE" values by location, for flags
// such as --token-param that take parameters at any location.
func locatedFlags(flag string, values []string, secret bool) ([]paramFlag, error) {
	var out []paramFlag
	for _, s := range values {
		word, rest, _ := strings.Cut(s, ":")
		loc, ok := locations[word]
		if !ok {
			return nil, usagef("invalid --%s %q: want LOCATION:NAME=VALUE, "+
				"where LOCATION is header, query or body", flag, s)
		}
		out = append(out, paramFlag{flag: flag, location: loc, values: []string{rest}, secret: secret})
	}
	return out, nil
}

// mergeParameters returns list with each added parameter in place of the
// one with the same location and key, or appended.
func mergeParameters(list, added []*v1.Parameter) []*v1.Parameter {
	for _, p := range added {
		if i := findParameter(list, p.Location, p.Key); i >= 0 {
			list[i] = p
			continue
		}
		list = append(list, p)
	}
	return list
}

// removeParameters deletes the parameters named "LOCATION:NAME" from list.
func removeParameters(flag string, list []*v1.Parameter, names []string) ([]*v1.Parameter, error) {
	for _, s := range names {
		word, key, _ := strings.Cut(s, ":")
		loc, ok := locations[word]
		if !ok || key == "" {
			return nil, usagef("invalid --%s %q: want LOCATION:NAME, "+
				"where LOCATION is header, query or body", flag, s)
		}

		i := findParameter(list, loc, key)
		if i < 0 {
			return nil, usagef("invalid --%s %q: no such parameter is stored", flag, s)
		}
		list = append(list[:i], list[i+1:]...)
	}
	return list, nil
}

// findParameter returns the index of the parameter at loc named key, or
// -1. Header names compare without case, as HTTP defines them.
func findParameter(list []*v1.Parameter, loc v1.ParameterLocation, key string) int {
	for i, p := range list {
		if p.GetLocation() != loc {
			continue
		}
		if p.GetKey() == key ||
			loc == v1.ParameterLocation_PARAMETER_LOCATION_HEADER && strings.EqualFold(p.GetKey(), key) {
			return i
		}
	}
	return -1
}

// parameterText shows a parameter with a secret value hidden.
func parameterText(p *v1.Parameter) string {
	value := p.GetValue()
	if p.GetSecret() {
		value = "(secret)"
	}
	return locationText(p.GetLocation()) + " " + p.GetKey() + "=" + value
}
