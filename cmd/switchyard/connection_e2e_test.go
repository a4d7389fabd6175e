package main

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// connectionState returns the state of a connection as
// `connection get -o json` prints it.
func connectionState(t *testing.T, c cli, name string) *v1.Connection {
	t.Helper()
	r := c.run("-o", "json", "connection", "get", name)
	r.wantCode(t, exitOK)
	conn := &v1.Connection{}
	if err := protojsonUnmarshal([]byte(r.stdout), conn); err != nil {
		t.Fatalf("connection get output %q: %v", r.stdout, err)
	}
	return conn
}

func TestRejectedPasswordShownThenUpdated(t *testing.T) {
	jenkins, jenkinsURL := startJenkins(t)
	s := startDevStack(t)
	c := s.cli
	c.env = map[string]string{"JENKINS_TOKEN": jenkinsToken, "OLD_TOKEN": "revoked-token-0123"}

	c.run("connection", "create", "jenkins-connection", "--auth", "basic",
		"--username", "admin", "--password-env", "OLD_TOKEN",
		"--network", "private").wantCode(t, exitOK)
	c.run("destination", "create", "jenkins-build",
		"--url", jenkinsURL+"/job/test/build", "--method", "POST",
		"--connection", "jenkins-connection").wantCode(t, exitOK)
	c.run("rule", "create", "build-on-push", "--bus", "default",
		"--pattern", pushPattern, "--target", "jenkins-build",
		"--max-attempts", "0").wantCode(t, exitOK)
	s.waitRuleLoaded(t, "default", "build-on-push")

	put := func(id string) {
		t.Helper()
		c.run("events", "put", "--bus", "default", "--id", id, "--type", "com.github.push",
			"--source", pushSource, "--data", "@../../testdata/github-push-branch.json").
			wantCode(t, exitOK)
	}

	// Jenkins rejects the revoked token: the connection turns
	// deauthorized, with the reason and without the token.
	put("push-revoked")
	waitFor(t, 30*time.Second, func() (bool, string) {
		conn := connectionState(t, c, "jenkins-connection")
		return conn.GetState() == v1.ConnectionState_CONNECTION_STATE_DEAUTHORIZED,
			"state " + conn.GetState().String()
	})
	r := c.run("connection", "get", "jenkins-connection")
	r.wantCode(t, exitOK)
	for _, want := range []string{"deauthorized", "401"} {
		if !strings.Contains(strings.ToLower(r.stdout), want) {
			t.Errorf("connection get = %q, want %q in it", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout, "revoked-token-0123") {
		t.Errorf("connection get = %q, shows the password", r.stdout)
	}

	// The new token reaches the next delivery without a restart.
	c.run("connection", "update", "jenkins-connection",
		"--password-env", "JENKINS_TOKEN").wantCode(t, exitOK)
	if got := connectionState(t, c, "jenkins-connection").GetState(); got !=
		v1.ConnectionState_CONNECTION_STATE_AUTHORIZED {
		t.Errorf("state after update = %v, want AUTHORIZED", got)
	}
	put("push-new-token")
	deliveries := waitDelivered(t, c, "push-new-token")
	if n := len(deliveries[0].GetAttempts()); n != 1 {
		t.Errorf("delivery after the update made %d attempts, want 1", n)
	}
	builds := buildRequests(jenkins)
	if len(builds) != 2 {
		t.Fatalf("Jenkins got %d build requests, want 2", len(builds))
	}
	wantBasicAuth(t, builds[1])
	if got := connectionState(t, c, "jenkins-connection").GetState(); got !=
		v1.ConnectionState_CONNECTION_STATE_AUTHORIZED {
		t.Errorf("state after a delivery = %v, want AUTHORIZED", got)
	}
}

func TestConnectionCreateOAuthShortForm(t *testing.T) {
	s := startDLQStack(t)
	c := s.cli
	c.env = map[string]string{"CLIENT_SECRET": "oauth-secret-0123"}

	r := c.run("connection", "create", "api", "--auth", "oauth",
		"--token-url", "http://127.0.0.1:9/token", "--client-id", "cid",
		"--client-secret-env", "CLIENT_SECRET", "--network", "private")
	r.wantCode(t, exitOK)

	o := connectionState(t, c, "api").GetOauthClientCredentials()
	if o == nil {
		t.Fatal("connection api has no OAuth client credentials")
	}
	if o.GetClientId() != "cid" || o.GetTokenUrl() != "http://127.0.0.1:9/token" {
		t.Errorf("client id, token URL = %q, %q; want cid, http://127.0.0.1:9/token",
			o.GetClientId(), o.GetTokenUrl())
	}

	r = c.run("connection", "update", "api", "--auth", "oauth", "--client-id", "cid2")
	r.wantCode(t, exitOK)
	if got := connectionState(t, c, "api").GetOauthClientCredentials().GetClientId(); got != "cid2" {
		t.Errorf("client id after update = %q, want cid2", got)
	}

	help := c.run("connection", "create", "--help")
	help.wantCode(t, exitOK)
	if !strings.Contains(help.stdout, "oauth_client_credentials (oauth for short)") {
		t.Errorf("help does not name the short form:\n%s", help.stdout)
	}
}
