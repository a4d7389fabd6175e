package ruleengine

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard-dev/switchyard/pkg/configclient"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// ruleServer serves ListRules from a fixed list, failing for bus "down".
type ruleServer struct {
	v1.UnimplementedConfigServiceServer
	rules []*v1.Rule
}

func (s *ruleServer) ListRules(_ context.Context, req *v1.ListRulesRequest) (*v1.ListRulesResponse, error) {
	if req.GetBus() == "down" {
		return nil, status.Error(codes.Unavailable, "store unavailable")
	}
	resp := &v1.ListRulesResponse{}
	for _, r := range s.rules {
		if req.GetBus() == "" || r.GetBus() == req.GetBus() {
			resp.Rules = append(resp.Rules, r)
		}
	}
	return resp, nil
}

func TestConfigServiceRules(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	v1.RegisterConfigServiceServer(srv, &ruleServer{rules: []*v1.Rule{
		rule("default", "build", pushPattern),
		rule("ops", "page", pushPattern),
	}})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	conn, err := configclient.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	lister := ConfigServiceRules{Client: v1.NewConfigServiceClient(conn)}

	tests := []struct {
		name      string
		bus       string
		wantRules int
		wantCode  codes.Code
	}{
		{"all buses", "", 2, codes.OK},
		{"one bus", "ops", 1, codes.OK},
		{"bus without rules", "empty", 0, codes.OK},
		{"server error", "down", 0, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := lister.ListRules(t.Context(), tt.bus)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("ListRules(%q) code = %v, want %v", tt.bus, got, tt.wantCode)
			}
			if len(rules) != tt.wantRules {
				t.Errorf("ListRules(%q) = %d rules, want %d", tt.bus, len(rules), tt.wantRules)
			}
		})
	}
}
