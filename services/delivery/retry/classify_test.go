package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/switchyard-dev/switchyard/services/delivery/netguard"
)

func TestClassify(t *testing.T) {
	rejected := fmt.Errorf("dial: %w", netguard.ErrRejected)
	timeout := &url.Error{Op: "Post", URL: "http://h/?key=secret", Err: context.DeadlineExceeded}
	netTimeout := &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}
	connRefused := &url.Error{Op: "Post", URL: "http://h/",
		Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	dns := &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}
	reset := &url.Error{Op: "Post", URL: "http://h/",
		Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}
	closedEarly := &url.Error{Op: "Post", URL: "http://h/", Err: io.ErrUnexpectedEOF}

	tests := []struct {
		name     string
		status   int
		err      error
		location string
		kind     Kind
		code     string
	}{
		{"200", 200, nil, "", Success, ""},
		{"201 with location", 201, nil, "/queue/item/1/", Success, ""},
		{"204", 204, nil, "", Success, ""},
		{"303 jenkins queue item", 303, nil, "http://jenkins/queue/item/5/", Success, ""},
		{"303 jenkins queue item relative", 303, nil, "/queue/item/5", Success, ""},
		{"303 elsewhere", 303, nil, "http://jenkins/login", Fail, CodeHTTP3xx},
		{"301", 301, nil, "http://other/", Fail, CodeHTTP3xx},
		{"302 to queue item", 302, nil, "/queue/item/5/", Fail, CodeHTTP3xx},
		{"400", 400, nil, "", Fail, CodeHTTP4xx},
		{"401", 401, nil, "", Retry, CodeAuthFailed},
		{"403", 403, nil, "", Fail, CodeHTTP4xx},
		{"404", 404, nil, "", Fail, CodeHTTP4xx},
		{"407", 407, nil, "", Retry, CodeAuthFailed},
		{"409", 409, nil, "", Retry, CodeHTTP4xx},
		{"429", 429, nil, "", Retry, CodeHTTP4xx},
		{"500", 500, nil, "", Retry, CodeHTTP5xx},
		{"503", 503, nil, "", Retry, CodeHTTP5xx},
		{"599", 599, nil, "", Retry, CodeHTTP5xx},
		{"600", 600, nil, "", Fail, CodeUnexpectedStatus},
		{"context timeout", 0, timeout, "", Retry, CodeTimeout},
		{"net timeout", 0, netTimeout, "", Retry, CodeTimeout},
		{"connection refused", 0, connRefused, "", Retry, CodeConnectionError},
		{"dns", 0, dns, "", Retry, CodeConnectionError},
		{"connection reset", 0, reset, "", Retry, CodeConnectionError},
		{"response cut short", 0, closedEarly, "", Retry, CodeConnectionError},
		{"402", 402, nil, "", Fail, CodeHTTP4xx},
		{"408", 408, nil, "", Fail, CodeHTTP4xx},
		{"410", 410, nil, "", Fail, CodeHTTP4xx},
		{"422", 422, nil, "", Fail, CodeHTTP4xx},
		{"502", 502, nil, "", Retry, CodeHTTP5xx},
		{"504", 504, nil, "", Retry, CodeHTTP5xx},
		{"connection not found", 0, fmt.Errorf("connection c: %w", ErrDestinationNotFound), "",
			Fail, CodeDestinationNotFound},
		{"network rejected", 0, rejected, "", Fail, CodeNetworkRefused},
		{"destination not found", 0, fmt.Errorf("x: %w", ErrDestinationNotFound), "", Fail,
			CodeDestinationNotFound},
		{"config error", 0, fmt.Errorf("x: %w", ErrConfig), "", Fail, CodeConfigError},
		{"auth error", 0, fmt.Errorf("x: %w", ErrAuth), "", Retry, CodeAuthFailed},
		{"rejected token endpoint", 0, fmt.Errorf("%w: %w", ErrAuth, rejected), "", Fail,
			CodeNetworkRefused},
		{"error wins over status", 200, connRefused, "", Retry, CodeConnectionError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.status, tt.err, tt.location)
			if got.Kind != tt.kind {
				t.Errorf("Classify(%d, %v, %q).Kind = %v, want %v",
					tt.status, tt.err, tt.location, got.Kind, tt.kind)
			}
			if got.Code != tt.code {
				t.Errorf("Classify(%d, %v, %q).Code = %q, want %q",
					tt.status, tt.err, tt.location, got.Code, tt.code)
			}
			if got.Kind != Success && got.Reason == "" {
				t.Errorf("Classify(%d, %v, %q).Reason is empty", tt.status, tt.err, tt.location)
			}
		})
	}
}

func TestClassifyRedirectNamesLocation(t *testing.T) {
	got := Classify(302, nil, "https://sso.example/login")
	want := `redirect 302 to "https://sso.example/login" not followed`
	if got.Reason != want {
		t.Errorf("Reason = %q, want %q", got.Reason, want)
	}
}

func TestClassifyReasonDropsURL(t *testing.T) {
	err := &url.Error{Op: "Post", URL: "http://h/?api_key=s3cret", Err: errors.New("boom")}
	got := Classify(0, err, "")
	if want := "Post: boom"; got.Reason != want {
		t.Errorf("Reason = %q, want %q", got.Reason, want)
	}
}
