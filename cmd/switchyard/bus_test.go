package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestBusCreate(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("bus", "create", "orders", "--description", "order events")
	r.wantCode(t, exitOK)

	req := last[*v1.CreateBusRequest](t, f)
	if got, want := req.GetBus().GetName(), "orders"; got != want {
		t.Errorf("request name = %q, want %q", got, want)
	}
	if got, want := req.GetBus().GetDescription(), "order events"; got != want {
		t.Errorf("request description = %q, want %q", got, want)
	}
	if !strings.Contains(r.stdout, "orders") || !strings.Contains(r.stdout, "revision:") {
		t.Errorf("stdout = %q, want the bus with its revision", r.stdout)
	}
}

func TestBusGetJSON(t *testing.T) {
	f := &fakeConfig{bus: &v1.Bus{Name: "default", Revision: 4}}
	c := newCLI(t, f)

	r := c.run("-o", "json", "bus", "get", "default")
	r.wantCode(t, exitOK)

	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	if got["name"] != "default" {
		t.Errorf("name = %v, want default", got["name"])
	}
	if got["revision"] != "4" {
		t.Errorf("revision = %v, want \"4\" (protojson writes int64 as a string)", got["revision"])
	}
	if _, ok := got["description"]; !ok {
		t.Errorf("description is missing; default values must be written too")
	}
}

func TestBusListJSONUsesProtoNames(t *testing.T) {
	f := &fakeConfig{bus: &v1.Bus{Name: "default"}}
	c := newCLI(t, f)

	r := c.run("--output", "json", "bus", "list")
	r.wantCode(t, exitOK)

	var got struct {
		Buses []struct {
			Name string `json:"name"`
		} `json:"buses"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if len(got.Buses) != 1 || got.Buses[0].Name != "default" {
		t.Errorf("buses = %+v, want one named default", got.Buses)
	}
}

func TestBusUpdateSendsRevisionRead(t *testing.T) {
	f := &fakeConfig{bus: &v1.Bus{Name: "orders", Revision: 7}}
	c := newCLI(t, f)

	r := c.run("bus", "update", "orders", "--description", "new")
	r.wantCode(t, exitOK)

	req := last[*v1.UpdateBusRequest](t, f)
	if got := req.GetBus().GetRevision(); got != 7 {
		t.Errorf("request revision = %d, want 7", got)
	}
	if got := req.GetBus().GetDescription(); got != "new" {
		t.Errorf("request description = %q, want new", got)
	}
}

func TestBusUpdateNeedsAChange(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("bus", "update", "orders")
	r.wantCode(t, exitUsage)
	if n := f.requestCount(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestBusDelete(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("bus", "delete", "orders")
	r.wantCode(t, exitOK)

	if got := last[*v1.DeleteBusRequest](t, f).GetName(); got != "orders" {
		t.Errorf("request name = %q, want orders", got)
	}
	if got, want := r.stdout, "deleted bus orders\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestStatusHints(t *testing.T) {
	tests := []struct {
		code codes.Code
		hint string
		exit int
	}{
		{codes.NotFound, "`switchyard bus list` shows what exists", exitFailure},
		{codes.AlreadyExists, "use update", exitFailure},
		// Without field violations the message is all there is, but
		// the input is still at fault.
		{codes.InvalidArgument, "fix the value", exitUsage},
		{codes.Aborted, "get it again and retry", exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			f := &fakeConfig{err: status.Error(tt.code, "the server message")}
			c := newCLI(t, f)

			r := c.run("bus", "create", "orders")
			r.wantCode(t, tt.exit)

			if !strings.HasPrefix(r.stderr, "error: the server message\n") {
				t.Errorf("stderr = %q, want it to start with the server message", r.stderr)
			}
			if !strings.Contains(r.stderr, "\nhint: ") || !strings.Contains(r.stderr, tt.hint) {
				t.Errorf("stderr = %q, want hint %q", r.stderr, tt.hint)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestNotFoundHintNamesList(t *testing.T) {
	tests := []struct {
		args []string
		hint string
	}{
		{[]string{"rule", "get", "nope"}, "`switchyard rule list --bus BUS`"},
		{[]string{"destination", "get", "nope"}, "`switchyard destination list`"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := &fakeConfig{err: status.Error(codes.NotFound, "not found")}
			c := newCLI(t, f)

			r := c.run(tt.args...)
			r.wantCode(t, exitFailure)
			if !strings.Contains(r.stderr, "\nhint: ") || !strings.Contains(r.stderr, tt.hint) {
				t.Errorf("stderr = %q, want hint %q", r.stderr, tt.hint)
			}
		})
	}
}

func TestUnavailableNamesServer(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	c := cli{t: t, server: addr}

	r := c.run("bus", "list")
	r.wantCode(t, exitFailure)

	want := "hint: is `switchyard dev` running? --server is " + addr
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frob"}, `unknown command "frob"`},
		{"unknown subcommand", []string{"bus", "crate"}, "did you mean create?"},
		{"missing argument", []string{"bus", "get"}, "wants NAME, got 0 arguments"},
		{"extra argument", []string{"bus", "list", "x"}, "takes no arguments"},
		{"unknown flag", []string{"bus", "get", "x", "--nope"}, "unknown flag: --nope"},
		{"bad output", []string{"-o", "yaml", "bus", "list"}, "want text or json"},
		{"bad timeout", []string{"--request-timeout", "0s", "bus", "list"}, "positive duration"},
		{"password flag", []string{"connection", "create", "x", "--auth", "basic", "--password", "p"},
			"use --password-env VAR or --password-stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConfig{}
			c := newCLI(t, f)

			r := c.run(tt.args...)
			r.wantCode(t, exitUsage)

			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("requests = %d, want 0", n)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	c := cli{t: t}

	r := c.run("version")
	r.wantCode(t, exitOK)
	if !strings.HasPrefix(r.stdout, "switchyard ") {
		t.Errorf("stdout = %q, want it to start with switchyard", r.stdout)
	}

	r = c.run("-o", "json", "version")
	r.wantCode(t, exitOK)
	var got map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got["version"] == "" {
		t.Errorf("stdout = %q, want JSON with a version", r.stdout)
	}
}

func TestHelpExitsZero(t *testing.T) {
	c := cli{t: t}
	for _, args := range [][]string{{}, {"bus"}, {"connection", "create", "--help"}} {
		r := c.run(args...)
		r.wantCode(t, exitOK)
		if !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("run(%q) stdout = %q, want help", args, r.stdout)
		}
	}
}

func TestFailedPreconditionHasNoGenericHint(t *testing.T) {
	f := &fakeConfig{err: status.Error(codes.FailedPrecondition, "the server message")}
	c := newCLI(t, f)

	r := c.run("bus", "create", "orders")
	r.wantCode(t, exitFailure)
	if r.stderr != "error: the server message\n" {
		t.Errorf("stderr = %q, want the server message alone", r.stderr)
	}
}
