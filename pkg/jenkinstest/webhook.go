package jenkinstest

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// invokeWebhook serves /generic-webhook-trigger/invoke like the Generic
// Webhook Trigger plugin. It needs no login and no crumb. The token comes
// from ?token=, a token header or "Authorization: Bearer", and selects
// every job whose [Job.WebhookToken] matches.
func (s *Server) invokeWebhook(r *http.Request, body []byte) response {
	token := r.URL.Query().Get("token")
	if token == "" {
		token = r.Header.Get("token")
	}
	if token == "" {
		token = bearerToken(r)
	}

	var matched []*jobState
	for _, name := range slices.Sorted(maps.Keys(s.jobs)) {
		job := s.jobs[name]
		if token != "" && job.config.WebhookToken != "" && equalSecrets(job.config.WebhookToken, token) {
			matched = append(matched, job)
		}
	}
	if len(matched) == 0 {
		return jsonResponse(http.StatusNotFound, map[string]any{
			"jobs":    nil,
			"message": "Found no job with a Generic Webhook Trigger for this token.",
		})
	}

	payload := decodePayload(body)
	results := make(map[string]any, len(matched))
	for _, job := range matched {
		results[job.name] = s.triggerFromWebhook(r, job, payload)
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"jobs":    results,
		"message": "Triggered jobs.",
	})
}

// triggerFromWebhook schedules one job for the webhook and returns its entry
// in the response. A disabled job is reported with triggered false.
func (s *Server) triggerFromWebhook(r *http.Request, job *jobState, payload any) map[string]any {
	variables := make(map[string]string, len(job.config.WebhookVariables))
	for name, path := range job.config.WebhookVariables {
		variables[name] = evaluateJSONPath(payload, path)
	}
	result := map[string]any{
		"regexpFilterExpression": "",
		"regexpFilterText":       "",
		"resolvedVariables":      variables,
		"triggered":              false,
	}
	if job.config.Disabled {
		return result
	}

	params := paramValues(job.config.Params, func(name string) (string, bool) {
		value, ok := variables[name]
		return value, ok
	})
	item, merged := s.schedule(job, params, s.quietPeriod(job), "Generic Cause")
	s.recordTrigger(job, endpointWebhook, item, merged, anonymousName)

	result["triggered"] = true
	result["id"] = item.id
	result["url"] = "queue/item/" + strconv.FormatInt(item.id, 10) + "/"
	return result
}

// decodePayload returns the decoded JSON body of a request, or nil when the
// body is empty or not JSON.
func decodePayload(body []byte) any {
	var payload any
	if err := json.Unmarshal(body, &payload); err != nil {
		return nil
	}
	return payload
}

// evaluateJSONPath returns the value at a JSONPath of the form
// $.name.name[index], or "" when the path does not resolve. Strings are
// returned as is and other values as JSON, as the plugin resolves them.
func evaluateJSONPath(payload any, path string) string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(path), "$")
	if !ok {
		return ""
	}
	value := payload
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "["):
			end := strings.Index(rest, "]")
			if end < 0 {
				return ""
			}
			index, err := strconv.Atoi(rest[1:end])
			list, isList := value.([]any)
			if err != nil || !isList || index < 0 || index >= len(list) {
				return ""
			}
			value = list[index]
			rest = rest[end+1:]
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			object, isObject := value.(map[string]any)
			if !isObject {
				return ""
			}
			value, ok = object[rest[:end]]
			if !ok {
				return ""
			}
			rest = rest[end:]
		default:
			return ""
		}
	}
	return jsonText(value)
}
