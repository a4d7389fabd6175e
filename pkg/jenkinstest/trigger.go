package jenkinstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	endpointBuild               = "build"
	endpointBuildWithParameters = "buildWithParameters"
	endpointWebhook             = "generic-webhook-trigger/invoke"
)

// triggerBuild serves POST /J/build and /J/buildWithParameters. The checks
// run in the order of Jenkins core: the trigger token, the build permission,
// whether the job is buildable, the HTTP method, then the submitted values.
// Only /build checks whether the job is buildable first.
func (s *Server) triggerBuild(
	r *http.Request, caller principal, job *jobState, endpoint string,
) response {
	notBuildable := errorResponse(http.StatusConflict, job.name+" is not buildable")
	if endpoint == endpointBuild && job.config.Disabled {
		return notBuildable
	}

	tokenAccepted := false
	// Jenkins reads the token like any request parameter, from the query
	// string or the form body.
	if job.config.Token != "" && r.Form.Has("token") {
		if !equalSecrets(r.Form.Get("token"), job.config.Token) {
			return errorResponse(http.StatusForbidden, "Invalid token provided.")
		}
		tokenAccepted = true
	}
	if caller.anonymous() && !tokenAccepted {
		return errorResponse(http.StatusForbidden, "anonymous is missing the Job/Build permission")
	}
	if job.config.Disabled {
		return notBuildable
	}

	// Jenkins core (BuildAuthorizationToken.checkPermission) allows GET only
	// with a matching trigger token or when an API token authenticated the
	// caller. Any other GET gets 405 with "Allow: POST".
	// NOTE: Jenkins answers a GET of /build on a parameterized job with the
	// parameter form page (200) before this check. The server skips the form.
	if r.Method != http.MethodPost && !tokenAccepted && !caller.byAPIToken {
		resp := errorResponse(http.StatusMethodNotAllowed, "This URL requires POST")
		resp.header.Set("Allow", http.MethodPost)
		return resp
	}

	quietPeriod := s.quietPeriod(job)
	if r.Form.Has("delay") {
		delay, err := parseDelay(r.Form.Get("delay"))
		if err != nil {
			return errorResponse(http.StatusBadRequest, err.Error())
		}
		quietPeriod = delay
	}

	params, failure := s.submittedParams(r, job, endpoint)
	if failure != nil {
		return *failure
	}

	cause := "Started by user " + caller.name
	if tokenAccepted {
		cause = "Started by remote host " + remoteHost(r)
	}
	item, merged := s.schedule(job, params, quietPeriod, cause)
	s.recordTrigger(job, endpoint, item, merged, caller.name)

	location := requestBaseURL(r) + "/queue/item/" + strconv.FormatInt(item.id, 10) + "/"
	if merged && endpoint == endpointBuildWithParameters && s.versionAtLeast(2, 308) {
		return redirectResponse(http.StatusSeeOther, location)
	}
	return redirectResponse(http.StatusCreated, location)
}

// submittedParams returns the parameter values of a trigger, or the error
// response when the request does not fit the job.
func (s *Server) submittedParams(
	r *http.Request, job *jobState, endpoint string,
) ([]paramValue, *response) {
	declared := job.config.Params
	if endpoint == endpointBuildWithParameters {
		if len(declared) == 0 {
			status := http.StatusBadRequest
			if !s.versionAtLeast(2, 524) {
				status = http.StatusInternalServerError
			}
			resp := errorResponse(status, job.name+" is not parameterized")
			return nil, &resp
		}
		return paramValues(declared, func(name string) (string, bool) {
			return r.Form.Get(name), r.Form.Has(name)
		}), nil
	}

	if len(declared) == 0 {
		return nil, nil
	}
	if !r.Form.Has("json") {
		resp := errorResponse(http.StatusBadRequest, "Nothing is submitted")
		return nil, &resp
	}
	submitted, err := parseSubmittedJSON(r.Form.Get("json"))
	if err != nil {
		resp := errorResponse(http.StatusBadRequest, err.Error())
		return nil, &resp
	}
	return paramValues(declared, func(name string) (string, bool) {
		value, ok := submitted[name]
		return value, ok
	}), nil
}

