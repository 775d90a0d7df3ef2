package sqlstore

import (
	"testing"
	"testing/fstest"
)

func TestMemFSIsAFileSystem(t *testing.T) {
	if err := fstest.TestFS(memFS{"00001_a.sql": []byte("-- a"), "00002_b.sql": []byte("-- b")}, "00001_a.sql", "00002_b.sql"); err != nil {
		t.Fatal(err)
	}
}
