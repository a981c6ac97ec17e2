package blob

import (
	"encoding/binary"
	"math"
	"slices"
)

// EncodeContext returns the canonical encoding of an encryption context, the
// form in which it is authenticated as additional data:
//
//	count      uint32 big-endian, the number of entries
//	entries    sorted by key, bytewise; for each:
//	  klen     uint32 big-endian
//	  key      klen bytes
//	  vlen     uint32 big-endian
//	  value    vlen bytes
//
// Sorting makes the encoding independent of map iteration order. Length
// prefixes make it injective: a naive concatenation would let {"a": "bc"}
// and {"ab": "c"} authenticate the same bytes, so a ciphertext bound to one
// context would decrypt under another. Keys and values are taken as bytes,
// with no Unicode normalisation, as AWS KMS compares them.
//
// A nil and an empty map encode the same, as four zero bytes.
//
// EncodeContext panics if a key or value is 4 GiB or longer, or the map has
// 2^32 entries or more; callers limit contexts to a few kilobytes long before.
func EncodeContext(ctx map[string]string) []byte {
	return appendContext(make([]byte, 0, contextLen(ctx)), ctx)
}

// contextLen returns len(EncodeContext(ctx)) without encoding it.
func contextLen(ctx map[string]string) int {
	n := 4
	for k, v := range ctx {
		n += 4 + len(k) + 4 + len(v)
	}
	return n
}

// appendContext appends EncodeContext(ctx) to dst.
func appendContext(dst []byte, ctx map[string]string) []byte {
	dst = appendLen(dst, len(ctx))
	// Encryption contexts are usually a handful of entries; a small array
	// lets the key list live on the stack on the Encrypt/Decrypt path.
	var small [16]string
	keys := small[:0]
	for k := range ctx {
		keys = append(keys, k)
	}
	slices.Sort(keys) // Go string order is bytewise
	for _, k := range keys {
		v := ctx[k]
		dst = appendLen(dst, len(k))
		dst = append(dst, k...)
		dst = appendLen(dst, len(v))
		dst = append(dst, v...)
	}
	return dst
}

func appendLen(dst []byte, n int) []byte {
	if uint64(n) > math.MaxUint32 {
		// Truncating the length would make the encoding ambiguous, which is
		// worse than failing loudly.
		panic("blob: encryption context too large to encode")
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}
