package oauth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/switchyard-dev/switchyard/pkg/oauth"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// ExampleSource_Invalidate signs a request with a cached token and, when
// the endpoint rejects it, drops that token and tries once more.
func ExampleSource_Invalidate() {
	ctx := context.Background()
	source, err := oauth.New(oauth.Config{Logger: slog.Default()})
	if err != nil {
		fmt.Println(err)
		return
	}
	conn := &v1.Connection{
		Name:     "ci",
		Revision: 3,
		Authorization: &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{
				TokenUrl:     "http://127.0.0.1:9/token",
				ClientId:     "switchyard",
				ClientSecret: "secret",
			},
		},
	}
	key := fmt.Sprintf("%s@%d", conn.GetName(), conn.GetRevision())

	call := func() (int, error) {
		token, err := source.Token(ctx, key, conn.GetOauthClientCredentials())
		if err != nil {
			return 0, err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:9/job/x/build", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			source.Invalidate(ctx, key, token)
		}
		return resp.StatusCode, nil
	}

	status, err := call()
	if err == nil && status == http.StatusUnauthorized {
		status, err = call()
	}
	fmt.Println(status, err)
}
