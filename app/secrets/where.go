package secrets

import "fmt"

// Where says, from the node directory alone (no keyring call, so it
// never prompts or blocks), where the node's folder caps are: one line
// for `lafs status`, "" when the node has no folder list yet.
func Where(nodeDir string) string {
	switch {
	case exists(FilePath(nodeDir)):
		return fmt.Sprintf("Folder caps: in %s, a file readable only by you: no OS keyring was available. They move into the keyring automatically when one is.", FilePath(nodeDir))
	case exists(MarkerPath(nodeDir)):
		return fmt.Sprintf("Folder caps: in the OS keyring (service %q).", Service)
	}
	return ""
}