// paramValues returns a value for every declared parameter, from lookup or
// from the default. Values of undeclared parameters are dropped, as Jenkins
// drops them.
func paramValues(declared []Param, lookup func(name string) (string, bool)) []paramValue {
	values := make([]paramValue, 0, len(declared))
	for _, param := range declared {
		value, ok := lookup(param.Name)
		if !ok {
			value = param.Default
		}
		values = append(values, paramValue{name: param.Name, value: value})
	}
	return values
}

// parseSubmittedJSON reads the json form field of /build, such as
// {"parameter":[{"name":"P","value":"v"}]}. Jenkins also accepts a single
// object in place of the array.
func parseSubmittedJSON(text string) (map[string]string, error) {
	var form struct {
		Parameter json.RawMessage `json:"parameter"`
	}
	if err := json.Unmarshal([]byte(text), &form); err != nil {
		return nil, fmt.Errorf("invalid json form field: %v", err)
	}

	type nameValue struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
	}
	var list []nameValue
	trimmed := strings.TrimSpace(string(form.Parameter))
	switch {
	case trimmed == "" || trimmed == "null":
	case strings.HasPrefix(trimmed, "{"):
		var single nameValue
		if err := json.Unmarshal(form.Parameter, &single); err != nil {
			return nil, fmt.Errorf("invalid parameter in json form field: %v", err)
		}
		list = append(list, single)
	default:
		if err := json.Unmarshal(form.Parameter, &list); err != nil {
			return nil, fmt.Errorf("invalid parameter list in json form field: %v", err)
		}
	}

	values := make(map[string]string, len(list))
	for _, entry := range list {
		values[entry.Name] = jsonText(entry.Value)
	}
	return values, nil
}

// jsonText returns a JSON string as is and any other JSON value encoded.
func jsonText(value any) string {
	if text, ok := value.(string); ok {
		return text
	}
	if value == nil {
		return ""
	}
	encoded, _ := json.Marshal(value) // Decoded JSON always encodes again.
	return string(encoded)
}

// parseDelay parses the delay parameter as Jenkins does: "10sec" or
// "10secs" is seconds and a bare "10" is milliseconds. Negative delays mean
// no delay.
func parseDelay(text string) (time.Duration, error) {
	trimmed := strings.TrimSpace(text)
	unit := time.Millisecond
	for _, suffix := range []string{"secs", "sec"} {
		if number, ok := strings.CutSuffix(trimmed, suffix); ok {
			trimmed = strings.TrimSpace(number)
			unit = time.Second
			break
		}
	}
	amount, err := strconv.ParseInt(trimmed, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("Invalid delay parameter value: %s", text)
	}
	if amount < 0 {
		return 0, nil
	}
	if amount > int64(maxDelay/unit) {
		return 0, fmt.Errorf("Invalid delay parameter value: %s is longer than %v", text, maxDelay)
	}
	return time.Duration(amount) * unit, nil
}

// maxDelay bounds the delay parameter so that due times cannot overflow.
const maxDelay = 365 * 24 * time.Hour

func (s *Server) recordTrigger(
	job *jobState, endpoint string, item *queueItem, merged bool, userName string,
) {
	job.triggers = append(job.triggers, Trigger{
		Job:      job.name,
		Endpoint: endpoint,
		QueueID:  item.id,
		Merged:   merged,
		Params:   paramMap(job, item.params),
		User:     userName,
		Time:     s.now(),
	})
}

func remoteHost(r *http.Request) string {
	host := r.RemoteAddr
	if index := strings.LastIndex(host, ":"); index >= 0 {
		host = host[:index]
	}
	return strings.Trim(host, "[]")
}

// versionAtLeast reports whether the configured Jenkins version is at
// least major.minor. An unparsable version counts as the newest.
func (s *Server) versionAtLeast(major, minor int) bool {
	v := s.versionNumber
	if len(v) < 2 {
		return true
	}
	if v[0] != major {
		return v[0] > major
	}
	return v[1] >= minor
}

func parseVersion(version string) []int {
	var numbers []int
	for _, part := range strings.Split(version, ".") {
		number, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		numbers = append(numbers, number)
	}
	return numbers
}
