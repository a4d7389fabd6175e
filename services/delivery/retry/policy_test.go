package retry

import (
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestPolicyFrom(t *testing.T) {
	tests := []struct {
		name string
		in   *v1.RetryPolicy
		want Policy
	}{
		{"nil", nil, Policy{185, 24 * time.Hour, time.Second, 5 * time.Minute}},
		{"zero retries", &v1.RetryPolicy{MaxAttempts: proto.Int32(0)},
			Policy{0, 24 * time.Hour, time.Second, 5 * time.Minute}},
		{"all set", &v1.RetryPolicy{
			MaxAttempts: proto.Int32(3),
			MaxEventAge: durationpb.New(time.Hour),
			BackoffBase: durationpb.New(10 * time.Millisecond),
			BackoffMax:  durationpb.New(time.Second),
		}, Policy{3, time.Hour, 10 * time.Millisecond, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PolicyFrom(tt.in); got != tt.want {
				t.Errorf("PolicyFrom() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCanRetry(t *testing.T) {
	p := Policy{MaxRetries: 2}
	for attempt, want := range map[int]bool{1: true, 2: true, 3: false} {
		if got := p.CanRetry(attempt); got != want {
			t.Errorf("CanRetry(%d) = %v, want %v", attempt, got, want)
		}
	}
	if (Policy{MaxRetries: 0}).CanRetry(1) {
		t.Error("CanRetry(1) with MaxRetries 0 = true, want false")
	}
}

func TestCeiling(t *testing.T) {
	p := Policy{BackoffBase: time.Second, BackoffMax: 5 * time.Minute}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{9, 256 * time.Second},
		{10, 5 * time.Minute},
		{185, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := p.Ceiling(tt.attempt); got != tt.want {
			t.Errorf("Ceiling(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestBackoffWithinCeiling(t *testing.T) {
	p := Policy{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second}
	for attempt := 1; attempt <= 8; attempt++ {
		ceiling := p.Ceiling(attempt)
		for range 200 {
			if got := p.Backoff(attempt); got < 0 || got > ceiling {
				t.Fatalf("Backoff(%d) = %v, want within [0, %v]", attempt, got, ceiling)
			}
		}
	}
}

func TestBackoffJitters(t *testing.T) {
	p := Policy{BackoffBase: time.Second, BackoffMax: time.Minute}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[p.Backoff(5)] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 backoffs gave %d distinct values, want full jitter", len(seen))
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"", 0, false},
		{"-5", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.value, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v, want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "", "9999999999999"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, value string) {
		d, ok := ParseRetryAfter(value, now)
		if ok && d < 0 {
			t.Errorf("ParseRetryAfter(%q) = %v, true, want a delay >= 0", value, d)
		}
		if !ok && d != 0 {
			t.Errorf("ParseRetryAfter(%q) = %v, false, want 0 with false", value, d)
		}
	})
}
