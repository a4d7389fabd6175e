package config

// lockWrites serializes the writes of this process and returns the
// unlock function. A write checks references, such as a destination's
// connection, in one key-value read and stores in another. JetStream KV
// has no transaction over several keys, so without the lock a delete
// racing a create could leave a reference to a deleted object.
//
// TODO: several config replicas can still race each other this way.
// Closing that needs a lock shared through NATS, for example a KV key
// taken with Create and released with Delete.
func (s *Service) lockWrites() func() {
	s.writeMu.Lock()
	return s.writeMu.Unlock
}
