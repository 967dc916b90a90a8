package secrets

import (
	"bytes"
	"strconv"

	"github.com/lafssync/lafssync/node/client"
	"github.com/lafssync/lafssync/node/config"
)

// Item is one secret of a node that a Store keeps: its name in the
// keyring, its fallback file and marker, and how it reads in messages.
type Item struct {
	Name   string // in account names: <key>/<Name>, <key>/<Name>/<gen>/<i>
	File   string // the 0600 fallback file
	Marker string // the non-secret file saying the item is in the keyring
	What   string // in messages: "the folder list"
	Kept   string // in the warning: "the folder caps"
	Plural bool   // Kept takes "are"
	None   string // what starting over means: "no folders"
	Label  string // Where's line: "Folder caps"

	// Merge, if set, combines the fallback file with the keyring copy
	// when both exist (the file is the newer); nil: the file replaces it.
	Merge func(file, keyring []byte) ([]byte, error)
	// Remakeable items cost nothing to lose (a new API token is made):
	// a keyring that holds it but does not answer is not an error.
	Remakeable bool
	// Exportable items are Tahoe's files: lafs secrets export-tahoe keeps
	// them in their files too (ExportPath).
	Exportable bool
}

func (it Item) verb() string {
	if it.Plural {
		return "are"
	}
	return "is"
}

func (it Item) move() string {
	if it.Plural {
		return "They move into the keyring"
	}
	return "It moves into the keyring"
}

// Folders is the folder sync's folder list, with the folders' write caps.
func Folders(nodeDir string) Item {
	return Item{Name: "folders", File: FilePath(nodeDir), Marker: MarkerPath(nodeDir),
		What: "the folder list", Kept: "the folder caps", Plural: true, None: "no folders", Label: "Folder caps"}
}

// Aliases is Tahoe's private/aliases (name: root dircap), in its format.
// The keyring copy and the file are merged: no alias is ever dropped.
func Aliases(nodeDir string) Item {
	return Item{Name: "aliases", File: config.AliasesPath(nodeDir), Marker: config.AliasesMarkerPath(nodeDir),
		What: "the aliases", Kept: "the aliases (root directory caps)", Plural: true, None: "no aliases", Label: "Aliases",
		Merge: mergeAliases, Exportable: true}
}

// APIToken is the web API token (private/api_auth_token, "TOKEN\n").
func APIToken(nodeDir string) Item {
	return Item{Name: "api-token", File: client.TokenPath(nodeDir), Marker: client.TokenPath(nodeDir) + ".keyring",
		What: "the web API token", Kept: "the web API token", None: "a new token", Label: "Web API token",
		Remakeable: true, Exportable: true}
}

// Items are every item of the node in nodeDir, in the order status
// shows them.
func Items(nodeDir string) []Item {
	return []Item{Folders(nodeDir), Aliases(nodeDir), APIToken(nodeDir)}
}

// mergeAliases is the union of two aliases files, the file's cap winning
// a name both have; the keyring's cap is then kept as NAME.keyring (or
// NAME.keyring2, ...), so that no cap is lost.
func mergeAliases(file, kr []byte) ([]byte, error) {
	if bytes.Equal(file, kr) {
		return file, nil
	}
	f, err := config.ParseAliases(file, "the aliases file")
	if err != nil {
		return nil, err
	}
	k, err := config.ParseAliases(kr, "the aliases in the keyring")
	if err != nil {
		return nil, err
	}
	has := func(c string) bool {
		for _, v := range f {
			if v == c {
				return true
			}
		}
		return false
	}
	for name, c := range k {
		fc, ok := f[name]
		switch {
		case !ok:
			f[name] = c
		case fc != c && !has(c):
			alt := name + ".keyring"
			for i := 2; f[alt] != "" && i < 1000; i++ {
				alt = name + ".keyring" + strconv.Itoa(i)
			}
			f[alt] = c
		}
	}
	return config.FormatAliases(f), nil
}
