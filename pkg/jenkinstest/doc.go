// Package jenkinstest provides a Jenkins-compatible HTTP server for tests.
//
// The server reproduces how Jenkins core (2.4xx to 2.5xx) and the Generic
// Webhook Trigger plugin respond to remote build triggers. It covers POST
// /job/NAME/build and /job/NAME/buildWithParameters, which return 201 with
// the queue item in Location, and the merging of identical queued triggers.
// It also covers HTTP Basic authentication with passwords and API tokens,
// CSRF crumbs tied to a session cookie, job trigger tokens, folders, queue
// items and builds.
//
// A test creates a [Server] with [New], adds users and jobs, and serves it
// with [Server.Start] or any [net/http/httptest.Server]:
//
//	s := jenkinstest.New(jenkinstest.Config{CSRF: true})
//	s.AddUser("admin", jenkinstest.User{APITokens: []string{"11aa"}})
//	s.AddJob("team/test", jenkinstest.Job{})
//	url := s.Start(t)
//
// The server runs on a manual clock unless [Config.Now] is set. Queued items
// leave the queue and start builds only when [Server.Advance] moves the clock
// past their quiet period, and builds finish when [Server.FinishBuild] is
// called. [Server.Requests] and [Server.Triggers] return what the server
// received, for assertions.
package jenkinstest
