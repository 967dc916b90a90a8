// Package processtest runs the upload helper between real lafs processes
// on loopback (tests only): storage servers and a client that cannot
// reach each other (both outbound-only), a public helper node between
// them.
package processtest
