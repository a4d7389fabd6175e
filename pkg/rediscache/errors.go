package rediscache

import "errors"

var (
	// ErrKeySize is returned for an encryption key that is not 32 bytes.
	ErrKeySize = errors.New("rediscache: encryption key must be 32 bytes")

	// ErrCorrupt is returned by Cipher.Open for a value that this key did
	// not seal, or that was changed or moved to another Redis key.
	ErrCorrupt = errors.New("rediscache: sealed value is corrupt or was sealed by another key")
)
