package config

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Secret values that must never leave the service except through the
// Resolver.
const (
	canaryPassword     = "canary-password-1"
	canaryParam        = "canary-param-2"
	canaryAPIKey       = "canary-api-key-3"
	canaryClientSecret = "canary-client-secret-4"
	canaryTokenParam   = "canary-token-param-5"
)

var canaries = []string{canaryPassword, canaryParam, canaryAPIKey, canaryClientSecret, canaryTokenParam}

func secretConnections() []*v1.Connection {
	basic := basicConnection("basic", canaryPassword)
	basic.InvocationParameters = []*v1.Parameter{
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY, Key: "token", Value: canaryParam, Secret: true},
		{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-Team", Value: "blue"},
	}
	apiKey := &v1.Connection{Name: "apikey", Authorization: &v1.Connection_ApiKey{
		ApiKey: &v1.ApiKeyAuth{HeaderName: "X-API-Key", Value: canaryAPIKey},
	}}
	oauth := &v1.Connection{Name: "oauth", Authorization: &v1.Connection_OauthClientCredentials{
		OauthClientCredentials: &v1.OAuthClientCredentials{
			TokenUrl: "https://auth.example/token", ClientId: "app", ClientSecret: canaryClientSecret,
			TokenParameters: []*v1.Parameter{{
				Location: v1.ParameterLocation_PARAMETER_LOCATION_BODY, Key: "assertion",
				Value: canaryTokenParam, Secret: true,
			}},
		},
	}}
	return []*v1.Connection{basic, apiKey, oauth}
}

// createSecretConnections creates the connections of secretConnections
// and a destination "to-<name>" for each.
func (h *harness) createSecretConnections(t *testing.T) {
	t.Helper()
	ctx := testContext(t)
	for _, c := range secretConnections() {
		_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: c})
		mustOK(t, err)
		_, err = h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
			ApiDestination: destination("to-"+c.GetName(), c.GetName(), "https://example.com/"),
		})
		mustOK(t, err)
	}
}

func assertNoCanary(t *testing.T, source string, data []byte) {
	t.Helper()
	for _, c := range canaries {
		if bytes.Contains(data, []byte(c)) {
			t.Errorf("%s contains secret %q", source, c)
		}
	}
}

// rawConnectionValues returns every value that the connections bucket
// retains, deleted keys included, so a test can search all stored bytes.
func (h *harness) rawConnectionValues(t *testing.T) [][]byte {
	t.Helper()
	kv := h.bucket(t, streams.BucketConnections)
	ctx := testContext(t)
	keys, err := kv.Keys(ctx)
	mustOK(t, err)
	var values [][]byte
	for _, key := range keys {
		history, err := kv.History(ctx, key)
		mustOK(t, err)
		for _, entry := range history {
			values = append(values, entry.Value())
		}
	}
	return values
}

func TestSecretsWriteOnly(t *testing.T) {
	h := startService(t)
	h.createSecretConnections(t)
	ctx := testContext(t)

	// An update that keeps the stored password stores it sealed again.
	update := secretConnections()[0]
	update.GetBasic().Password = ""
	_, err := h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: update})
	mustOK(t, err)

	for _, name := range []string{"basic", "apikey", "oauth"} {
		got, err := h.api.GetConnection(ctx, &v1.GetConnectionRequest{Name: name})
		mustOK(t, err)
		data, err := proto.Marshal(got)
		mustOK(t, err)
		assertNoCanary(t, "GetConnection("+name+")", data)
	}

	list, err := h.api.ListConnections(ctx, &v1.ListConnectionsRequest{})
	mustOK(t, err)
	data, err := proto.Marshal(list)
	mustOK(t, err)
	assertNoCanary(t, "ListConnections", data)

	byName := map[string]*v1.Connection{}
	for _, c := range list.GetConnections() {
		byName[c.GetName()] = c
	}
	if !byName["basic"].GetBasic().GetPasswordSet() {
		t.Errorf("basic: password_set = false, want true")
	}
	if !byName["apikey"].GetApiKey().GetValueSet() {
		t.Errorf("apikey: value_set = false, want true")
	}
	if !byName["oauth"].GetOauthClientCredentials().GetClientSecretSet() {
		t.Errorf("oauth: client_secret_set = false, want true")
	}
	params := byName["basic"].GetInvocationParameters()
	if params[0].GetValue() != "" || !params[0].GetSecret() {
		t.Errorf("secret parameter = %v, want secret with no value", params[0])
	}
	if params[1].GetValue() != "blue" {
		t.Errorf("plain parameter value = %q, want blue", params[1].GetValue())
	}

	raw := h.rawConnectionValues(t)
	if len(raw) != 3 {
		t.Fatalf("raw connection values = %d, want 3", len(raw))
	}
	for i, value := range raw {
		assertNoCanary(t, "raw KV value "+itoa(int64(i)), value)
		if !bytes.Contains(value, []byte(sealedPrefix)) {
			t.Errorf("raw KV value %d has no sealed secret", i)
		}
	}
}

