package store

import "github.com/lafssync/lafssync/grid/taghash"

func siOf(k [16]byte) [16]byte { return taghash.StorageIndex(k) }
