package jenkinstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
)

const (
	anonymousName = "anonymous"
	crumbField    = "Jenkins-Crumb"
)

// principal is the caller of one request.
type principal struct {
	name       string
	user       *User // nil for anonymous callers
	byAPIToken bool
}

func (p principal) anonymous() bool {
	return p.user == nil
}

// canSee reports whether the caller may see a job. Jenkins returns 404 for
// a job the caller may not see, so that its existence is not revealed.
func (s *Server) canSee(p principal, fullName string) bool {
	if p.anonymous() {
		return s.config.AnonymousRead
	}
	return p.user.Jobs == nil || slices.Contains(p.user.Jobs, fullName)
}

// authenticate returns the caller of a request, or a 401 response when the
// request carries HTTP Basic credentials that match no user. Jenkins tries
// the secret as an API token first and then as the password. Other schemes,
// Bearer included, and malformed Basic headers leave the caller anonymous.
func (s *Server) authenticate(r *http.Request) (principal, *response) {
	anonymous := principal{name: anonymousName}
	name, secret, ok := r.BasicAuth()
	if !ok {
		return anonymous, nil
	}

	user, found := s.users[name]
	if found {
		for _, token := range user.APITokens {
			if equalSecrets(token, secret) {
				return principal{name: name, user: user, byAPIToken: true}, nil
			}
		}
		if user.Password != "" && equalSecrets(user.Password, secret) {
			return principal{name: name, user: user}, nil
		}
	}

	resp := errorResponse(http.StatusUnauthorized, "Invalid password/token for user: "+name)
	resp.header.Set("WWW-Authenticate", `Basic realm="Jenkins"`)
	return anonymous, &resp
}

// anonymousForbidden returns the 403 that Jenkins sends to anonymous
// callers without the Overall/Read permission, instead of a login redirect.
func anonymousForbidden() response {
	resp := errorResponse(http.StatusForbidden, "Authentication required")
	resp.header.Set("X-You-Are-Authenticated-As", anonymousName)
	resp.header.Set("X-Required-Permission", "hudson.model.Hudson.Read")
	resp.header.Set("X-Permission-Implied-By", "hudson.security.Permission.GenericRead")
	return resp
}

// crumbFor returns the 64 hex digit crumb of a user in a session. Jenkins
// likewise derives the crumb from the user name, the session id and a
// secret salt, so a crumb is useless with another session or user.
func (s *Server) crumbFor(userName, sessionID string) string {
	mac := hmac.New(sha256.New, s.crumbSalt)
	mac.Write([]byte(userName))
	mac.Write([]byte{0})
	mac.Write([]byte(sessionID))
	return hex.EncodeToString(mac.Sum(nil))
}

// sessionID returns the id from the request's session cookie when the
// server issued it, or "".
func (s *Server) sessionID(r *http.Request) string {
	cookie, err := r.Cookie(s.cookieName)
	if err != nil || !s.sessions[cookie.Value] {
		return ""
	}
	return cookie.Value
}

// hasValidCrumb reports whether a POST request carries the crumb of its
// caller and session, in the Jenkins-Crumb header or form field.
func (s *Server) hasValidCrumb(r *http.Request, p principal) bool {
	sessionID := s.sessionID(r)
	if sessionID == "" {
		return false
	}
	crumb := r.Header.Get(crumbField)
	if crumb == "" {
		crumb = r.Form.Get(crumbField)
	}
	return crumb != "" && equalSecrets(crumb, s.crumbFor(p.name, sessionID))
}

// issueCrumb serves GET /crumbIssuer/api/json. It reuses the session of the
// request's cookie, or starts a new session and sets its cookie.
func (s *Server) issueCrumb(r *http.Request, p principal) response {
	if !s.config.CSRF {
		return errorResponse(http.StatusNotFound, "Not Found")
	}

	// NOTE: sessions never expire here, while Jenkins drops idle sessions,
	// so a client that keeps a crumb for hours passes only this server.
	sessionID := s.sessionID(r)
	newSession := sessionID == ""
	if newSession {
		sessionID = "node0" + randomHex(12) + ".node0"
		s.sessions[sessionID] = true
	}

	resp := jsonResponse(http.StatusOK, map[string]any{
		"_class":            "hudson.security.csrf.DefaultCrumbIssuer",
		"crumb":             s.crumbFor(p.name, sessionID),
		"crumbRequestField": crumbField,
	})
	if newSession {
		cookie := &http.Cookie{Name: s.cookieName, Value: sessionID, Path: "/", HttpOnly: true}
		resp.header.Add("Set-Cookie", cookie.String())
	}
	return resp
}

// bearerToken returns the token of an "Authorization: Bearer" header, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func equalSecrets(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
