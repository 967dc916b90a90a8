// Package taghash implements Tahoe-LAFS's tagged SHA-256d hashes and every
// key, index and secret derivation built on them (docs/formats.md §2).
//
// SHA-256d is SHA-256 applied twice. A tagged hash prefixes the input with
// the netstring of a tag, so two purposes can never produce the same hash.
package taghash

import (
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
	"strconv"
)

// Sizes used throughout Tahoe.
const (
	HashSize = 32 // a full SHA-256d digest
	KeySize  = 16 // AES-128 keys, storage indexes, write/read keys
)

// Tags, one per purpose. They are part of the format: changing one changes every cap.
const (
	TagStorageIndex        = "allmydata_immutable_key_to_storage_index_v1"
	TagBlock               = "allmydata_encoded_subshare_v1"
	TagUEB                 = "allmydata_uri_extension_v1"
	TagPlaintext           = "allmydata_plaintext_v1"
	TagCrypttext           = "allmydata_crypttext_v1"
	TagCrypttextSegment    = "allmydata_crypttext_segment_v1"
	TagPlaintextSegment    = "allmydata_plaintext_segment_v1"
	TagConvergence         = "allmydata_immutable_content_to_key_with_added_secret_v1+"
	TagClientRenewal       = "allmydata_client_renewal_secret_v1"
	TagClientCancel        = "allmydata_client_cancel_secret_v1"
	TagFileRenewal         = "allmydata_file_renewal_secret_v1"
	TagFileCancel          = "allmydata_file_cancel_secret_v1"
	TagBucketRenewal       = "allmydata_bucket_renewal_secret_v1"
	TagBucketCancel        = "allmydata_bucket_cancel_secret_v1"
	TagSSKWriteKey         = "allmydata_mutable_privkey_to_writekey_v1"
	TagSSKReadKey          = "allmydata_mutable_writekey_to_readkey_v1"
	TagSSKDataKey          = "allmydata_mutable_readkey_to_datakey_v1"
	TagSSKStorageIndex     = "allmydata_mutable_readkey_to_storage_index_v1"
	TagSSKFingerprint      = "allmydata_mutable_pubkey_to_fingerprint_v1"
	TagWriteEnablerMaster  = "allmydata_mutable_writekey_to_write_enabler_master_v1"
	TagWriteEnabler        = "allmydata_mutable_write_enabler_master_and_nodeid_to_write_enabler_v1"
	TagDirnodeChildCapKey  = "allmydata_mutable_writekey_and_salt_to_dirnode_child_capkey_v1"
	TagDirnodeChildSalt    = "allmydata_dirnode_child_rwcap_to_salt_v1"
	TagMerkleEmptyLeaf     = "Merkle tree empty leaf"
	TagMerkleInternal      = "Merkle tree internal node"
	TagMutableContainerHdr = "allmydata_mutable_container_header"
)

// Netstring returns len(s) ":" s ",".
func Netstring(s []byte) []byte {
	out := make([]byte, 0, len(s)+12)
	out = strconv.AppendInt(out, int64(len(s)), 10)
	out = append(out, ':')
	out = append(out, s...)
	return append(out, ',')
}

// Hasher is a streaming SHA-256d: Sum returns SHA-256 of the inner SHA-256.
type Hasher struct{ inner hash.Hash }

// New returns a streaming tagged hasher primed with netstring(tag).
func New(tag string) *Hasher {
	h := &Hasher{inner: sha256.New()}
	h.inner.Write(Netstring([]byte(tag)))
	return h
}

// Write adds p to the hash. It never fails.
func (h *Hasher) Write(p []byte) (int, error) { return h.inner.Write(p) }

// Sum returns the 32-byte SHA-256d digest.
func (h *Hasher) Sum() [HashSize]byte {
	return sha256.Sum256(h.inner.Sum(nil))
}

// Tagged is SHA-256d(netstring(tag) || val).
func Tagged(tag string, val []byte) [HashSize]byte {
	h := New(tag)
	h.Write(val)
	return h.Sum()
}

// TaggedPair is SHA-256d(netstring(tag) || netstring(a) || netstring(b)).
func TaggedPair(tag string, a, b []byte) [HashSize]byte {
	h := New(tag)
	h.Write(Netstring(a))
	h.Write(Netstring(b))
	return h.Sum()
}

func trunc16(h [HashSize]byte) (k [KeySize]byte) { copy(k[:], h[:KeySize]); return }

// StorageIndex derives an immutable file's storage index from its AES key.
func StorageIndex(key [KeySize]byte) [KeySize]byte {
	return trunc16(Tagged(TagStorageIndex, key[:]))
}

// BlockHash is the leaf hash of one erasure-coded block.
func BlockHash(block []byte) [HashSize]byte { return Tagged(TagBlock, block) }

// UEBHash hashes a packed URI extension block.
func UEBHash(ueb []byte) [HashSize]byte { return Tagged(TagUEB, ueb) }

