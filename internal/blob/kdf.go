package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// CounterKDF is the NIST SP 800-108 key derivation function in counter
// mode, with HMAC-SHA256 as the PRF and a 32-bit big-endian counter placed
// before the fixed input data. It returns outLen bytes:
//
//	K(i)   = HMAC-SHA256(key, [i]_32 || fixedInput), i = 1, 2, ...
//	result = leftmost outLen bytes of K(1) || K(2) || ...
//
// This is the CAVP profile [PRF=HMAC_SHA256][CTRLOCATION=BEFORE_FIXED]
// [RLEN=32_BITS], the one AWS KMS uses. fixedInput is the whole "fixed input
// data" and is used as given; DeriveKey builds it from a label and a context.
//
// CounterKDF panics if outLen is negative or needs more than 2^32-1 blocks,
// the limit SP 800-108 places on the counter; both are programming errors.
func CounterKDF(key, fixedInput []byte, outLen int) []byte {
	checkBlocks(outLen)
	return counterKDF(make([]byte, 0, roundUp(outLen)), key, outLen, fixedInput)
}

// DeriveKey derives outLen bytes from key with CounterKDF, using the fixed
// input data recommended by SP 800-108 section 5:
//
//	Label || 0x00 || Context || [L]_32
//
// where L = outLen*8 is the output length in bits as a big-endian uint32.
// Encoding L binds the output length into every block, so a 16-byte and a
// 32-byte derivation from the same inputs share no prefix. The 0x00
// separator is what SP 800-108 prescribes; it makes the label/context split
// unambiguous only when the label contains no 0x00 byte, so callers must use
// fixed, zero-free labels (as this package does) and put variable data in
// the context.
//
// DeriveKey panics if outLen is negative or outLen*8 does not fit in 32 bits.
func DeriveKey(key, label, context []byte, outLen int) []byte {
	checkBits(outLen)
	return deriveKey(make([]byte, 0, roundUp(outLen)), key, label, context, outLen)
}

// deriveKey is DeriveKey appending to dst. Keeping the fixed input in pieces
// avoids concatenating it into a fresh buffer on the Seal/Open hot path.
func deriveKey(dst, key, label, context []byte, outLen int) []byte {
	checkBits(outLen)
	// The separator and [L]_32 share one array: it escapes to the heap
	// through hash.Hash.Write, and one allocation is cheaper than two.
	var tail [5]byte // 0x00, then L
	binary.BigEndian.PutUint32(tail[1:], uint32(outLen)*8)
	return counterKDF(dst, key, outLen, label, tail[:1], context, tail[1:])
}

// counterKDF appends outLen bytes of SP 800-108 counter-mode output to dst.
// The fixed input data is the concatenation of fixed.
func counterKDF(dst, key []byte, outLen int, fixed ...[]byte) []byte {
	blocks := checkBlocks(outLen)
	start := len(dst)
	mac := hmac.New(sha256.New, key)
	var ctr [4]byte
	for i := uint32(1); uint64(i) <= blocks; i++ {
		if i > 1 {
			// Not before the first block: resetting a fresh HMAC
			// snapshots its state, two allocations that one-block
			// derivations (all of Seal and Open's) would never use.
			mac.Reset()
		}
		binary.BigEndian.PutUint32(ctr[:], i)
		mac.Write(ctr[:])
		for _, f := range fixed {
			mac.Write(f)
		}
		dst = mac.Sum(dst)
	}
	// The last block may run past outLen. Those bytes are derived key
	// material too; zero them rather than leave them in dst's spare capacity.
	end := start + outLen
	clear(dst[end:])
	return dst[:end]
}

// checkBlocks returns the number of PRF blocks needed for outLen bytes and
// panics if outLen is negative or the 32-bit counter cannot count them. It
// runs before any allocation so that a bad length panics with this message
// rather than an out-of-memory crash.
func checkBlocks(outLen int) uint64 {
	if outLen < 0 {
		panic("blob: KDF output length is negative")
	}
	blocks := (uint64(outLen) + sha256.Size - 1) / sha256.Size
	if blocks > math.MaxUint32 {
		panic("blob: KDF output length needs more than 2^32-1 blocks")
	}
	return blocks
}

// checkBits panics unless outLen is non-negative and outLen*8, the L that
// DeriveKey encodes, fits in 32 bits.
func checkBits(outLen int) {
	if outLen < 0 || uint64(outLen) > math.MaxUint32/8 {
		panic("blob: DeriveKey output length out of range")
	}
}

// roundUp returns n (already checked) rounded up to a whole number of
// HMAC-SHA256 blocks: the capacity counterKDF needs to append without
// reallocating.
func roundUp(n int) int {
	return (n + sha256.Size - 1) / sha256.Size * sha256.Size
}
