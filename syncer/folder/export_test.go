package folder

import "context"

// SetLandedHook sets testHookLanded for the external tests (nil clears it).
func SetLandedHook(fn func(ctx context.Context, path string) bool) { testHookLanded = fn }

// SetCommittedHook sets testHookCommitted for the external tests (nil clears it).
func SetCommittedHook(fn func(ctx context.Context, dir string) bool) { testHookCommitted = fn }
