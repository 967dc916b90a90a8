// Package lease keeps a client's shares alive: storage servers delete
// shares whose leases have all expired (Tahoe leases last 31 days), so a
// client periodically renews a lease on every share of everything it can
// reach from its root caps (its aliases).
//
// Renew walks the roots with grid/walk and calls AddLease on every server
// for each storage index reached, immutable and mutable alike, with the
// renew and cancel secrets Tahoe derives for that client, file and server
// (immutable.LeaseSecrets, the same derivation uploads use, so a renewal
// extends the upload's own lease instead of adding one). Renewer runs
// Renew periodically.
//
// What it does not do: it does not cancel leases (Tahoe no longer does
// either), does not check or repair shares (grid/deepcheck), and renews
// only what is reachable from the roots it is given.
package lease
