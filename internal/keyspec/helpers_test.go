package keyspec

import (
	"sync"
	"testing"
)

// testKeys caches one generated private key per spec for the whole test
// binary: RSA-4096 generation takes seconds on a small machine.
var testKeys sync.Map // Spec -> *testKeyEntry

type testKeyEntry struct {
	once sync.Once
	der  []byte
	err  error
}

func testKey(tb testing.TB, spec Spec) []byte {
	tb.Helper()
	e, _ := testKeys.LoadOrStore(spec, &testKeyEntry{})
	entry := e.(*testKeyEntry)
	entry.once.Do(func() { entry.der, entry.err = Generate(spec) })
	if entry.err != nil {
		tb.Fatalf("Generate(%s) = %v", spec, entry.err)
	}
	return entry.der
}

func testPrivate(tb testing.TB, spec Spec) *PrivateKey {
	tb.Helper()
	k, err := ParsePrivateKey(spec, testKey(tb, spec))
	if err != nil {
		tb.Fatalf("ParsePrivateKey(%s) = %v", spec, err)
	}
	return k
}

// asymmetricSpecs are the specs whose cryptography this package implements.
var asymmetricSpecs = []Spec{
	RSA2048, RSA3072, RSA4096,
	ECCNISTP256, ECCNISTP384, ECCNISTP521, ECCSECGP256K1, ECCNISTEdwards25519,
	MLDSA44, MLDSA65, MLDSA87,
	SM2,
	MLKEM512, MLKEM768, MLKEM1024,
}
