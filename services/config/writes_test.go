package config

import (
	"fmt"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// TestDeleteRacingReferenceLeavesNoDangling deletes a connection while a
// destination that names it is created, many times over: either the
// delete wins and the create fails, or the create wins and the delete
// is refused, but never both succeed.
func TestDeleteRacingReferenceLeavesNoDangling(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)

	for i := range 20 {
		conn := fmt.Sprintf("race-conn-%d", i)
		dest := fmt.Sprintf("race-dest-%d", i)
		_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{
			Connection: basicConnection(conn, "pw")})
		mustOK(t, err)

		var wg sync.WaitGroup
		var deleteErr, createErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, deleteErr = h.api.DeleteConnection(ctx, &v1.DeleteConnectionRequest{Name: conn})
		}()
		go func() {
			defer wg.Done()
			_, createErr = h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
				ApiDestination: destination(dest, conn, "https://example.com/hook")})
		}()
		wg.Wait()

		if deleteErr == nil && createErr == nil {
			t.Fatalf("round %d: connection deleted and destination created on it", i)
		}
		for _, err := range []error{deleteErr, createErr} {
			if err != nil && status.Code(err) != codes.FailedPrecondition {
				t.Fatalf("round %d: error %v, want FailedPrecondition", i, err)
			}
		}
	}
}
