package jenkinstest

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

const webhookPath = "/generic-webhook-trigger/invoke"

// handle builds the response to one request. The caller holds s.mu.
//
// The checks run in the order of Jenkins' servlet filters: authentication
// (401 on any URL), then the crumb check of POST requests, then the
// Overall/Read check, then the URL's own handler. The Generic Webhook
// Trigger endpoint skips the last two, as the plugin does.
func (s *Server) handle(r *http.Request, body []byte) response {
	s.advanceQueue()

	caller, unauthorized := s.authenticate(r)
	if unauthorized != nil {
		return *unauthorized
	}

	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == webhookPath {
		return s.invokeWebhook(r, body)
	}

	if err := parseForm(r); err != nil {
		return errorResponse(http.StatusBadRequest, "Invalid form data: "+err.Error())
	}

	needsCrumb := r.Method == http.MethodPost && s.config.CSRF && !caller.byAPIToken
	if needsCrumb && !s.hasValidCrumb(r, caller) {
		return errorResponse(http.StatusForbidden, "No valid crumb was included in the request")
	}

	if caller.anonymous() && !s.config.AnonymousRead {
		return anonymousForbidden()
	}

	switch {
	case path == "" || path == "/api/json":
		return s.rootJSON(r, caller)
	case path == "/crumbIssuer/api/json":
		return s.issueCrumb(r, caller)
	case path == "/queue/api/json":
		return s.queueJSON(r, caller)
	case strings.HasPrefix(path, "/queue/item/"):
		return s.routeQueueItem(r, caller, strings.TrimPrefix(path, "/queue/item/"))
	case strings.HasPrefix(path, "/job/"):
		return s.routeJob(r, caller, path)
	}
	return errorResponse(http.StatusNotFound, "Not Found")
}

// parseForm fills r.Form from the query string and an urlencoded or
// multipart body.
func parseForm(r *http.Request) error {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "multipart/form-data" {
		return r.ParseMultipartForm(MaxBodyBytes)
	}
	return r.ParseForm()
}

func (s *Server) routeQueueItem(r *http.Request, caller principal, rest string) response {
	idText, suffix, _ := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || (suffix != "" && suffix != "api/json") {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	return s.queueItemJSON(r, caller, id)
}

// routeJob serves URLs under /job/. It reads /job/A/job/B/... as the job
// "A/B" and passes the rest of the path to the job's handlers.
func (s *Server) routeJob(r *http.Request, caller principal, path string) response {
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var names []string
	for len(segments) >= 2 && segments[0] == "job" && segments[1] != "" {
		names = append(names, segments[1])
		segments = segments[2:]
	}

	fullName := strings.Join(names, "/")
	job, ok := s.jobs[fullName]
	if !ok || !s.canSee(caller, fullName) {
		return errorResponse(http.StatusNotFound, "Not Found")
	}

	action := strings.Join(segments, "/")
	switch action {
	case "", "api/json":
		return s.jobJSON(r, job)
	case "build":
		return s.triggerBuild(r, caller, job, endpointBuild)
	case "buildWithParameters":
		return s.triggerBuild(r, caller, job, endpointBuildWithParameters)
	}

	numberText, buildAction, _ := strings.Cut(action, "/")
	number, err := strconv.Atoi(numberText)
	b, found := job.builds[number]
	if err != nil || !found {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	switch buildAction {
	case "", "api/json":
		return s.buildJSON(r, b)
	case "consoleText":
		return textResponse(http.StatusOK, b.consoleText())
	}
	return errorResponse(http.StatusNotFound, "Not Found")
}
