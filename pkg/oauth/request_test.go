package oauth

import (
	"errors"
	"testing"
	"time"
)

func TestRefreshAt(t *testing.T) {
	start := time.Unix(1000, 0)
	tests := []struct {
		name      string
		expiresIn time.Duration
		want      time.Duration
	}{
		{"short token, 10% early", 10 * time.Second, 9 * time.Second},
		{"long token, 30s early", time.Hour, time.Hour - 30*time.Second},
		{"crossover at 300s", 300 * time.Second, 270 * time.Second},
		{"no expires_in, default lifetime", 0, DefaultLifetime - 30*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := refreshAt(start, tt.expiresIn, DefaultLifetime).Sub(start)
			if got != tt.want {
				t.Errorf("refreshAt(%v) = start+%v, want start+%v", tt.expiresIn, got, tt.want)
			}
		})
	}
}

func TestParseTokenResponse(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		token             string
		expiresIn         time.Duration
	}{
		{"JSON number", "application/json", `{"access_token":"a","expires_in":60}`, "a", time.Minute},
		{"JSON string", "application/json; charset=utf-8", `{"access_token":"a","expires_in":"60"}`, "a", time.Minute},
		{"no expires_in", "application/json", `{"access_token":"a"}`, "a", 0},
		{"negative", "application/json", `{"access_token":"a","expires_in":-5}`, "a", 0},
		{"fraction", "application/json", `{"access_token":"a","expires_in":1.5}`, "a", 0},
		{"form", "application/x-www-form-urlencoded", "access_token=a&expires_in=60", "a", time.Minute},
		{"huge", "application/json", `{"access_token":"a","expires_in":99999999999999}`, "a",
			maxExpiresIn * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTokenResponse(tt.ctype, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken != tt.token || got.expiresIn() != tt.expiresIn {
				t.Errorf("parse = %q, %v, want %q, %v", got.AccessToken, got.expiresIn(), tt.token, tt.expiresIn)
			}
		})
	}
}

func TestTokenErrorMessage(t *testing.T) {
	tests := []struct {
		err  *TokenError
		want string
	}{
		{&TokenError{StatusCode: 503}, "token request failed: status 503"},
		{&TokenError{StatusCode: 400, ErrorCode: "invalid_scope"}, "token request failed: status 400, error invalid_scope"},
		{&TokenError{Err: errors.New("dial refused")}, "token request failed: dial refused"},
		{&TokenError{StatusCode: 200, problem: "response contains no valid access token"},
			"token request failed: status 200: response contains no valid access token"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestSafeErrorCode(t *testing.T) {
	tests := map[string]string{
		"invalid_client":         "invalid_client",
		"":                       "",
		"bad code with spaces":   "",
		"leak: s3cr3t":           "",
		"line\nbreak":            "",
		string(make([]byte, 65)): "",
	}
	for in, want := range tests {
		if got := safeErrorCode(in); got != want {
			t.Errorf("safeErrorCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseTokenResponse checks that no response body makes the parser
// panic or report a negative lifetime.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add("application/json", []byte(`{"access_token":"a","expires_in":60}`))
	f.Add("application/x-www-form-urlencoded", []byte("access_token=a&expires_in=60"))
	f.Add("text/html", []byte("<html>"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		parsed, err := parseTokenResponse(ctype, body)
		if err != nil {
			return
		}
		if d := parsed.expiresIn(); d < 0 {
			t.Fatalf("expiresIn = %v, want >= 0", d)
		}
	})
}
