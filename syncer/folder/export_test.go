package folder

import "context"

// SetLandedHook sets testHookLanded for the external tests (nil clears it).
func SetLandedHook(fn func(ctx context.Context, path string) bool) { testHookLanded = fn }

// SetCommitHook sets testHookCommit for the external tests (nil clears it).
func SetCommitHook(fn func(ctx context.Context, dir string, published bool) bool) {
	testHookCommit = fn
}
