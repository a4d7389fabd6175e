package config

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestBusCRUD(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)

	created, err := h.api.CreateBus(ctx, &v1.CreateBusRequest{
		Bus: &v1.Bus{Name: "orders", Description: "order events"},
	})
	mustOK(t, err)
	if created.GetRevision() == 0 || created.GetCreateTime() == nil {
		t.Fatalf("created = %v, want a revision and a create time", created)
	}

	_, err = h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "orders"}})
	wantCode(t, err, codes.AlreadyExists, `bus "orders" already exists`)

	got, err := h.api.GetBus(ctx, &v1.GetBusRequest{Name: "orders"})
	mustOK(t, err)
	if got.GetDescription() != "order events" || got.GetRevision() != created.GetRevision() {
		t.Errorf("GetBus = %v, want the created bus", got)
	}

	list, err := h.api.ListBuses(ctx, &v1.ListBusesRequest{})
	mustOK(t, err)
	if n := len(list.GetBuses()); n != 2 {
		t.Fatalf("ListBuses returned %d buses, want 2 (default and orders)", n)
	}
	if list.GetBuses()[0].GetName() != "default" || list.GetBuses()[1].GetName() != "orders" {
		t.Errorf("ListBuses = %v, want default then orders", list.GetBuses())
	}

	updated, err := h.api.UpdateBus(ctx, &v1.UpdateBusRequest{
		Bus: &v1.Bus{Name: "orders", Description: "all orders", Revision: created.GetRevision()},
	})
	mustOK(t, err)
	if updated.GetRevision() <= created.GetRevision() {
		t.Errorf("revision after update = %d, want more than %d",
			updated.GetRevision(), created.GetRevision())
	}
	if !updated.GetCreateTime().AsTime().Equal(created.GetCreateTime().AsTime()) {
		t.Errorf("create_time changed on update: %v, want %v",
			updated.GetCreateTime().AsTime(), created.GetCreateTime().AsTime())
	}
	if updated.GetUpdateTime().AsTime().Before(created.GetUpdateTime().AsTime()) {
		t.Errorf("update_time went back on update")
	}

	_, err = h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: "orders"})
	mustOK(t, err)
	_, err = h.api.GetBus(ctx, &v1.GetBusRequest{Name: "orders"})
	wantCode(t, err, codes.NotFound, `bus "orders" not found`)
	_, err = h.api.UpdateBus(ctx, &v1.UpdateBusRequest{Bus: &v1.Bus{Name: "orders"}})
	wantCode(t, err, codes.NotFound, `bus "orders" not found`)
	_, err = h.api.DeleteBus(ctx, &v1.DeleteBusRequest{Name: "orders"})
	wantCode(t, err, codes.NotFound, `bus "orders" not found`)

	// A deleted name can be created again.
	_, err = h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "orders"}})
	mustOK(t, err)
}

func TestConnectionCRUD(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)

	created, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("jenkins", "api-token-1"),
	})
	mustOK(t, err)
	if created.GetNetwork() != v1.Network_NETWORK_PUBLIC {
		t.Errorf("network = %s, want PUBLIC by default", created.GetNetwork())
	}
	if created.GetState() != v1.ConnectionState_CONNECTION_STATE_AUTHORIZED {
		t.Errorf("state = %s, want AUTHORIZED", created.GetState())
	}
	if !created.GetBasic().GetPasswordSet() || created.GetBasic().GetPassword() != "" {
		t.Errorf("basic = %v, want password_set and no password", created.GetBasic())
	}

	_, err = h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("jenkins", "x"),
	})
	wantCode(t, err, codes.AlreadyExists, `connection "jenkins" already exists`)

	oauth := &v1.Connection{
		Name: "saas",
		Authorization: &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{
				TokenUrl: "https://auth.example/token", ClientId: "app", ClientSecret: "cs",
			},
		},
		Network: v1.Network_NETWORK_PRIVATE,
	}
	got, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: oauth})
	mustOK(t, err)
	o := got.GetOauthClientCredentials()
	if o.GetTokenMethod() != "POST" || o.GetClientAuth() != v1.ClientAuth_CLIENT_AUTH_HEADER {
		t.Errorf("oauth defaults = %s, %s; want POST, HEADER", o.GetTokenMethod(), o.GetClientAuth())
	}

	list, err := h.api.ListConnections(ctx, &v1.ListConnectionsRequest{})
	mustOK(t, err)
	if n := len(list.GetConnections()); n != 2 {
		t.Fatalf("ListConnections returned %d, want 2", n)
	}

	// An update without a password keeps the stored one.
	update := basicConnection("jenkins", "")
	update.Description = "CI"
	update.Revision = created.GetRevision()
	updated, err := h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: update})
	mustOK(t, err)
	if !updated.GetBasic().GetPasswordSet() || updated.GetDescription() != "CI" {
		t.Errorf("updated = %v, want description CI and the password kept", updated)
	}
	resolved := h.resolveConnection(t, "jenkins")
	if resolved.GetBasic().GetPassword() != "api-token-1" {
		t.Errorf("password after update without one = %q, want the stored one",
			resolved.GetBasic().GetPassword())
	}

	// Switching to an API key needs the key, since nothing can be kept.
	switched := &v1.Connection{Name: "jenkins", Authorization: &v1.Connection_ApiKey{
		ApiKey: &v1.ApiKeyAuth{HeaderName: "X-API-Key"},
	}}
	_, err = h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: switched})
	wantCode(t, err, codes.InvalidArgument, "connection.api_key.value", "missing")

	_, err = h.api.DeleteConnection(ctx, &v1.DeleteConnectionRequest{Name: "jenkins"})
	mustOK(t, err)
	_, err = h.api.GetConnection(ctx, &v1.GetConnectionRequest{Name: "jenkins"})
	wantCode(t, err, codes.NotFound, `connection "jenkins" not found`)
}

