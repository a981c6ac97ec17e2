package keyspec

import (
	"strings"
	"testing"
)

// Raw primitive throughput, to compare with the HTTP API's. "Parsed" uses a
// PrivateKey or PublicKey parsed once; "DER" calls the package functions,
// which parse the PKCS #8 or SPKI bytes on every call, as a service without a
// parsed-key cache would.

var benchSigners = []struct {
	name string
	spec Spec
	alg  string
}{
	{"RSA2048_PKCS1_SHA256", RSA2048, "RSASSA_PKCS1_V1_5_SHA_256"},
	{"RSA2048_PSS_SHA256", RSA2048, "RSASSA_PSS_SHA_256"},
	{"P256_ECDSA_SHA256", ECCNISTP256, "ECDSA_SHA_256"},
	{"Secp256k1_ECDSA_SHA256", ECCSECGP256K1, "ECDSA_SHA_256"},
	{"Ed25519", ECCNISTEdwards25519, "ED25519_SHA_512"},
	{"MLDSA65", MLDSA65, "ML_DSA_SHAKE_256"},
	{"SM2_SM2DSA", SM2, "SM2DSA"},
}

var benchMsg = make([]byte, 256)

func BenchmarkSign(b *testing.B) {
	for _, bc := range benchSigners {
		k := testPrivate(b, bc.spec)
		der := testKey(b, bc.spec)
		b.Run(bc.name+"/Parsed", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(bc.alg, MessageRaw, benchMsg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/DER", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sign(bc.spec, der, bc.alg, MessageRaw, benchMsg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, bc := range benchSigners {
		k := testPrivate(b, bc.spec)
		sig, err := k.Sign(bc.alg, MessageRaw, benchMsg)
		if err != nil {
			b.Fatal(err)
		}
		pub := k.Public()
		b.Run(bc.name+"/Parsed", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := pub.Verify(bc.alg, MessageRaw, benchMsg, sig); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(bc.name+"/DER", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := Verify(bc.spec, pub.Bytes(), bc.alg, MessageRaw, benchMsg, sig); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
	k := testPrivate(b, MLDSA65)
	mu, _ := ExternalMu(MLDSA65, k.Public().Bytes(), benchMsg)
	sig, _ := k.Sign("ML_DSA_SHAKE_256", MessageExternalMu, mu)
	b.Run("MLDSA65_ExternalMu/Parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := k.Public().Verify("ML_DSA_SHAKE_256", MessageExternalMu, mu, sig); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkMAC(b *testing.B) {
	key, _ := Generate(HMAC256)
	b.Run("HMAC256/Generate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := GenerateMAC(HMAC256, key, "HMAC_SHA_256", benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	mac, _ := GenerateMAC(HMAC256, key, "HMAC_SHA_256", benchMsg)
	b.Run("HMAC256/Verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := VerifyMAC(HMAC256, key, "HMAC_SHA_256", benchMsg, mac); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkDecrypt(b *testing.B) {
	k := testPrivate(b, RSA2048)
	ct, _ := k.Public().Encrypt("RSAES_OAEP_SHA_256", benchMsg[:32])
	b.Run("RSA2048_OAEP_SHA256/Parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Decrypt("RSAES_OAEP_SHA_256", ct); err != nil {
				b.Fatal(err)
			}
		}
	})
	sk := testPrivate(b, SM2)
	sct, _ := sk.Public().Encrypt("SM2PKE", benchMsg[:32])
	b.Run("SM2_SM2PKE/Parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sk.Decrypt("SM2PKE", sct); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncrypt(b *testing.B) {
	pub := testPrivate(b, SM2).Public()
	b.Run("SM2_SM2PKE/Parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := pub.Encrypt("SM2PKE", benchMsg[:32]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDeriveSharedSecret(b *testing.B) {
	k := testPrivate(b, ECCNISTP256)
	peer := testPrivate(b, ECCNISTP256).Public().Bytes()
	b.Run("P256/Parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.DeriveSharedSecret("ECDH", peer); err != nil {
				b.Fatal(err)
			}
		}
	})
	sk := testPrivate(b, SM2)
	speer := sk.Public().Bytes()
	b.Run("SM2/Parsed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sk.DeriveSharedSecret("ECDH", speer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncapsulate(b *testing.B) {
	for _, spec := range mlkemSpecs {
		pub := testPrivate(b, spec).Public()
		name := strings.ReplaceAll(string(spec), "_", "")
		b.Run(name+"/Parsed", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := pub.Encapsulate("ML_KEM"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/DER", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Encapsulate(spec, pub.Bytes(), "ML_KEM"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecapsulate(b *testing.B) {
	for _, spec := range mlkemSpecs {
		k := testPrivate(b, spec)
		der := testKey(b, spec)
		ct, _, _ := k.Public().Encapsulate("ML_KEM")
		name := strings.ReplaceAll(string(spec), "_", "")
		b.Run(name+"/Parsed", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Decapsulate("ML_KEM", ct); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/DER", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decapsulate(spec, der, "ML_KEM", ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
