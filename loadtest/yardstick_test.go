package loadtest

import "testing"

// The yardstick times real signatures: it reports a time, never zero.
func TestYardstick(t *testing.T) {
	d, err := Yardstick()
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 {
		t.Fatalf("a signature took %v", d)
	}
}