// resolveConnection returns the decrypted connection behind a
// throwaway destination.
func (h *harness) resolveConnection(t *testing.T, connection string) *v1.Connection {
	t.Helper()
	ctx := testContext(t)
	name := "probe-" + connection
	_, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: destination(name, connection, "https://probe.example/"),
	})
	mustOK(t, err)
	defer func() {
		_, err := h.api.DeleteApiDestination(ctx, &v1.DeleteApiDestinationRequest{Name: name})
		mustOK(t, err)
	}()
	resolved, err := h.resolver(t, testToken).ResolveDestination(ctx,
		&resolveRequest{Name: name})
	mustOK(t, err)
	return resolved.GetConnection()
}

func TestApiDestinationCRUD(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("conn", "pw"),
	})
	mustOK(t, err)

	d := destination("build", "conn", "https://jenkins.example/job/*/build")
	d.Timeout = durationpb.New(10 * time.Second)
	created, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{ApiDestination: d})
	mustOK(t, err)
	if created.GetMethod() != "POST" {
		t.Errorf("method = %q, want POST (upper-cased)", created.GetMethod())
	}

	_, err = h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{ApiDestination: d})
	wantCode(t, err, codes.AlreadyExists, `API destination "build" already exists`)

	got, err := h.api.GetApiDestination(ctx, &v1.GetApiDestinationRequest{Name: "build"})
	mustOK(t, err)
	if got.GetTimeout().AsDuration() != 10*time.Second || got.GetConnection() != "conn" {
		t.Errorf("GetApiDestination = %v, want the created destination", got)
	}

	// An unset timeout stays unset, which means 5 s.
	d.Timeout = nil
	d.Revision = created.GetRevision()
	d.InvocationRateLimitPerSecond = 5
	updated, err := h.api.UpdateApiDestination(ctx, &v1.UpdateApiDestinationRequest{ApiDestination: d})
	mustOK(t, err)
	if updated.GetTimeout() != nil || updated.GetInvocationRateLimitPerSecond() != 5 {
		t.Errorf("updated = %v, want no timeout and a rate limit of 5", updated)
	}

	list, err := h.api.ListApiDestinations(ctx, &v1.ListApiDestinationsRequest{})
	mustOK(t, err)
	if n := len(list.GetApiDestinations()); n != 1 {
		t.Fatalf("ListApiDestinations returned %d, want 1", n)
	}

	_, err = h.api.DeleteApiDestination(ctx, &v1.DeleteApiDestinationRequest{Name: "build"})
	mustOK(t, err)
	_, err = h.api.GetApiDestination(ctx, &v1.GetApiDestinationRequest{Name: "build"})
	wantCode(t, err, codes.NotFound, `API destination "build" not found`)
}

func TestRuleCRUD(t *testing.T) {
	h := startService(t)
	h.seed(t)
	ctx := testContext(t)

	got, err := h.api.GetRule(ctx, &v1.GetRuleRequest{Bus: "default", Name: "build"})
	mustOK(t, err)
	if got.GetState() != v1.RuleState_RULE_STATE_ENABLED {
		t.Errorf("state = %s, want ENABLED by default", got.GetState())
	}
	if id := got.GetTargets()[0].GetId(); id != "dest" {
		t.Errorf("target id = %q, want the destination name dest", id)
	}

	_, err = h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: rule("default", "build",
		&v1.Target{ApiDestination: "dest", PathValues: []string{"x"}})})
	wantCode(t, err, codes.AlreadyExists, `rule "build" on bus "default" already exists`)

	_, err = h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "other"}})
	mustOK(t, err)
	_, err = h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: rule("other", "build",
		&v1.Target{ApiDestination: "dest", PathValues: []string{"x"}})})
	mustOK(t, err)

	all, err := h.api.ListRules(ctx, &v1.ListRulesRequest{})
	mustOK(t, err)
	if n := len(all.GetRules()); n != 2 {
		t.Errorf("ListRules() returned %d, want 2", n)
	}
	other, err := h.api.ListRules(ctx, &v1.ListRulesRequest{Bus: "other"})
	mustOK(t, err)
	if n := len(other.GetRules()); n != 1 || other.GetRules()[0].GetBus() != "other" {
		t.Errorf("ListRules(other) = %v, want the one rule of bus other", other.GetRules())
	}
	_, err = h.api.ListRules(ctx, &v1.ListRulesRequest{Bus: "nope"})
	wantCode(t, err, codes.NotFound, `bus "nope" not found`)

	update := rule("default", "build",
		&v1.Target{Id: "t1", ApiDestination: "dest", PathValues: []string{"$.data.job"}})
	update.State = v1.RuleState_RULE_STATE_DISABLED
	updated, err := h.api.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: update})
	mustOK(t, err)
	if updated.GetState() != v1.RuleState_RULE_STATE_DISABLED || updated.GetTargets()[0].GetId() != "t1" {
		t.Errorf("updated = %v, want DISABLED with target t1", updated)
	}
	if !updated.GetCreateTime().AsTime().Equal(got.GetCreateTime().AsTime()) {
		t.Errorf("create_time changed on update")
	}

	_, err = h.api.DeleteRule(ctx, &v1.DeleteRuleRequest{Bus: "default", Name: "build"})
	mustOK(t, err)
	_, err = h.api.GetRule(ctx, &v1.GetRuleRequest{Bus: "default", Name: "build"})
	wantCode(t, err, codes.NotFound, `rule "build" on bus "default" not found`)
}
