package jenkinstest

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name          string
		anonymousRead bool
		call          call
		wantStatus    int
		wantHeader    map[string]string
	}{
		{
			name:       "API token",
			call:       get("/api/json"),
			wantStatus: http.StatusOK,
		},
		{
			name:       "password",
			call:       call{path: "/api/json", user: "admin", secret: adminPassword},
			wantStatus: http.StatusOK,
		},
		{
			name:       "wrong password",
			call:       call{path: "/api/json", user: "admin", secret: "wrong"},
			wantStatus: http.StatusUnauthorized,
			wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="Jenkins"`},
		},
		{
			name:       "unknown user",
			call:       call{path: "/job/test/api/json", user: "nobody", secret: adminToken},
			wantStatus: http.StatusUnauthorized,
			wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="Jenkins"`},
		},
		{
			name:       "wrong token on unknown URL",
			call:       call{method: http.MethodPost, path: "/no/such/page", user: "admin", secret: "wrong"},
			wantStatus: http.StatusUnauthorized,
			wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="Jenkins"`},
		},
		{
			name:          "wrong password with anonymous read",
			anonymousRead: true,
			call:          call{path: "/api/json", user: "admin", secret: "wrong"},
			wantStatus:    http.StatusUnauthorized,
		},
		{
			name:       "anonymous",
			call:       call{path: "/job/test/api/json"},
			wantStatus: http.StatusForbidden,
			wantHeader: map[string]string{
				"X-You-Are-Authenticated-As": "anonymous",
				"X-Required-Permission":      "hudson.model.Hudson.Read",
			},
		},
		{
			name:       "bearer is anonymous",
			call:       call{path: "/job/test/api/json", header: map[string]string{"Authorization": "Bearer " + adminToken}},
			wantStatus: http.StatusForbidden,
			wantHeader: map[string]string{"X-You-Are-Authenticated-As": "anonymous"},
		},
		{
			name:       "anonymous on unknown URL",
			call:       call{path: "/no/such/page"},
			wantStatus: http.StatusForbidden,
			wantHeader: map[string]string{"X-You-Are-Authenticated-As": "anonymous"},
		},
		{
			name:       "anonymous trigger token without read",
			call:       call{method: http.MethodPost, path: "/job/param/buildWithParameters?token=t"},
			wantStatus: http.StatusForbidden,
			wantHeader: map[string]string{"X-Required-Permission": "hudson.model.Hudson.Read"},
		},
		{
			name:          "anonymous with read",
			anonymousRead: true,
			call:          call{path: "/job/test/api/json"},
			wantStatus:    http.StatusOK,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, base := newFixture(t, Config{AnonymousRead: test.anonymousRead})
			got := send(t, base, test.call)

			if got.status != test.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", got.status, test.wantStatus, got.body)
			}
			for key, want := range test.wantHeader {
				if value := got.header.Get(key); value != want {
					t.Errorf("header %s = %q, want %q", key, value, want)
				}
			}
		})
	}
}

// fetchCrumb gets a crumb for user with secret and returns it with the
// session cookie, reusing session when it is not nil.
func fetchCrumb(t *testing.T, base, user, secret string, session *http.Cookie) (string, *http.Cookie) {
	t.Helper()
	c := call{path: "/crumbIssuer/api/json", user: user, secret: secret}
	if session != nil {
		c.cookies = []*http.Cookie{session}
	}
	got := send(t, base, c)
	wantStatus(t, got, http.StatusOK)

	fields := decodeJSON(t, got)
	if field := fields["crumbRequestField"]; field != "Jenkins-Crumb" {
		t.Errorf("crumbRequestField = %v, want Jenkins-Crumb", field)
	}
	crumb, _ := fields["crumb"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(crumb) {
		t.Errorf("crumb = %q, want 64 hex digits", crumb)
	}

	cookies := got.resp.Cookies()
	if session != nil {
		if len(cookies) != 0 {
			t.Errorf("crumb issuer set %d cookies for an existing session, want 0", len(cookies))
		}
		return crumb, session
	}
	if len(cookies) != 1 {
		t.Fatalf("crumb issuer set %d cookies, want 1", len(cookies))
	}
	if !regexp.MustCompile(`^JSESSIONID\.[0-9a-f]{8}$`).MatchString(cookies[0].Name) {
		t.Errorf("cookie name = %q, want JSESSIONID.<8 hex>", cookies[0].Name)
	}
	return crumb, cookies[0]
}

func TestCrumbFlow(t *testing.T) {
	_, base := newFixture(t, Config{CSRF: true})
	crumb, session := fetchCrumb(t, base, "admin", adminPassword, nil)
	otherCrumb, otherSession := fetchCrumb(t, base, "other", otherPassword, nil)
	sameSessionCrumb, _ := fetchCrumb(t, base, "admin", adminPassword, session)
	if sameSessionCrumb != crumb {
		t.Errorf("crumb of the same session and user = %q, want %q", sameSessionCrumb, crumb)
	}

	passwordPost := func(header map[string]string, cookies ...*http.Cookie) call {
		return call{method: http.MethodPost, path: "/job/test/build", user: "admin", secret: adminPassword,
			header: header, cookies: cookies}
	}
	tests := []struct {
		name       string
		call       call
		wantStatus int
	}{
		{
			name:       "password with crumb and cookie",
			call:       passwordPost(map[string]string{"Jenkins-Crumb": crumb}, session),
			wantStatus: http.StatusCreated,
		},
		{
			name: "password with crumb form field",
			call: call{
				method: http.MethodPost, path: "/job/test/build", user: "admin", secret: adminPassword,
				contentType: "application/x-www-form-urlencoded", body: "Jenkins-Crumb=" + crumb,
				cookies: []*http.Cookie{session},
			},
			wantStatus: http.StatusCreated,
		},
		{
			name:       "password without crumb",
			call:       passwordPost(nil, session),
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "password with crumb but no cookie",
			call:       passwordPost(map[string]string{"Jenkins-Crumb": crumb}),
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "crumb of another session",
			call:       passwordPost(map[string]string{"Jenkins-Crumb": crumb}, otherSession),
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "crumb of another user",
			call:       passwordPost(map[string]string{"Jenkins-Crumb": otherCrumb}, otherSession),
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "cookie the server never issued",
			call:       passwordPost(map[string]string{"Jenkins-Crumb": crumb}, &http.Cookie{Name: session.Name, Value: "forged"}),
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "API token needs no crumb",
			call:       post("/job/test/build"),
			wantStatus: http.StatusCreated,
		},
		{
			name:       "trigger token needs crumb",
			call:       call{method: http.MethodPost, path: "/job/param/buildWithParameters?token=t"},
			wantStatus: http.StatusForbidden,
		},
		{
			name:       "GET needs no crumb",
			call:       call{path: "/job/test/api/json", user: "admin", secret: adminPassword},
			wantStatus: http.StatusOK,
		},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got := send(t, base, test.call)
			if got.status != test.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", got.status, test.wantStatus, got.body)
			}
			if test.wantStatus == http.StatusForbidden && !strings.Contains(got.body, "No valid crumb was included in the request") {
				t.Errorf("body = %q, want the crumb message", got.body)
			}
		})
	}
}

func TestCrumbIssuerWithoutCSRF(t *testing.T) {
	_, base := newFixture(t, Config{CSRF: false})
	got := send(t, base, get("/crumbIssuer/api/json"))
	wantStatus(t, got, http.StatusNotFound)

	// Without CSRF protection a password alone is enough for a POST.
	c := call{method: http.MethodPost, path: "/job/test/build", user: "admin", secret: adminPassword}
	wantStatus(t, send(t, base, c), http.StatusCreated)
}

func TestCrumbIssuerAnonymousWithoutRead(t *testing.T) {
	_, base := newFixture(t, Config{CSRF: true})
	got := send(t, base, call{path: "/crumbIssuer/api/json"})
	wantStatus(t, got, http.StatusForbidden)
}

func TestAnonymousCrumbWithTriggerToken(t *testing.T) {
	_, base := newFixture(t, Config{CSRF: true, AnonymousRead: true})
	crumb, session := fetchCrumb(t, base, "", "", nil)

	c := call{method: http.MethodPost, path: "/job/param/buildWithParameters?token=t",
		header: map[string]string{"Jenkins-Crumb": crumb}, cookies: []*http.Cookie{session}}
	wantStatus(t, send(t, base, c), http.StatusCreated)
}
