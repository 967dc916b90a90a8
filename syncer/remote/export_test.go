package remote

// SetTestHookAfterPublish sets a function run after a Commit's directory
// publish, before its checks (tests only).
func SetTestHookAfterPublish(fn func()) { testHookAfterPublish = fn }
