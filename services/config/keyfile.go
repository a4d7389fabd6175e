package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables read by the binaries and by `switchyard dev`.
const (
	// EnvSecretKey holds the base64 of the current 32-byte secret key.
	EnvSecretKey = "SWITCHYARD_SECRET_KEY"
	// EnvInternalToken holds the token that the Resolver service demands.
	EnvInternalToken = "SWITCHYARD_INTERNAL_TOKEN"
)

// LoadKey returns a 32-byte secret key. envValue, the value of
// EnvSecretKey, wins when it is not empty; it must be the standard
// base64 of 32 bytes. Otherwise the key is read from file, which holds
// the same base64 text. When create is set and file does not exist, a
// random key is written there with mode 0600, so a development setup
// needs no configuration. Errors never contain key material.
func LoadKey(envValue, file string, create bool) ([]byte, error) {
	if envValue != "" {
		key, err := decodeKey(envValue)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSecretKey, err)
		}
		return key, nil
	}
	if file == "" {
		return nil, fmt.Errorf("no secret key: set %s to the base64 of %d random bytes "+
			"or give a key file", EnvSecretKey, KeySize)
	}

	text, err := readOrCreate(file, create, func() (string, error) {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(key), nil
	})
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	key, err := decodeKey(text)
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", file, err)
	}
	return key, nil
}

// LoadToken returns the internal token. envValue, the value of
// EnvInternalToken, wins when it is not empty; otherwise the token is
// the trimmed content of file. When create is set and file does not
// exist, a random token of 64 hex digits is written there with mode
// 0600. Errors never contain the token.
func LoadToken(envValue, file string, create bool) (string, error) {
	if token := strings.TrimSpace(envValue); token != "" {
		return token, nil
	}
	if file == "" {
		return "", fmt.Errorf("no internal token: set %s or give a token file", EnvInternalToken)
	}

	token, err := readOrCreate(file, create, func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	})
	if err != nil {
		return "", fmt.Errorf("internal token file: %w", err)
	}
	if token == "" {
		return "", fmt.Errorf("internal token file %s is empty", file)
	}
	return token, nil
}

// decodeKey decodes the base64 text of a key.
func decodeKey(text string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("not valid base64; want the base64 of %d random bytes", KeySize)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes; want %d", len(key), KeySize)
	}
	return key, nil
}

// readOrCreate returns the trimmed content of file. When the file does
// not exist and create is set, it writes generate's output there first.
// O_EXCL keeps a process from overwriting a file that another process
// created in the meantime; it reads that file instead.
func readOrCreate(file string, create bool, generate func() (string, error)) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		return "", err
	}

	value, err := generate()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readOrCreate(file, false, generate)
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(value + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return value, f.Close()
}