func TestResolverAuthorization(t *testing.T) {
	h := startService(t)
	h.createSecretConnections(t)
	ctx := testContext(t)
	req := &resolveRequest{Name: "to-basic"}

	_, err := h.resolver(t, "").ResolveDestination(ctx, req)
	wantCode(t, err, codes.Unauthenticated, "missing internal token")
	_, err = h.resolver(t, "wrong").ResolveDestination(ctx, req)
	wantCode(t, err, codes.Unauthenticated, "wrong internal token")
	_, err = h.resolver(t, testToken+"x").ResolveDestination(ctx, req)
	wantCode(t, err, codes.Unauthenticated, "wrong internal token")
	basicCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Basic "+testToken)
	_, err = h.resolver(t, "").ResolveDestination(basicCtx, req)
	wantCode(t, err, codes.Unauthenticated, "not a Bearer token")

	// The public API gives a caller with the token nothing more.
	withToken := h.resolver(t, testToken)
	got, err := newConfigClient(t, h, testToken).GetConnection(ctx, &v1.GetConnectionRequest{Name: "basic"})
	mustOK(t, err)
	data, err := proto.Marshal(got)
	mustOK(t, err)
	assertNoCanary(t, "GetConnection with the internal token", data)

	resolved, err := withToken.ResolveDestination(ctx, req)
	mustOK(t, err)
	if resolved.GetApiDestination().GetName() != "to-basic" {
		t.Errorf("destination = %q, want to-basic", resolved.GetApiDestination().GetName())
	}
	c := resolved.GetConnection()
	if c.GetBasic().GetPassword() != canaryPassword {
		t.Errorf("password = %q, want the decrypted password", c.GetBasic().GetPassword())
	}
	if v := c.GetInvocationParameters()[0].GetValue(); v != canaryParam {
		t.Errorf("secret parameter = %q, want the decrypted value", v)
	}

	resolved, err = withToken.ResolveDestination(ctx, &resolveRequest{Name: "to-oauth"})
	mustOK(t, err)
	o := resolved.GetConnection().GetOauthClientCredentials()
	if o.GetClientSecret() != canaryClientSecret || o.GetTokenParameters()[0].GetValue() != canaryTokenParam {
		t.Errorf("oauth = %v, want the decrypted client secret and token parameter", o)
	}
	resolved, err = withToken.ResolveDestination(ctx, &resolveRequest{Name: "to-apikey"})
	mustOK(t, err)
	if v := resolved.GetConnection().GetApiKey().GetValue(); v != canaryAPIKey {
		t.Errorf("api key = %q, want the decrypted value", v)
	}

	_, err = withToken.ResolveDestination(ctx, &resolveRequest{Name: "ghost"})
	wantCode(t, err, codes.NotFound, `API destination "ghost" not found`)
}

func newConfigClient(t *testing.T, h *harness, token string) v1.ConfigServiceClient {
	t.Helper()
	conn, err := dialWithToken(h, token)
	mustOK(t, err)
	t.Cleanup(func() { conn.Close() })
	return v1.NewConfigServiceClient(conn)
}

func TestRotateSecrets(t *testing.T) {
	e := newEnv(t)
	oldKey, newKey := newKey(t), newKey(t)
	before := e.start(t, oldKey)
	before.createSecretConnections(t)
	ctx := testContext(t)

	for i, value := range before.rawConnectionValues(t) {
		if !bytes.Contains(value, []byte(sealedPrefix+KeyID(oldKey)+":")) {
			t.Errorf("raw value %d not sealed with the old key %s", i, KeyID(oldKey))
		}
	}

	// With the new key first, secrets under the old key stay readable.
	during := e.start(t, newKey, oldKey)
	resolved, err := during.resolver(t, testToken).ResolveDestination(ctx, &resolveRequest{Name: "to-basic"})
	mustOK(t, err)
	if resolved.GetConnection().GetBasic().GetPassword() != canaryPassword {
		t.Fatalf("password before rotation = %q, want the original", resolved.GetConnection().GetBasic().GetPassword())
	}

	n, err := during.svc.RotateSecrets(ctx)
	mustOK(t, err)
	if n != 3 {
		t.Errorf("RotateSecrets rewrote %d connections, want 3", n)
	}
	n, err = during.svc.RotateSecrets(ctx)
	mustOK(t, err)
	if n != 0 {
		t.Errorf("second RotateSecrets rewrote %d connections, want 0", n)
	}

	kv := during.bucket(t, streams.BucketConnections)
	for _, name := range []string{"basic", "apikey", "oauth"} {
		entry, err := kv.Get(ctx, name)
		mustOK(t, err)
		if bytes.Contains(entry.Value(), []byte(KeyID(oldKey))) {
			t.Errorf("%s still sealed with the old key after rotation", name)
		}
	}

	// The new key alone now opens every secret.
	after := e.start(t, newKey)
	for name, want := range map[string]string{
		"to-basic": canaryPassword, "to-apikey": canaryAPIKey, "to-oauth": canaryClientSecret,
	} {
		resolved, err := after.resolver(t, testToken).ResolveDestination(ctx, &resolveRequest{Name: name})
		mustOK(t, err)
		c := resolved.GetConnection()
		got := c.GetBasic().GetPassword() + c.GetApiKey().GetValue() +
			c.GetOauthClientCredentials().GetClientSecret()
		if got != want {
			t.Errorf("%s secret after rotation = %q, want %q", name, got, want)
		}
	}

	// The old key alone no longer opens them, and the error names the
	// missing key.
	_, err = before.resolver(t, testToken).ResolveDestination(ctx, &resolveRequest{Name: "to-basic"})
	wantCode(t, err, codes.Internal, "unknown key id "+KeyID(newKey))
}

