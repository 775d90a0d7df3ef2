package store

import (
	"testing"
	"time"
)

func TestNewIDsAreUniqueAndGrow(t *testing.T) {
	first := NewID()
	time.Sleep(2 * time.Millisecond)
	if NewID() == NewID() || len(first) != 32 || first > NewID() {
		t.Fatal("IDs must be unique, 128-bit and increase over time")
	}
}
