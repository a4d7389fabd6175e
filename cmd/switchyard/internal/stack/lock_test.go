package stack

import (
	"strings"
	"testing"
)

func TestLockDataDirTwice(t *testing.T) {
	dir := t.TempDir()
	first, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	_, err = lockDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second lock = %v, want an in-use error", err)
	}

	first.Close()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release = %v, want nil", err)
	}
	again.Close()
}
