package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/auth"
)

// crumbRejection is the message of the 403 that Jenkins sends for a
// POST without a valid CSRF crumb. Jenkins asks for a crumb only when
// Basic authentication used a password; a request with an API token
// never sees this 403.
const crumbRejection = "No valid crumb was included in the request"

// crumbIssuerPath is where Jenkins hands out crumbs, relative to its
// root URL.
const crumbIssuerPath = "crumbIssuer/api/json"

// maxCrumbResponse bounds the crumb issuer's response that is read.
const maxCrumbResponse = 64 << 10

// crumbSession is a Jenkins session of one connection: a cookie jar that
// holds the session cookie, and the crumb issued for that session.
type crumbSession struct {
	jar   http.CookieJar
	field string
	value string
}

// client returns base with the session's cookie jar, so the request
// sends the session cookie. It shares base's transport, and so its
// network guard.
func (s *crumbSession) client(base *http.Client) *http.Client {
	return &http.Client{
		Transport:     base.Transport,
		CheckRedirect: base.CheckRedirect,
		Jar:           s.jar,
	}
}

// crumbs caches one Jenkins session per connection, keyed by name and
// revision, so changed credentials start a new session. It is safe for
// concurrent use.
type crumbs struct {
	mu       sync.Mutex
	sessions map[string]*crumbSession
}

func newCrumbs() *crumbs {
	return &crumbs{sessions: map[string]*crumbSession{}}
}

func crumbKey(c *v1.Connection) string {
	return c.GetName() + "@" + strconv.FormatInt(c.GetRevision(), 10)
}

// lookup returns the cached session of c, or nil.
func (cs *crumbs) lookup(c *v1.Connection) *crumbSession {
	if c.GetBasic() == nil {
		return nil
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.sessions[crumbKey(c)]
}

// isCrumbRejection reports whether a response asks for a CSRF crumb
// that a Basic connection can fetch.
func isCrumbRejection(status int, excerpt string, c *v1.Connection) bool {
	return status == http.StatusForbidden && c.GetBasic() != nil &&
		strings.Contains(excerpt, crumbRejection)
}

// refresh drops the session that a request used and got a crumb 403
// with, and fetches a crumb in a new session. When another call already
// replaced that session, refresh returns the replacement instead.
func (cs *crumbs) refresh(ctx context.Context, used *crumbSession, c *v1.Connection,
	destinationURL string, base *http.Client, userAgent string) (*crumbSession, error) {
	key := crumbKey(c)
	cs.mu.Lock()
	current := cs.sessions[key]
	if current != nil && current != used {
		cs.mu.Unlock()
		return current, nil
	}
	delete(cs.sessions, key)
	cs.mu.Unlock()

	fresh, err := fetchCrumb(ctx, c, destinationURL, base, userAgent)
	if err != nil {
		return nil, err
	}
	cs.mu.Lock()
	cs.sessions[key] = fresh
	cs.mu.Unlock()
	return fresh, nil
}

// fetchCrumb starts a session at the crumb issuer of the Jenkins that
// serves destinationURL and returns it with its crumb.
func fetchCrumb(ctx context.Context, c *v1.Connection, destinationURL string,
	base *http.Client, userAgent string) (*crumbSession, error) {
	issuer, err := crumbIssuerURL(destinationURL)
	if err != nil {
		return nil, err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("crumb: cookie jar: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer, nil)
	if err != nil {
		return nil, fmt.Errorf("crumb: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if err := auth.Apply(req.Header, c); err != nil {
		return nil, fmt.Errorf("crumb: %w", err)
	}

	session := &crumbSession{jar: jar}
	resp, err := session.client(base).Do(req)
	if err != nil {
		return nil, fmt.Errorf("crumb request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("crumb issuer returned HTTP %d", resp.StatusCode)
	}

	var body struct {
		Crumb             string `json:"crumb"`
		CrumbRequestField string `json:"crumbRequestField"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxCrumbResponse)).Decode(&body); err != nil {
		return nil, fmt.Errorf("crumb issuer response: %w", err)
	}
	if body.Crumb == "" || body.CrumbRequestField == "" {
		return nil, errors.New("crumb issuer response has no crumb or crumbRequestField")
	}
	session.field = body.CrumbRequestField
	session.value = body.Crumb
	return session, nil
}

// crumbIssuerURL returns the crumb issuer of the Jenkins that serves
// rawURL. Jenkins' root is the part of the path before the first
// "/job/", which is "/" unless Jenkins runs under a context path such
// as /jenkins.
func crumbIssuerURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("crumb: invalid destination URL: %w", err)
	}
	root, _, _ := strings.Cut(u.Path, "/job/")
	root = strings.TrimSuffix(root, "/")
	issuer := url.URL{Scheme: u.Scheme, Host: u.Host, Path: root + "/" + crumbIssuerPath}
	return issuer.String(), nil
}

// callWithCrumb fetches a crumb in a new Jenkins session after the
// call in res got a crumb 403, and makes the call again with it. Both
// run within the attempt's timeout and count as one attempt, because
// the crumb is part of authenticating, like a token request.
func (s *Service) callWithCrumb(ctx context.Context, task *internalv1.DeliveryTask,
	r *internalv1.ResolvedDestination, res *attemptResult) (int, error) {
	c := r.GetConnection()
	base := s.clients.forNetwork(c.GetNetwork())
	_, err := s.crumbs.refresh(ctx, res.crumb, c, r.GetApiDestination().GetUrl(), base, s.userAgent)
	if err != nil {
		return 0, fmt.Errorf("fetch Jenkins crumb: %w", err)
	}
	s.log.Debug("fetched Jenkins crumb; calling again",
		"destination", task.GetApiDestination(), "connection", c.GetName())

	res.location, res.retryAfter, res.excerpt = "", 0, ""
	return s.call(ctx, task, r, res)
}
