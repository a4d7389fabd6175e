package rediscache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// KeySize is the length in bytes of an AES-256 key.
const KeySize = 32

// sealVersion is the first byte of every sealed value, so a later
// format or key rotation can tell old values apart.
const sealVersion = 1

// Cipher seals values with AES-256-GCM before they go to Redis, so the
// Redis server never holds them in the clear. It is safe for concurrent
// use.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher returns a Cipher for a 32-byte key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: got %d bytes, want %d", ErrKeySize, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead}, nil
}

// Seal encrypts plaintext under a random nonce. The additional data,
// usually the Redis key, is authenticated but not stored: Open fails
// unless it is given the same bytes, so a value copied to another key
// does not decrypt.
func (c *Cipher) Seal(plaintext, additionalData []byte) []byte {
	nonceSize := c.aead.NonceSize()
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+c.aead.Overhead())
	out[0] = sealVersion
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(out[1:])
	return c.aead.Seal(out, out[1:], plaintext, additionalData)
}

// Open decrypts a value made by Seal with the same additional data. It
// returns ErrCorrupt when the value was not sealed by this key for this
// additional data.
func (c *Cipher) Open(sealed, additionalData []byte) ([]byte, error) {
	nonceSize := c.aead.NonceSize()
	if len(sealed) < 1+nonceSize+c.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrCorrupt
	}
	nonce := sealed[1 : 1+nonceSize]
	plaintext, err := c.aead.Open(nil, nonce, sealed[1+nonceSize:], additionalData)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plaintext, nil
}
