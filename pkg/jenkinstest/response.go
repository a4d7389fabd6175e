package jenkinstest

import (
	"encoding/json"
	"html"
	"net/http"
	"strconv"
)

// response is an HTTP response built while the server lock is held and
// written after it is released, so a slow client cannot stall the server.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (resp response) write(w http.ResponseWriter) {
	for key, values := range resp.header {
		w.Header()[key] = values
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body) // A failed write means the client went away.
}

// errorResponse returns an HTML error page like the one Jenkins' Jetty
// sends, with the message in the title and the heading.
func errorResponse(status int, message string) response {
	escaped := html.EscapeString(message)
	code := strconv.Itoa(status)
	page := "<html>\n<head>\n" +
		"<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n" +
		"<title>Error " + code + " " + escaped + "</title>\n</head>\n" +
		"<body><h2>HTTP ERROR " + code + "</h2>\n<p>" + escaped + "</p>\n</body>\n</html>\n"
	header := http.Header{}
	header.Set("Content-Type", "text/html;charset=utf-8")
	return response{status: status, header: header, body: []byte(page)}
}

func jsonResponse(status int, value any) response {
	body, err := json.Marshal(value)
	if err != nil {
		return errorResponse(http.StatusInternalServerError, "encoding JSON failed: "+err.Error())
	}
	header := http.Header{}
	header.Set("Content-Type", "application/json;charset=utf-8")
	return response{status: status, header: header, body: body}
}

func textResponse(status int, text string) response {
	header := http.Header{}
	header.Set("Content-Type", "text/plain;charset=utf-8")
	return response{status: status, header: header, body: []byte(text)}
}

// redirectResponse returns a response with an empty body and a Location
// header, as Jenkins sends for 201 Created and 303 See Other.
func redirectResponse(status int, location string) response {
	header := http.Header{}
	header.Set("Location", location)
	return response{status: status, header: header}
}

// requestBaseURL returns the scheme and authority of the request, so that
// Location headers and JSON URLs name the host the client used.
func requestBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
