package secrets

import "fmt"

// Where says, from the node directory alone (no keyring call, so it
// never prompts or blocks), where the node's folder caps are: one line
// for `lafs status`, "" when the node has no folder list yet.
func Where(nodeDir string) string { return WhereItem(nodeDir, Folders(nodeDir)) }

// WhereAll is Where for every item of the node, the lines of those it
// has.
func WhereAll(nodeDir string) []string {
	var lines []string
	for _, it := range Items(nodeDir) {
		if w := WhereItem(nodeDir, it); w != "" {
			lines = append(lines, w)
		}
	}
	return lines
}

// WhereItem is Where for one item.
func WhereItem(nodeDir string, it Item) string {
	inFile, inKeyring := exists(it.File), exists(it.Marker)
	switch {
	case inFile && inKeyring && it.Exportable && exists(ExportPath(nodeDir)):
		return fmt.Sprintf("%s: in the OS keyring (service %q), and in %s for a stock tahoe CLI, as you asked (lafs secrets export-tahoe --stop removes the file).", it.Label, Service, it.File)
	case inFile:
		return fmt.Sprintf("%s: in %s, a file readable only by you: no OS keyring was available. %s automatically when one is.", it.Label, it.File, it.move())
	case inKeyring && it.Exportable:
		return fmt.Sprintf("%s: in the OS keyring (service %q); a stock tahoe CLI does not see %s there (lafs secrets export-tahoe writes %s for it).", it.Label, Service, pronoun(it), it.File)
	case inKeyring:
		return fmt.Sprintf("%s: in the OS keyring (service %q).", it.Label, Service)
	}
	return ""
}

func pronoun(it Item) string {
	if it.Plural {
		return "them"
	}
	return "it"
}
