// Package cap parses, formats and derives Tahoe-LAFS capabilities ("caps"):
// the strings that both name a file or directory and grant the authority to
// read, write or verify it (docs/formats.md "Capabilities").
//
// The grammar, in short: every cap is "URI:" KIND ":" fields, where keys and
// storage indexes are 26 base32 characters (16 bytes), hashes are 52 (32
// bytes) and numbers are plain decimal.
//
//	URI:LIT:<data>                          the whole file, inline
//	URI:CHK:<key>:<ueb hash>:<k>:<n>:<size> immutable file (read cap)
//	URI:CHK-Verifier:<si>:<ueb hash>:<k>:<n>:<size>
//	URI:SSK:<write key>:<fingerprint>       SDMF mutable, write cap
//	URI:SSK-RO:<read key>:<fingerprint>     … read cap
//	URI:SSK-Verifier:<si>:<fingerprint>     … verify cap
//	URI:MDMF…                               the same three for MDMF
//	URI:DIR2[-CHK|-LIT|-MDMF][-RO|-Verifier]:<the file cap's fields>
//
// A directory cap wraps the file cap that holds the directory's entries.
// Derivations only go down in authority: write → read → verify.
//
// Parsing is strict, so that every cap has exactly one spelling: lowercase
// base32 with zero padding bits, exact field lengths, no leading zeros.
// The one exception is Tahoe's own: MDMF caps may carry extra trailing
// fields (old extension hints) that are accepted and dropped, so String()
// of such a cap is shorter than its input.
//
// Caps are secrets. String returns the real cap because the program needs
// it; LogValue and Redacted give a form that is safe for logs.
//
// The package does not fetch anything: it knows nothing of servers.
package cap
