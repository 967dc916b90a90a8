// Package recovery makes and reads the recovery kit: the root caps a user
// needs to get their folders back on a new computer (every synced
// folder's name and write cap, or read cap for a followed folder, the
// node's aliases, the grid's introducers and encoding), encrypted with a
// passphrase.
//
// The file format is in docs/recovery-kit.md. In short: a text file whose
// first line is "LAFS-SYNC-RECOVERY-KIT 1", three fixed comment lines,
// then a binary blob in base32 groups of five characters (the same text
// is the printable fallback, and the QR code holds it on one line). The
// blob is a header (magic, version, Argon2id parameters, salt, nonce, a
// key check, the length) and the XChaCha20-Poly1305 encryption of the
// deflated JSON kit with the header as additional data, then a CRC-32.
// The key is Argon2id of the passphrase; its parameters are in the
// header, so later versions can raise them and still read older kits.
//
// Open tells apart what the user can act on: not a kit, a newer format,
// a kit cut short, a damaged or altered kit, a wrong passphrase. The
// CRC catches copying and typing errors before the key derivation; the
// key check tells a wrong passphrase from an altered kit; the AEAD makes
// sure an altered kit never opens as a different one.
//
// The passphrase rule (CheckPassphrase, Estimate) is documented in
// docs/recovery-kit.md: at least 12 characters and an estimated 60 bits.
//
// The package gathers a kit from a running folder sync (FolderSource:
// the web API's client or an in-process api.Manager) and the node
// directory, and restores one through a FolderAdder and into
// private/aliases. It never logs or prints a cap: Kit's String and
// LogValue redact them; the commands print caps only when asked.
//
// What it does not do: keep the kit anywhere (the user chooses where),
// restore the node's own keys (a new computer is a new node, joined to
// the same grid), or back up files (the grid holds them).
package recovery
