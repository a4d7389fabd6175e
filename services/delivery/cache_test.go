package delivery

import (
	"bytes"
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"testing"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func TestCacheApply(t *testing.T) {
	f := &fakeResolver{dests: map[string]*internalv1.ResolvedDestination{}, calls: map[string]int{}}
	f.set(&v1.ApiDestination{Name: "a"}, &v1.Connection{Name: "shared"})
	f.set(&v1.ApiDestination{Name: "b"}, &v1.Connection{Name: "shared"})
	f.set(&v1.ApiDestination{Name: "c"}, &v1.Connection{Name: "own"})

	tests := []struct {
		name   string
		change *internalv1.ConfigChange
		cached map[string]bool
	}{
		{"connection drops its destinations",
			&internalv1.ConfigChange{Kind: internalv1.ChangeKind_CHANGE_KIND_CONNECTION, Name: "shared"},
			map[string]bool{"a": false, "b": false, "c": true}},
		{"destination drops itself",
			&internalv1.ConfigChange{Kind: internalv1.ChangeKind_CHANGE_KIND_API_DESTINATION, Name: "c"},
			map[string]bool{"a": true, "b": true, "c": false}},
		{"rule keeps all",
			&internalv1.ConfigChange{Kind: internalv1.ChangeKind_CHANGE_KIND_RULE, Name: "a"},
			map[string]bool{"a": true, "b": true, "c": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newDestinationCache(f, DefaultCacheTTL)
			for _, name := range []string{"a", "b", "c"} {
				if _, err := c.get(context.Background(), name); err != nil {
					t.Fatal(err)
				}
			}
			c.apply(tt.change)
			for name, want := range tt.cached {
				if got := c.peek(name) != nil; got != want {
					t.Errorf("%s cached = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestCacheNotFound(t *testing.T) {
	f := &fakeResolver{dests: map[string]*internalv1.ResolvedDestination{}, calls: map[string]int{}}
	c := newDestinationCache(f, DefaultCacheTTL)
	_, err := c.get(context.Background(), "nope")
	if !errors.Is(err, retry.ErrDestinationNotFound) {
		t.Errorf("get(nope) = %v, want an error wrapping ErrDestinationNotFound", err)
	}
}

// staleResolver invalidates the cache while a resolve is in flight.
type staleResolver struct {
	*fakeResolver
	during func()
}

func (s staleResolver) ResolveDestination(ctx context.Context,
	req *internalv1.ResolveDestinationRequest, _ ...grpc.CallOption) (*internalv1.ResolvedDestination, error) {
	s.during()
	return s.fakeResolver.ResolveDestination(ctx, req)
}

func TestCacheSkipsResultResolvedBeforeChange(t *testing.T) {
	f := &fakeResolver{dests: map[string]*internalv1.ResolvedDestination{}, calls: map[string]int{}}
	f.set(&v1.ApiDestination{Name: "a"}, &v1.Connection{Name: "conn"})
	var c *destinationCache
	c = newDestinationCache(staleResolver{f, func() { c.drop(context.Background(), "a") }},
		DefaultCacheTTL)

	if _, err := c.get(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if c.peek("a") != nil {
		t.Error("a result resolved before an invalidation was cached")
	}
}