func TestKeyringSealOpen(t *testing.T) {
	r, err := newKeyring([][]byte{newKey(t)})
	mustOK(t, err)

	a, err := r.seal("hunter2", "owner-a")
	mustOK(t, err)
	b, err := r.seal("hunter2", "owner-a")
	mustOK(t, err)
	if a == b {
		t.Errorf("two seals of one value are equal; want fresh nonces")
	}
	if strings.Contains(a, "hunter2") {
		t.Errorf("sealed value %q contains the plain text", a)
	}

	got, err := r.open(a, "owner-a")
	if err != nil || got != "hunter2" {
		t.Errorf("open = %q, %v; want hunter2", got, err)
	}
	if _, err := r.open(a, "owner-b"); err == nil {
		t.Errorf("open with another owner succeeded; want an error")
	}

	tampered := []byte(a)
	tampered[len(tampered)-2] ^= 1
	if _, err := r.open(string(tampered), "owner-a"); err == nil {
		t.Errorf("open of a tampered value succeeded; want an error")
	}
	for _, bad := range []string{"", "plain", "sy1:", "sy1:abcd", "sy1:" + KeyID(newKey(t)) + ":AAAA"} {
		if _, err := r.open(bad, "owner-a"); err == nil {
			t.Errorf("open(%q) succeeded; want an error", bad)
		}
	}
}

func FuzzKeyringOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, KeySize)
	r, err := newKeyring([][]byte{key})
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := r.seal("value", "o")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add("sy1:" + KeyID(key) + ":")
	f.Add("sy1::")
	f.Fuzz(func(t *testing.T, s string) {
		// Only the sealed value's ciphertext authenticates, so any
		// input that opens must yield its plain text.
		plain, err := r.open(s, "o")
		if err == nil && plain != "value" {
			t.Errorf("open(%q) = %q, want an error", s, plain)
		}
	})
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	raw := bytes.Repeat([]byte{1}, KeySize)
	encoded := base64.StdEncoding.EncodeToString(raw)

	key, err := LoadKey(encoded, filepath.Join(dir, "unused"), true)
	if err != nil || !bytes.Equal(key, raw) {
		t.Errorf("LoadKey(env) = %x, %v; want the env key", key, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused")); err == nil {
		t.Errorf("LoadKey with an env key created the key file")
	}

	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		_, err := LoadKey(bad, "", false)
		if err == nil || !strings.Contains(err.Error(), EnvSecretKey) || strings.Contains(err.Error(), bad) {
			t.Errorf("LoadKey(%q) = %v, want an error naming %s without the value", bad, err, EnvSecretKey)
		}
	}

	_, err = LoadKey("", "", false)
	if err == nil || !strings.Contains(err.Error(), EnvSecretKey) {
		t.Errorf("LoadKey with nothing = %v, want an error naming %s", err, EnvSecretKey)
	}
	file := filepath.Join(dir, "data", "secret.key")
	if _, err := LoadKey("", file, false); err == nil {
		t.Errorf("LoadKey of a missing file without create succeeded")
	}

	created, err := LoadKey("", file, true)
	mustOK(t, err)
	if len(created) != KeySize {
		t.Errorf("created key is %d bytes, want %d", len(created), KeySize)
	}
	info, err := os.Stat(file)
	mustOK(t, err)
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
	again, err := LoadKey("", file, true)
	if err != nil || !bytes.Equal(again, created) {
		t.Errorf("second LoadKey = %x, %v; want the created key", again, err)
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	if got, err := LoadToken(" from-env ", "", false); err != nil || got != "from-env" {
		t.Errorf("LoadToken(env) = %q, %v; want from-env", got, err)
	}
	if _, err := LoadToken("", "", false); err == nil || !strings.Contains(err.Error(), EnvInternalToken) {
		t.Errorf("LoadToken with nothing = %v, want an error naming %s", err, EnvInternalToken)
	}

	file := filepath.Join(dir, "internal.token")
	created, err := LoadToken("", file, true)
	mustOK(t, err)
	if len(created) != 64 {
		t.Errorf("created token has %d characters, want 64", len(created))
	}
	info, err := os.Stat(file)
	mustOK(t, err)
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("token file mode = %o, want 600", mode)
	}
	again, err := LoadToken("", file, false)
	if err != nil || again != created {
		t.Errorf("second LoadToken = %q, %v; want the created token", again, err)
	}

	empty := filepath.Join(dir, "empty")
	mustOK(t, os.WriteFile(empty, []byte("\n"), 0o600))
	if _, err := LoadToken("", empty, false); err == nil {
		t.Errorf("LoadToken of an empty file succeeded")
	}
}
