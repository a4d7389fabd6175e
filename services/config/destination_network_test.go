package config

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestDestinationNetworkOnCreate(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("pub", "token-1"),
	})
	mustOK(t, err)

	rejected := []struct{ url, host, kind string }{
		{"http://127.0.0.1:8099/ok", "127.0.0.1", "loopback address"},
		{"http://localhost:8099/ok", "localhost", "loopback name"},
		{"https://[::1]/ok", "::1", "loopback address"},
		{"https://10.0.0.7/hook", "10.0.0.7", "private address"},
		{"http://169.254.169.254/latest", "169.254.169.254", "link-local address"},
		{"http://[::ffff:192.168.1.1]/x", "::ffff:192.168.1.1", "private address"},
	}
	for _, tt := range rejected {
		t.Run(tt.host, func(t *testing.T) {
			_, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
				ApiDestination: destination("d-pub", "pub", tt.url),
			})
			wantCode(t, err, codes.InvalidArgument, tt.host, tt.kind, `connection "pub"`,
				"switchyard connection update pub --network private")
			wantField(t, err, "api_destination.url")
		})
	}

	// Names other than localhost and public addresses are left to
	// delivery, which checks the addresses it dials.
	allowed := map[string]string{
		"d-name":   "https://jenkins.example.com/job/a/build",
		"d-public": "https://93.184.216.34/hook",
	}
	for name, url := range allowed {
		_, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
			ApiDestination: destination(name, "pub", url),
		})
		mustOK(t, err)
	}
}

func TestDestinationNetworkOnUpdate(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: basicConnection("pub", "token-1"),
	})
	mustOK(t, err)
	created, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: destination("d", "pub", "https://jenkins.example.com/hook"),
	})
	mustOK(t, err)

	next := destination("d", "pub", "http://192.168.0.5/hook")
	next.Revision = created.GetRevision()
	_, err = h.api.UpdateApiDestination(ctx, &v1.UpdateApiDestinationRequest{ApiDestination: next})
	wantCode(t, err, codes.InvalidArgument, "192.168.0.5", "private address",
		"switchyard connection update pub --network private")
}

func TestConnectionNetworkChange(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	conn := basicConnection("lan", "token-1")
	conn.Network = v1.Network_NETWORK_PRIVATE
	stored, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: conn})
	mustOK(t, err)
	_, err = h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: destination("d-local", "lan", "http://127.0.0.1:8099/ok"),
	})
	mustOK(t, err)

	public := basicConnection("lan", "")
	public.Network = v1.Network_NETWORK_PUBLIC
	public.Revision = stored.GetRevision()
	_, err = h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: public})
	wantCode(t, err, codes.InvalidArgument, `connection "lan"`, `API destination "d-local"`,
		"127.0.0.1", "loopback address", "--network private", "switchyard destination update d-local")
	wantField(t, err, "connection.network")

	// An update that keeps the network private still passes.
	conn.Revision = stored.GetRevision()
	conn.Description = "build machines"
	_, err = h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: conn})
	mustOK(t, err)
}

// wantField checks that err is a status whose field violation is about
// field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	st, _ := status.FromError(err)
	if got := violation(t, st).GetField(); got != field {
		t.Errorf("field violation = %q, want %q", got, field)
	}
}

func TestTokenURLNetwork(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	oauth := func(name, tokenURL string, network v1.Network) *v1.Connection {
		return &v1.Connection{Name: name, Network: network,
			Authorization: &v1.Connection_OauthClientCredentials{
				OauthClientCredentials: &v1.OAuthClientCredentials{
					TokenUrl: tokenURL, ClientId: "app", ClientSecret: "s3cret",
				},
			}}
	}

	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: oauth("pub", "http://127.0.0.1:9/token", v1.Network_NETWORK_PUBLIC),
	})
	wantCode(t, err, codes.InvalidArgument, "127.0.0.1", "loopback address", "--network private")
	wantField(t, err, "connection.oauth_client_credentials.token_url")

	// A public connection on the default network is checked too.
	_, err = h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: oauth("default-net", "https://10.1.2.3/token", v1.Network_NETWORK_UNSPECIFIED),
	})
	wantCode(t, err, codes.InvalidArgument, "10.1.2.3", "private address")

	for _, c := range []*v1.Connection{
		oauth("private", "http://127.0.0.1:9/token", v1.Network_NETWORK_PRIVATE),
		oauth("named", "https://auth.example/token", v1.Network_NETWORK_PUBLIC),
	} {
		_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: c})
		if err != nil {
			t.Errorf("create connection %s: %v, want it accepted", c.GetName(), err)
		}
	}

	// Moving a connection with a loopback token URL to the public
	// network fails the same way.
	moved := oauth("private", "http://127.0.0.1:9/token", v1.Network_NETWORK_PUBLIC)
	_, err = h.api.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: moved})
	wantCode(t, err, codes.InvalidArgument, "127.0.0.1", "loopback address")
}
