package jenkinstest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jobURL returns the absolute URL of a job, with /job/ before every folder.
func jobURL(base string, fullName string) string {
	var path strings.Builder
	for _, name := range strings.Split(fullName, "/") {
		path.WriteString("/job/")
		path.WriteString(name)
	}
	return base + path.String() + "/"
}

func millis(t time.Time) int64 {
	return t.UnixMilli()
}

func (s *Server) rootJSON(r *http.Request, caller principal) response {
	base := requestBaseURL(r)
	jobs := []map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(s.jobs)) {
		if s.canSee(caller, name) {
			jobs = append(jobs, map[string]any{
				"_class": "hudson.model.FreeStyleProject",
				"name":   name,
				"url":    jobURL(base, name),
			})
		}
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"_class":          "hudson.model.Hudson",
		"jobs":            jobs,
		"url":             base + "/",
		"useCrumbs":       s.config.CSRF,
		"useSecurity":     true,
		"numExecutors":    2,
		"quietingDown":    false,
		"primaryView":     map[string]any{"name": "all", "url": base + "/"},
		"nodeDescription": "the Jenkins controller's built-in node",
	})
}

func (s *Server) queueJSON(r *http.Request, caller principal) response {
	items := []map[string]any{}
	for _, item := range s.sortedQueue() {
		if !item.left && s.canSee(caller, item.job.name) {
			items = append(items, s.queueItemFields(r, item))
		}
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"_class": "hudson.model.Queue",
		"items":  items,
	})
}

func (s *Server) queueItemJSON(r *http.Request, caller principal, id int64) response {
	item, ok := s.queue[id]
	if !ok || !s.canSee(caller, item.job.name) {
		return errorResponse(http.StatusNotFound, "Not Found")
	}
	return jsonResponse(http.StatusOK, s.queueItemFields(r, item))
}

// queueItemFields returns the api/json fields of a queue item. A waiting
// item is a Queue$WaitingItem and an item that left is a Queue$LeftItem
// with the extra fields cancelled and executable.
func (s *Server) queueItemFields(r *http.Request, item *queueItem) map[string]any {
	base := requestBaseURL(r)
	fields := map[string]any{
		"_class":       "hudson.model.Queue$WaitingItem",
		"id":           item.id,
		"actions":      actionsJSON(item.params, item.causes),
		"blocked":      false,
		"buildable":    false,
		"inQueueSince": millis(item.enqueued),
		"params":       paramsText(item.params),
		"stuck":        false,
		"task": map[string]any{
			"_class": "hudson.model.FreeStyleProject",
			"name":   lastSegment(item.job.name),
			"url":    jobURL(base, item.job.name),
			"color":  "blue",
		},
		"url":       "queue/item/" + strconv.FormatInt(item.id, 10) + "/",
		"why":       "In the quiet period. Expires in " + timeSpan(item.due.Sub(s.now())),
		"timestamp": millis(item.due),
	}
	if !item.left {
		return fields
	}

	fields["_class"] = "hudson.model.Queue$LeftItem"
	fields["why"] = nil
	fields["cancelled"] = item.cancelled
	fields["executable"] = nil
	if item.build != nil {
		fields["executable"] = map[string]any{
			"_class": "hudson.model.FreeStyleBuild",
			"number": item.build.number,
			"url":    jobURL(base, item.job.name) + strconv.Itoa(item.build.number) + "/",
		}
	}
	return fields
}

