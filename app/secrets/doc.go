// Package secrets keeps the folder sync's folder list, with its caps, in
// the OS keyring: the Secret Service on Linux (gnome-keyring, KWallet),
// the Keychain on macOS, the Credential Manager on Windows, through
// github.com/zalando/go-keyring. A Store implements syncer.SecretStore.
//
// # Layout in the keyring
//
// Every item is under the service "LAFS Sync". Several nodes of one user
// must not collide, so the account names start with the node's key: the
// node directory's base name and the first 12 hex digits of the SHA-256
// of its absolute path, e.g. ".lafssync-3fa1b2c4d5e6". The folder list
// (JSON, often more than the 2,560 bytes Windows allows in one item) is
// split into chunks of at most 1,536 bytes, each stored base64-encoded
// (2,048 characters, inside every platform's limit) under
//
//	<key>/folders/<gen>/<i>     chunk i of generation gen ("a" or "b")
//	<key>/folders               the manifest: "lafs-secrets v1 gen=a chunks=3 size=4100 sha256=…"
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
// a locked keyring that waits for a password), the store keeps the list in
// the 0600 file NODEDIR/private/sync-folders.json (syncer.FileStore, as
// before this package) and says so: Mode is ModeFile and Warning tells the
// user in plain words. Every later Load and Save tries the keyring again;
// once one works, the list moves into the keyring and the file is removed,
// only after the keyring copy was read back and matched.
//
// Keyring calls can block (a locked keyring shows a prompt; a wedged bus
// never answers), so each Load or Save gives the keyring Options.Timeout
// (3 s) and then uses the file. A call that timed out keeps its goroutine
// until the keyring answers; while it does, no new keyring call is made.
//
// The file, when present, is always at least as new as the keyring copy:
// a Save in file mode writes the file before it tries the keyring, and the
// file is removed only after the keyring holds the same bytes. A
// non-secret marker, NODEDIR/private/sync-folders.keyring, records that the
// list lives in the keyring: when the keyring is then unreachable and no
// file exists, Load fails with what to do instead of starting with no
// folders (which the next save would make permanent).
//
// # What it does not do (yet)
//
// Only the folder list moves. The root dircap aliases (NODEDIR/private/
// aliases), the web API token (NODEDIR/private/api_auth_token) and the
// node key stay in their 0600 files. Nothing here logs a secret: errors
// name the service and account, never a value.
package secrets
