package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size in bytes of a secret key: AES-256.
const KeySize = 32

// sealedPrefix starts every encrypted value, followed by the key id, a
// colon and the base64 of nonce and ciphertext.
const sealedPrefix = "sy1:"

// keyring encrypts secrets under the current key and decrypts them
// under any known key, so that values sealed before a key rotation stay
// readable. It is safe for concurrent use.
type keyring struct {
	currentID string
	aeads     map[string]cipher.AEAD
}

// KeyID returns the id stored beside each value sealed with key: the
// first 8 hex digits of its SHA-256. It names a key in errors and logs
// without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// newKeyring builds a keyring whose first key is the current one.
func newKeyring(keys [][]byte) (*keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no secret key: load one with LoadKey")
	}
	r := &keyring{currentID: KeyID(keys[0]), aeads: map[string]cipher.AEAD{}}
	for i, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret key %d is %d bytes; want %d", i, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secret key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret key %d: %w", i, err)
		}
		r.aeads[KeyID(key)] = aead
	}
	return r, nil
}

// seal encrypts plain under the current key. The additional data binds
// the ciphertext to its owner, so a value copied into another object
// does not decrypt.
func (r *keyring) seal(plain, owner string) (string, error) {
	aead := r.aeads[r.currentID]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal secret: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, []byte(plain), []byte(owner))
	return sealedPrefix + r.currentID + ":" + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// open decrypts a value made by seal under any key of the keyring.
func (r *keyring) open(sealed, owner string) (string, error) {
	id, data, err := splitSealed(sealed)
	if err != nil {
		return "", err
	}
	aead, ok := r.aeads[id]
	if !ok {
		return "", fmt.Errorf("secret sealed with unknown key id %s: add that key to the secret keys", id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(data)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", fmt.Errorf("sealed secret under key id %s is malformed", id)
	}
	nonce, ciphertext := raw[:aead.NonceSize()], raw[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ciphertext, []byte(owner))
	if err != nil {
		return "", fmt.Errorf("decrypt secret under key id %s: %w", id, err)
	}
	return string(plain), nil
}

// current reports whether sealed was made with the current key.
func (r *keyring) current(sealed string) bool {
	id, _, err := splitSealed(sealed)
	return err == nil && id == r.currentID
}

func splitSealed(sealed string) (id, data string, err error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", "", errors.New("stored secret is not sealed")
	}
	id, data, ok = strings.Cut(rest, ":")
	if !ok {
		return "", "", errors.New("stored secret has no key id")
	}
	return id, data, nil
}