func (s *Server) jobJSON(r *http.Request, job *jobState) response {
	base := requestBaseURL(r)
	color := "blue"
	if job.config.Disabled {
		color = "disabled"
	}
	var definitions []map[string]any
	for _, param := range job.config.Params {
		definitions = append(definitions, map[string]any{
			"_class":                "hudson.model.StringParameterDefinition",
			"name":                  param.Name,
			"type":                  "StringParameterDefinition",
			"defaultParameterValue": map[string]any{"name": param.Name, "value": param.Default},
		})
	}
	actions := []map[string]any{}
	if definitions != nil {
		actions = append(actions, map[string]any{
			"_class":               "hudson.model.ParametersDefinitionProperty",
			"parameterDefinitions": definitions,
		})
	}

	var lastBuild any
	if number := job.nextBuild - 1; number > 0 {
		lastBuild = map[string]any{
			"_class": "hudson.model.FreeStyleBuild",
			"number": number,
			"url":    jobURL(base, job.name) + strconv.Itoa(number) + "/",
		}
	}
	return jsonResponse(http.StatusOK, map[string]any{
		"_class":          "hudson.model.FreeStyleProject",
		"name":            lastSegment(job.name),
		"fullName":        job.name,
		"url":             jobURL(base, job.name),
		"buildable":       !job.config.Disabled,
		"color":           color,
		"actions":         actions,
		"property":        actions,
		"inQueue":         s.jobInQueue(job),
		"nextBuildNumber": job.nextBuild,
		"lastBuild":       lastBuild,
	})
}

func (s *Server) jobInQueue(job *jobState) bool {
	for _, item := range s.queue {
		if item.job == job && !item.left {
			return true
		}
	}
	return false
}

func (s *Server) buildJSON(r *http.Request, b *build) response {
	var result any
	duration := int64(0)
	if b.finished {
		result = b.result
		duration = b.duration.Milliseconds()
	}
	number := strconv.Itoa(b.number)
	return jsonResponse(http.StatusOK, map[string]any{
		"_class":            "hudson.model.FreeStyleBuild",
		"actions":           actionsJSON(b.params, b.causes),
		"building":          !b.finished,
		"displayName":       "#" + number,
		"duration":          duration,
		"estimatedDuration": -1,
		"fullDisplayName":   strings.ReplaceAll(b.job.name, "/", " » ") + " #" + number,
		"id":                number,
		"number":            b.number,
		"queueId":           b.queueID,
		"result":            result,
		"timestamp":         millis(b.started),
		"url":               jobURL(requestBaseURL(r), b.job.name) + number + "/",
	})
}

// consoleText returns the build log: the causes, the parameters, and the
// result line once the build finished.
func (b *build) consoleText() string {
	var text strings.Builder
	for _, cause := range b.causes {
		text.WriteString(cause + "\n")
	}
	text.WriteString("Running as SYSTEM\n")
	text.WriteString("Building in workspace /var/jenkins_home/workspace/" + b.job.name + "\n")
	for _, param := range b.params {
		text.WriteString(param.name + "=" + param.value + "\n")
	}
	if b.finished {
		text.WriteString("Finished: " + b.result + "\n")
	}
	return text.String()
}

func actionsJSON(params []paramValue, causes []string) []map[string]any {
	actions := []map[string]any{}
	if len(params) > 0 {
		values := make([]map[string]any, 0, len(params))
		for _, param := range params {
			values = append(values, map[string]any{
				"_class": "hudson.model.StringParameterValue",
				"name":   param.name,
				"value":  param.value,
			})
		}
		actions = append(actions, map[string]any{
			"_class":     "hudson.model.ParametersAction",
			"parameters": values,
		})
	}

	causeList := make([]map[string]any, 0, len(causes))
	for _, cause := range causes {
		causeList = append(causeList, map[string]any{"shortDescription": cause})
	}
	actions = append(actions, map[string]any{
		"_class": "hudson.model.CauseAction",
		"causes": causeList,
	})
	return actions
}

// paramsText returns parameters as Jenkins shows them in a queue item's
// params field: each one as "\nNAME=value".
func paramsText(params []paramValue) string {
	var text strings.Builder
	for _, param := range params {
		text.WriteString("\n" + param.name + "=" + param.value)
	}
	return text.String()
}

// timeSpan formats a duration the way Jenkins shows remaining quiet
// periods, such as "4.9 sec" or "2 min 5 sec".
func timeSpan(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f sec", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%d sec", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d sec", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d hr %d min", int(d.Hours()), int(d.Minutes())%60)
}

func lastSegment(fullName string) string {
	return fullName[strings.LastIndex(fullName, "/")+1:]
}
