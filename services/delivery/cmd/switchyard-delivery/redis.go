package main

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// redisReady returns a readiness check that passes while rdb replies to a
// PING.
func redisReady(rdb *redis.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	}
}
