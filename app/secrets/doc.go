// Package secrets keeps a node's secrets in the OS keyring: the Secret
// Service on Linux (gnome-keyring, KWallet), the Keychain on macOS, the
// Credential Manager on Windows, through github.com/zalando/go-keyring.
// Each secret is an Item with its own Store:
//
//	folders    the folder sync's folder list, with its caps (a Store is a syncer.SecretStore)
//	aliases    the root dircap aliases, in Tahoe's private/aliases format
//	api-token  the web API token, as in private/api_auth_token ("TOKEN\n")
//
// The node packages never import this one: node/config.LoadAliases and
// SaveAliases, node/client.ReadToken and node/webapi.LoadToken go through
// a config.AliasStore and a client.TokenStore that default to Tahoe's
// files, and Install (app/cli calls it at program start: cli.UseKeyring) puts
// Stores, which implements both, behind them.
//
// # Layout in the keyring
//
// Every item is under the service "LAFS Sync". Several nodes of one user
// must not collide, so the account names start with the node's key: the
// node directory's base name and the first 12 hex digits of the SHA-256
// of its absolute path, e.g. ".lafssync-3fa1b2c4d5e6". An item (the
// folder list is JSON, often more than the 2,560 bytes Windows allows in
// one entry; aliases grow too) is split into chunks of at most 1,536
// bytes, each stored base64-encoded (2,048 characters, inside every
// platform's limit) under
//
//	<key>/<name>/<gen>/<i>     chunk i of generation gen ("a" or "b")
//	<key>/<name>               the manifest: "lafs-secrets v1 gen=a chunks=3 size=4100 sha256=…"
//
// with <name> the item's name above. This is the layout the folder list
// had when it was the only item, so keyrings written then load unchanged.
//
// A save writes the chunks of the generation the manifest does not name,
// reads them back and checks them, switches the manifest, then deletes
// the old generation's chunks. A crash at any point leaves the manifest
// naming one complete generation, never a mix; leftovers of an
// interrupted save are overwritten or deleted by the next one.
//
// # Fallback and migration
//
// When no keyring answers (no D-Bus session bus, no Secret Service on it,
// a locked keyring that waits for a password), an item is kept in its
// 0600 fallback file — NODEDIR/private/sync-folders.json, private/aliases,
// private/api_auth_token: the files Tahoe and earlier versions used — and
// the store says so: Mode is ModeFile and Warning tells the user in plain
// words. Every later Load and Save tries the keyring again; once one
// works, the item moves into the keyring and the file is removed, only
// after the keyring copy was read back and matched (and only if the file
// still holds what was moved). Without a session bus in the environment
// (DBUS_SESSION_BUS_ADDRESS, $XDG_RUNTIME_DIR/bus) no keyring call is
// made: godbus would otherwise run dbus-launch, whose bus and keyring
// daemon outlive every lafs command on a headless machine.
//
// Keyring calls can block (a locked keyring shows a prompt; a wedged bus
// never answers), so each Load or Save gives the keyring Options.Timeout
// (3 s) and then uses the file. A call that timed out keeps its goroutine
// until the keyring answers; while it does, no new keyring call is made.
//
// The file, when present, is always at least as new as the keyring copy:
// a Save in file mode writes the file before it tries the keyring, and the
// file is removed only after the keyring holds the same bytes. For the
// aliases, a file next to a keyring copy (written by a tahoe CLI, or by a
// program without keyring access) is merged with it rather than replacing
// it: the union, the file's cap winning a name both have and the
// keyring's kept as NAME.keyring, so no alias is ever dropped. A
// non-secret marker (private/sync-folders.keyring, private/aliases.keyring,
// private/api_auth_token.keyring) records that the item lives in the
// keyring: when the keyring is then unreachable and no file exists, Load
// fails with what to do instead of starting with no folders or no
// aliases (which the next save would make permanent), and the file-only
// config.FileAliases refuses to read or start private/aliases. The token
// is the exception: losing it costs nothing, so a node that cannot reach
// it (or finds it damaged) makes a new one, in the file if need be.
//
// # Tahoe's files
//
// A stock tahoe CLI pointed at the node directory reads private/aliases
// and private/api_auth_token; while the keyring holds them those files do
// not exist, and `lafs status` and `lafs secrets` say so. `lafs secrets
// export-tahoe` (Stores.ExportTahoe) writes them, 0600, and leaves the
// marker private/tahoe-export: from then on every save writes the files
// too, a file a tahoe CLI changed is merged back into the keyring, and a
// removed file is written again. `lafs secrets export-tahoe --stop` removes
// the marker and moves the files back into the keyring.
//
// # What it does not do
//
// The node key, the client's lease and convergence secrets
// (private/secret, private/convergence) and the storage server's keys stay
// in their 0600 files. It does not lock the keyring or prompt for a
// password: a locked keyring is a keyring that does not answer. Nothing
// here logs a secret: errors name the service and account, never a value.
package secrets
