package delivery

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// TestHeldBackTasksDoNotStallOthers opens the circuit of a failing
// destination and queues more of its tasks than the service runs,
// buffers and fetches together. Those tasks wait in JetStream with a
// delayed nak, which keeps them pending on the consumer, so a consumer
// sized only for running work would stop handing out tasks at all.
func TestHeldBackTasksDoNotStallOthers(t *testing.T) {
	h := newHarness(t)
	failing := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	healthy := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	h.resolver.set(destination("failing", failing.URL), basicConnection(v1.Network_NETWORK_PRIVATE))
	h.resolver.set(destination("healthy", healthy.URL), basicConnection(v1.Network_NETWORK_PRIVATE))

	cfg := h.config()
	cfg.Concurrency = 2
	cfg.MaxWaiting = 2
	cfg.MaxWaitingPerDestination = 1
	cfg.Breaker = BreakerConfig{Failures: 2, CoolDown: time.Minute, MaxCoolDown: time.Minute}
	h.start(cfg)

	for i := range 30 {
		h.publish(newTask("failing", fmt.Sprintf("ev-failing-%d", i)))
	}
	var healthyTasks []*internalv1.DeliveryTask
	for i := range 5 {
		task := newTask("healthy", fmt.Sprintf("ev-healthy-%d", i))
		healthyTasks = append(healthyTasks, task)
		h.publish(task)
	}
	for _, task := range healthyTasks {
		h.waitState(task, v1.DeliveryState_DELIVERY_STATE_DELIVERED)
	}
}
