package stack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on the data folder, so a second
// `switchyard dev` on the same folder fails at start instead of running
// a second JetStream store over the same files, which loses writes.
// The lock goes away with the process, even when it is killed.
func lockDataDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data folder lock: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("data folder %q is in use by another switchyard dev; "+
			"stop it or choose another folder with --data-dir", dir)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data folder lock: %w", err)
	}
	return f, nil
}
