// Package testmail gives tests what they need to write ward's mail.
package testmail

import (
	"testing"
	"time"

	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
)

// Composer composes mail under a fixed secret, so that every composer
// made here opens what another sealed.
func Composer(t testing.TB) *notify.Composer {
	t.Helper()
	k, err := keys.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	comp, err := notify.NewComposer(k, "Security <security@example.com>", "https://id.example.com", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return comp
}
