package config

// lockWrites serializes the writes of this process and returns the
// unlock function. Writes check references (a destination's connection,
// a rule's destinations) in one key-value read and store in another, and
// JetStream KV has no transaction over several keys, so without the
// lock a delete racing a create could leave a reference to a deleted
// object.
//
// TODO: several config replicas can still race each other this way;
// closing that needs a lock shared through NATS (for example a KV key
// taken with Create and released with Delete).
func (s *Service) lockWrites() func() {
	s.writeMu.Lock()
	return s.writeMu.Unlock
}
