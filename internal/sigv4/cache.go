package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
)

// cacheSize bounds the signing-key cache. An entry exists per access key,
// day and service that actually signed a request (it is filled only after
// Lookup has accepted the access key id, so unknown ids cannot churn it), so
// this is room for about a thousand active keys across a day boundary and
// a couple of services.
const cacheSize = 4096

type cacheKey struct {
	accessKeyID, date, service string
}

// cacheEntry holds a derived signing key with the fingerprint of the secret
// it came from. The fingerprint, not the secret, is kept: a signing key
// only works for one day, region and service, the secret for all of them.
type cacheEntry struct {
	secretFP   [sha256.Size]byte
	signingKey [sha256.Size]byte
}

// keyCache caches signing keys. It is safe for concurrent use.
type keyCache struct {
	region string // fixed per Verifier, so not part of the key
	mu     sync.RWMutex
	m      map[cacheKey]cacheEntry
}

func newKeyCache(region string) *keyCache {
	return &keyCache{region: region, m: make(map[cacheKey]cacheEntry)}
}

// signingKey returns kSigning for the access key, day (YYYYMMDD) and service.
//
// A cached key is used only if it was derived from the secret Lookup has
// just returned, compared by fingerprint in constant time; otherwise (a
// rotated or replaced secret) it is derived again and replaces the entry.
func (c *keyCache) signingKey(accessKeyID, date, service string, secret []byte) [sha256.Size]byte {
	fp := sha256.Sum256(secret)
	k := cacheKey{accessKeyID, date, service}
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && subtle.ConstantTimeCompare(e.secretFP[:], fp[:]) == 1 {
		return e.signingKey
	}
	e = cacheEntry{secretFP: fp, signingKey: deriveSigningKey(secret, date, c.region, service)}
	// The strings are substrings of the request's headers; clone them so
	// that the cache does not keep whole requests alive.
	k = cacheKey{strings.Clone(accessKeyID), strings.Clone(date), strings.Clone(service)}
	c.mu.Lock()
	if _, ok := c.m[k]; !ok && len(c.m) >= cacheSize {
		// Evict one entry. Map iteration starts at a random place, so this
		// is random eviction: O(1), no bookkeeping, and good enough for a
		// cache whose working set is far below its size.
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
	c.mu.Unlock()
	return e.signingKey
}

// deriveSigningKey computes kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret,
// date), region), service), "aws4_request").
func deriveSigningKey(secret []byte, date, region, service string) [sha256.Size]byte {
	k := make([]byte, 0, 4+len(secret))
	k = append(k, "AWS4"...)
	k = append(k, secret...)
	defer clear(k)
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	kDate := mac(k, date)
	kRegion := mac(kDate, region)
	kService := mac(kRegion, service)
	kSigning := mac(kService, "aws4_request")
	var out [sha256.Size]byte
	copy(out[:], kSigning)
	clear(kDate)
	clear(kRegion)
	clear(kService)
	clear(kSigning)
	return out
}

// macPrefixed returns HMAC-SHA256(key, b[64:]). The first 64 bytes of b are
// scratch space that it overwrites, and clears before returning.
//
// This is the HMAC construction of RFC 2104 written out over sha256.Sum256,
// because crypto/hmac allocates its state on every use and this runs on
// every request. TestMacPrefixed checks it against crypto/hmac.
func macPrefixed(key *[sha256.Size]byte, b []byte) [sha256.Size]byte {
	const blockSize = 64
	for i := range blockSize {
		b[i] = 0x36
	}
	for i, k := range key {
		b[i] ^= k
	}
	inner := sha256.Sum256(b)
	clear(b[:blockSize])
	var outer [blockSize + sha256.Size]byte
	for i := range blockSize {
		outer[i] = 0x5c
	}
	for i, k := range key {
		outer[i] ^= k
	}
	copy(outer[blockSize:], inner[:])
	sum := sha256.Sum256(outer[:])
	clear(outer[:])
	return sum
}
