package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/switchyard-dev/switchyard/pkg/ratelimit"
)

// ExampleLimiter_Allow shows a consumer that hands a message back with
// the returned delay instead of sleeping while it holds the message.
func ExampleLimiter_Allow() {
	limiter, err := ratelimit.New(ratelimit.Config{Logger: slog.Default()})
	if err != nil {
		fmt.Println(err)
		return
	}

	for i := range 3 {
		res, err := limiter.Allow(context.Background(), "jenkins-build", 2)
		if err != nil {
			fmt.Println(err)
			return
		}
		if !res.Allowed {
			// A JetStream consumer would call msg.NakWithDelay(res.RetryAfter).
			fmt.Println(i, "later")
			continue
		}
		fmt.Println(i, "send")
	}
	// Output:
	// 0 send
	// 1 send
	// 2 later
}