// CrypttextSegmentHash hashes one unpadded ciphertext segment.
func CrypttextSegmentHash(seg []byte) [HashSize]byte { return Tagged(TagCrypttextSegment, seg) }

// ConvergenceTag builds the composite tag of the convergent-encryption key
// for encoding parameters k, n and the effective segment size.
func ConvergenceTag(k, n, segSize int, secret []byte) (string, error) {
	if k < 1 || k > n || n > 256 {
		return "", fmt.Errorf("convergence: need 1 <= k <= n <= 256, got k=%d n=%d", k, n)
	}
	params := fmt.Sprintf("%d,%d,%d", k, n, segSize)
	tag := append([]byte(TagConvergence), Netstring(secret)...)
	tag = append(tag, Netstring([]byte(params))...)
	return string(tag), nil
}

// NewConvergence returns a hasher over the plaintext whose first 16 bytes
// of output are the file's AES key.
func NewConvergence(k, n, segSize int, secret []byte) (*Hasher, error) {
	tag, err := ConvergenceTag(k, n, segSize, secret)
	if err != nil {
		return nil, err
	}
	return New(tag), nil
}

// ConvergenceKey is the key a convergence hasher yields.
func (h *Hasher) Key() [KeySize]byte { return trunc16(h.Sum()) }

// ClientRenewalSecret derives the client-wide lease renew secret. Tahoe
// deliberately swaps roles here: the node secret is the tag.
func ClientRenewalSecret(nodeSecret []byte) [HashSize]byte {
	return Tagged(string(nodeSecret), []byte(TagClientRenewal))
}

// ClientCancelSecret derives the client-wide lease cancel secret.
func ClientCancelSecret(nodeSecret []byte) [HashSize]byte {
	return Tagged(string(nodeSecret), []byte(TagClientCancel))
}

// FileRenewalSecret derives a per-file renew secret.
func FileRenewalSecret(clientRenew, si []byte) [HashSize]byte {
	return TaggedPair(TagFileRenewal, clientRenew, si)
}

// FileCancelSecret derives a per-file cancel secret.
func FileCancelSecret(clientCancel, si []byte) [HashSize]byte {
	return TaggedPair(TagFileCancel, clientCancel, si)
}

// BucketRenewalSecret derives the renew secret given to one server.
func BucketRenewalSecret(fileRenew, leaseSeed []byte) [HashSize]byte {
	return TaggedPair(TagBucketRenewal, fileRenew, leaseSeed)
}

// BucketCancelSecret derives the cancel secret given to one server.
func BucketCancelSecret(fileCancel, leaseSeed []byte) [HashSize]byte {
	return TaggedPair(TagBucketCancel, fileCancel, leaseSeed)
}

// SSKWriteKey derives a mutable file's write key from its PKCS#8 private key DER.
func SSKWriteKey(privDER []byte) [KeySize]byte { return trunc16(Tagged(TagSSKWriteKey, privDER)) }

// SSKReadKey derives the read key from the write key.
func SSKReadKey(writeKey []byte) [KeySize]byte { return trunc16(Tagged(TagSSKReadKey, writeKey)) }

// SSKDataKey derives the AES key of one mutable segment from its salt.
func SSKDataKey(salt, readKey []byte) [KeySize]byte {
	return trunc16(TaggedPair(TagSSKDataKey, salt, readKey))
}

// SSKStorageIndex derives a mutable file's storage index from its read key.
func SSKStorageIndex(readKey []byte) [KeySize]byte {
	return trunc16(Tagged(TagSSKStorageIndex, readKey))
}

// SSKFingerprint hashes the SubjectPublicKeyInfo DER of the verifying key.
func SSKFingerprint(pubDER []byte) [HashSize]byte { return Tagged(TagSSKFingerprint, pubDER) }

// WriteEnablerMaster derives the write-enabler master from the write key.
func WriteEnablerMaster(writeKey []byte) [HashSize]byte {
	return Tagged(TagWriteEnablerMaster, writeKey)
}

// WriteEnabler derives the write enabler given to one server (seed = its 20-byte id).
func WriteEnabler(master, serverSeed []byte) [HashSize]byte {
	return TaggedPair(TagWriteEnabler, master, serverSeed)
}

// DirnodeChildCapKey derives the key that encrypts a child's write cap.
func DirnodeChildCapKey(iv, writeKey []byte) [KeySize]byte {
	return trunc16(TaggedPair(TagDirnodeChildCapKey, iv, writeKey))
}

// DirnodeChildSalt derives the salt for a child's write cap.
func DirnodeChildSalt(rwcap []byte) [KeySize]byte {
	return trunc16(Tagged(TagDirnodeChildSalt, rwcap))
}

// PermuteServer is the ring position of a server for a storage index:
// plain SHA-1, no tag.
func PermuteServer(si, seed []byte) [sha1.Size]byte {
	h := sha1.New()
	h.Write(si)
	h.Write(seed)
	var out [sha1.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}
