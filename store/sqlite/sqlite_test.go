package sqlite_test

import (
	"testing"

	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/conformance"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) store.Store { return testdb.SQLite(t) })
}
