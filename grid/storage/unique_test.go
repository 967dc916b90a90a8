package storage_test

import (
	"testing"

	"github.com/lafssync/lafssync/grid/storage"
	"github.com/lafssync/lafssync/grid/storage/mem"
)

func TestUniqueKeepsFirstByID(t *testing.T) {
	a, b, c := mem.New("a"), mem.New("b"), mem.New("c")
	again := mem.New("a") // another value, the same server ID
	got := storage.Unique([]storage.Server{a, b}, nil, []storage.Server{again, c, b})
	if len(got) != 3 || got[0] != storage.Server(a) || got[1] != storage.Server(b) || got[2] != storage.Server(c) {
		t.Fatalf("Unique = %v", got)
	}
}
