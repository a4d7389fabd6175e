package config

import (
	"context"
	"errors"

	"github.com/switchyard-dev/switchyard/pkg/pattern"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// configAPI serves switchyard.v1.ConfigService. It ignores the
// internal token: a caller that presents it gets nothing more than any
// other caller. The interceptor turns its errors into gRPC statuses.
type configAPI struct {
	v1.UnimplementedConfigServiceServer
	s *Service
}

func (a *configAPI) CreateBus(ctx context.Context, req *v1.CreateBusRequest) (*v1.Bus, error) {
	return a.s.createBus(ctx, req.GetBus())
}

func (a *configAPI) GetBus(ctx context.Context, req *v1.GetBusRequest) (*v1.Bus, error) {
	return a.s.getBus(ctx, req.GetName())
}

func (a *configAPI) ListBuses(
	ctx context.Context, _ *v1.ListBusesRequest,
) (*v1.ListBusesResponse, error) {
	buses, err := a.s.buses.list(ctx, ">")
	if err != nil {
		return nil, err
	}
	return &v1.ListBusesResponse{Buses: buses}, nil
}

func (a *configAPI) UpdateBus(ctx context.Context, req *v1.UpdateBusRequest) (*v1.Bus, error) {
	return a.s.updateBus(ctx, req.GetBus())
}

func (a *configAPI) DeleteBus(
	ctx context.Context, req *v1.DeleteBusRequest,
) (*v1.DeleteResponse, error) {
	return deleted(a.s.deleteBus(ctx, req.GetName(), req.GetRevision()))
}

func (a *configAPI) CreateConnection(
	ctx context.Context, req *v1.CreateConnectionRequest,
) (*v1.Connection, error) {
	return a.s.createConnection(ctx, req.GetConnection())
}

func (a *configAPI) GetConnection(
	ctx context.Context, req *v1.GetConnectionRequest,
) (*v1.Connection, error) {
	return a.s.getConnection(ctx, req.GetName())
}

func (a *configAPI) ListConnections(
	ctx context.Context, _ *v1.ListConnectionsRequest,
) (*v1.ListConnectionsResponse, error) {
	all, err := a.s.listConnections(ctx)
	if err != nil {
		return nil, err
	}
	return &v1.ListConnectionsResponse{Connections: all}, nil
}

func (a *configAPI) UpdateConnection(
	ctx context.Context, req *v1.UpdateConnectionRequest,
) (*v1.Connection, error) {
	return a.s.updateConnection(ctx, req.GetConnection())
}

func (a *configAPI) DeleteConnection(
	ctx context.Context, req *v1.DeleteConnectionRequest,
) (*v1.DeleteResponse, error) {
	return deleted(a.s.deleteConnection(ctx, req.GetName(), req.GetRevision()))
}

func (a *configAPI) CreateApiDestination(
	ctx context.Context, req *v1.CreateApiDestinationRequest,
) (*v1.ApiDestination, error) {
	return a.s.createDestination(ctx, req.GetApiDestination())
}

func (a *configAPI) GetApiDestination(
	ctx context.Context, req *v1.GetApiDestinationRequest,
) (*v1.ApiDestination, error) {
	return a.s.getDestination(ctx, req.GetName())
}

func (a *configAPI) ListApiDestinations(
	ctx context.Context, _ *v1.ListApiDestinationsRequest,
) (*v1.ListApiDestinationsResponse, error) {
	all, err := a.s.destinations.list(ctx, ">")
	if err != nil {
		return nil, err
	}
	a.s.mergeCircuits(ctx, all)
	return &v1.ListApiDestinationsResponse{ApiDestinations: all}, nil
}

func (a *configAPI) UpdateApiDestination(
	ctx context.Context, req *v1.UpdateApiDestinationRequest,
) (*v1.ApiDestination, error) {
	return a.s.updateDestination(ctx, req.GetApiDestination())
}

func (a *configAPI) DeleteApiDestination(
	ctx context.Context, req *v1.DeleteApiDestinationRequest,
) (*v1.DeleteResponse, error) {
	return deleted(a.s.deleteDestination(ctx, req.GetName(), req.GetRevision()))
}

func (a *configAPI) CreateRule(ctx context.Context, req *v1.CreateRuleRequest) (*v1.Rule, error) {
	return a.s.createRule(ctx, req.GetRule())
}

func (a *configAPI) GetRule(ctx context.Context, req *v1.GetRuleRequest) (*v1.Rule, error) {
	return a.s.getRule(ctx, req.GetBus(), req.GetName())
}

func (a *configAPI) ListRules(
	ctx context.Context, req *v1.ListRulesRequest,
) (*v1.ListRulesResponse, error) {
	rules, err := a.s.listRules(ctx, req.GetBus())
	if err != nil {
		return nil, err
	}
	return &v1.ListRulesResponse{Rules: rules}, nil
}

func (a *configAPI) UpdateRule(ctx context.Context, req *v1.UpdateRuleRequest) (*v1.Rule, error) {
	return a.s.updateRule(ctx, req.GetRule())
}

func (a *configAPI) DeleteRule(
	ctx context.Context, req *v1.DeleteRuleRequest,
) (*v1.DeleteResponse, error) {
	return deleted(a.s.deleteRule(ctx, req.GetBus(), req.GetName(), req.GetRevision()))
}

// TestEventPattern reports whether an event matches a pattern, checking
// the pattern first so that each error names its field.
func (a *configAPI) TestEventPattern(
	_ context.Context, req *v1.TestEventPatternRequest,
) (*v1.TestEventPatternResponse, error) {
	src := []byte(req.GetEventPattern())
	if err := pattern.Validate(src); err != nil {
		return nil, invalidf("event_pattern", "the event pattern is invalid: %v", err)
	}
	match, err := pattern.Matches(src, []byte(req.GetEvent()))
	if errors.Is(err, pattern.ErrInvalidEvent) {
		return nil, invalidf("event", "the event is invalid: %v", err)
	}
	if err != nil {
		return nil, err
	}
	return &v1.TestEventPatternResponse{Match: match}, nil
}

// GetDeliveries lists the delivery records of an event. An event
// without records yields an empty list, not NOT_FOUND, since records
// expire and an unmatched event has none.
func (a *configAPI) GetDeliveries(
	ctx context.Context, req *v1.GetDeliveriesRequest,
) (*v1.GetDeliveriesResponse, error) {
	if req.GetEventId() == "" {
		return nil, invalidf("event_id", "the event id is missing; give the id of an event")
	}
	list, err := a.s.records.List(ctx, req.GetEventId())
	if err != nil {
		return nil, err
	}
	return &v1.GetDeliveriesResponse{Deliveries: list}, nil
}

func (a *configAPI) ListDeadLetters(
	ctx context.Context, req *v1.ListDeadLettersRequest,
) (*v1.ListDeadLettersResponse, error) {
	return a.s.listDeadLetters(ctx, req)
}

func (a *configAPI) GetDeadLetter(
	ctx context.Context, req *v1.GetDeadLetterRequest,
) (*v1.DeadLetter, error) {
	return a.s.getDeadLetter(ctx, req.GetId())
}

func (a *configAPI) RedriveDeadLetters(
	ctx context.Context, req *v1.RedriveDeadLettersRequest,
) (*v1.RedriveDeadLettersResponse, error) {
	return a.s.redriveDeadLetters(ctx, req.GetSelector())
}

func (a *configAPI) PurgeDeadLetters(
	ctx context.Context, req *v1.PurgeDeadLettersRequest,
) (*v1.PurgeDeadLettersResponse, error) {
	return a.s.purgeDeadLetters(ctx, req.GetSelector())
}

func (a *configAPI) ReplayEvents(
	ctx context.Context, req *v1.ReplayEventsRequest,
) (*v1.ReplayEventsResponse, error) {
	return a.s.replayEvents(ctx, req)
}

func deleted(err error) (*v1.DeleteResponse, error) {
	if err != nil {
		return nil, err
	}
	return &v1.DeleteResponse{}, nil
}
