package rediscache

import (
	"bytes"
	"errors"
	"testing"
)

func TestCipherRoundTrip(t *testing.T) {
	c, err := NewCipher(testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	sealed := c.Seal([]byte("secret"), []byte("key-a"))

	got, err := c.Open(sealed, []byte("key-a"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("Open = %q, %v, want secret, nil", got, err)
	}
	if again := c.Seal([]byte("secret"), []byte("key-a")); bytes.Equal(again, sealed) {
		t.Error("two Seal calls gave the same bytes, want fresh nonces")
	}
}

func TestCipherOpenRejects(t *testing.T) {
	c, _ := NewCipher(testKey(7))
	other, _ := NewCipher(testKey(8))
	sealed := c.Seal([]byte("secret"), []byte("key-a"))
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name   string
		cipher *Cipher
		sealed []byte
		ad     string
	}{
		{"other additional data", c, sealed, "key-b"},
		{"other key", other, sealed, "key-a"},
		{"flipped bit", c, flipped, "key-a"},
		{"truncated", c, sealed[:10], "key-a"},
		{"empty", c, nil, "key-a"},
		{"unknown version", c, append([]byte{9}, sealed[1:]...), "key-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cipher.Open(tt.sealed, []byte(tt.ad))
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Open error = %v, want ErrCorrupt", err)
			}
		})
	}
}

func FuzzCipherOpen(f *testing.F) {
	c, _ := NewCipher(testKey(7))
	f.Add(c.Seal([]byte("secret"), []byte("k")))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		plaintext, err := c.Open(sealed, []byte("k"))
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open error = %v, want nil or ErrCorrupt", err)
		}
		if err == nil && string(plaintext) != "secret" {
			t.Fatalf("Open accepted forged bytes: %q", plaintext)
		}
	})
}
