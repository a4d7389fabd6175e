package streams

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// EnvReplicas is the environment variable that sets Options.Replicas
// for every Switchyard command, so that whichever service starts first
// creates the streams with the same replicas as the config service.
const EnvReplicas = "SWITCHYARD_REPLICAS"

// MaxReplicas is the maximum number of copies of a stream that
// JetStream keeps.
const MaxReplicas = 5

// ReplicasUsage is the help text of every command's --replicas flag.
const ReplicasUsage = "JetStream servers that keep a copy of each stream and bucket: " +
	"1 on one server, 3 on a cluster of three or more (env " + EnvReplicas + ")"

// DefaultReplicas reads EnvReplicas through getenv, such as os.Getenv,
// and returns 1 when it is unset.
func DefaultReplicas(getenv func(string) string) (int, error) {
	v := getenv(EnvReplicas)
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxReplicas {
		return 0, fmt.Errorf("invalid %s %q: want a whole number from 1 to %d", EnvReplicas, v, MaxReplicas)
	}
	return n, nil
}

// CheckReplicas rejects a --replicas value that JetStream cannot keep.
func CheckReplicas(n int) error {
	if n < 1 || n > MaxReplicas {
		return fmt.Errorf("invalid --replicas %d: want 1 to %d, "+
			"at most the number of JetStream servers in the cluster", n, MaxReplicas)
	}
	return nil
}

// explainReplicas names the replicas setting when the server rejects a
// stream because it has too few JetStream servers to keep the copies,
// since the server's own message names neither the cause nor the fix.
func explainReplicas(err error, replicas int) error {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	switch apiErr.ErrorCode {
	case errCodeReplicasNotSupported:
		return fmt.Errorf("%w: %d replicas need a NATS cluster, and this server is not clustered; "+
			"set --replicas (%s) to 1 or connect to a cluster", err, replicas, EnvReplicas)
	case errCodeInsufficientResources, errCodeNoSuitablePeers:
		return fmt.Errorf("%w: the cluster has fewer JetStream servers with room than the %d replicas "+
			"asked for; lower --replicas (%s) or add servers", err, replicas, EnvReplicas)
	}
	return err
}

// JetStream API error codes from nats-server v2.15's errors.json
// (JSStreamReplicasNotSupportedErr, JSInsufficientResourcesErr and
// JSClusterNoPeersErr), which nats.go does not export.
const (
	errCodeReplicasNotSupported  jetstream.ErrorCode = 10074
	errCodeInsufficientResources jetstream.ErrorCode = 10023
	errCodeNoSuitablePeers       jetstream.ErrorCode = 10005
)

// AddReplicasFlag defines --replicas on fs, with its default from
// EnvReplicas. Check the parsed value with CheckReplicas.
func AddReplicasFlag(fs *flag.FlagSet, p *int) error {
	def, err := DefaultReplicas(os.Getenv)
	if err != nil {
		return err
	}
	fs.IntVar(p, "replicas", def, ReplicasUsage)
	return nil
}
