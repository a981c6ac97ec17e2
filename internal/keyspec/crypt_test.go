package keyspec

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"hash"
	"testing"
)

func TestEncryptDecrypt(t *testing.T) {
	for _, spec := range []Spec{RSA2048, RSA3072, RSA4096} {
		k := testPrivate(t, spec)
		for _, tc := range []struct {
			alg string
			h   func() hash.Hash
		}{{"RSAES_OAEP_SHA_1", sha1.New}, {"RSAES_OAEP_SHA_256", sha256.New}} {
			max := MaxPlaintext(spec, tc.alg)
			for _, n := range []int{1, 32, max} {
				pt := bytes.Repeat([]byte{0xa5}, n)
				ct, err := Encrypt(spec, k.Public().Bytes(), tc.alg, pt)
				if err != nil {
					t.Fatalf("Encrypt(%s, %s, %d bytes) = %v", spec, tc.alg, n, err)
				}
				got, err := Decrypt(spec, testKey(t, spec), tc.alg, ct)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("Decrypt(Encrypt(%s, %s, %d bytes)) = %d bytes, %v", spec, tc.alg, n, len(got), err)
				}
				// The standard library decrypts it with the same parameters:
				// MGF1 over the same hash, empty label.
				std, err := rsa.DecryptOAEP(tc.h(), nil, k.key.(*rsa.PrivateKey), ct, nil)
				if err != nil || !bytes.Equal(std, pt) {
					t.Errorf("rsa.DecryptOAEP(%s, %s) = %v", spec, tc.alg, err)
				}
				// The other OAEP hash does not decrypt it.
				other := "RSAES_OAEP_SHA_256"
				if tc.alg == other {
					other = "RSAES_OAEP_SHA_1"
				}
				if _, err := k.Decrypt(other, ct); err != ErrDecrypt {
					t.Errorf("Decrypt(%s with %s) = %v, want ErrDecrypt", tc.alg, other, err)
				}
			}
			if _, err := Encrypt(spec, k.Public().Bytes(), tc.alg, make([]byte, max+1)); !errors.Is(err, ErrPlaintextTooLong) {
				t.Errorf("Encrypt(%s, %s, %d bytes) = %v, want ErrPlaintextTooLong", spec, tc.alg, max+1, err)
			}
			if _, err := Encrypt(spec, k.Public().Bytes(), tc.alg, nil); !errors.Is(err, ErrMessageLength) {
				t.Errorf("Encrypt(%s, %s, empty) = %v, want ErrMessageLength", spec, tc.alg, err)
			}
		}
	}
	k := testPrivate(t, RSA2048)
	for _, ct := range [][]byte{nil, make([]byte, 256), make([]byte, 255), bytes.Repeat([]byte{0xff}, 256)} {
		if _, err := k.Decrypt("RSAES_OAEP_SHA_256", ct); err != ErrDecrypt {
			t.Errorf("Decrypt(%d-byte junk) = %v, want exactly ErrDecrypt", len(ct), err)
		}
	}
	for _, tc := range []struct {
		spec Spec
		alg  string
	}{{RSA2048, "SYMMETRIC_DEFAULT"}, {RSA2048, "RSAES_PKCS1_V1_5"}, {ECCNISTP256, "RSAES_OAEP_SHA_256"}, {SymmetricDefault, "RSAES_OAEP_SHA_256"}} {
		if _, err := Encrypt(tc.spec, nil, tc.alg, []byte("x")); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Encrypt(%s, %s) = %v, want ErrInvalidAlgorithm", tc.spec, tc.alg, err)
		}
		if _, err := Decrypt(tc.spec, nil, tc.alg, []byte("x")); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Decrypt(%s, %s) = %v, want ErrInvalidAlgorithm", tc.spec, tc.alg, err)
		}
	}
}

func TestDeriveSharedSecret(t *testing.T) {
	for _, tc := range []struct {
		spec  Spec
		curve ecdh.Curve
		size  int
	}{{ECCNISTP256, ecdh.P256(), 32}, {ECCNISTP384, ecdh.P384(), 48}, {ECCNISTP521, ecdh.P521(), 66}} {
		k := testPrivate(t, tc.spec)
		// The peer is the standard library.
		peer, _ := tc.curve.GenerateKey(rand.Reader)
		peerSPKI, _ := x509.MarshalPKIXPublicKey(peer.PublicKey())
		got, err := DeriveSharedSecret(tc.spec, testKey(t, tc.spec), "ECDH", peerSPKI)
		if err != nil {
			t.Fatalf("DeriveSharedSecret(%s) = %v", tc.spec, err)
		}
		ours, _ := x509.ParsePKIXPublicKey(k.Public().Bytes())
		ourECDH, _ := ours.(*ecdsa.PublicKey).ECDH()
		want, _ := peer.ECDH(ourECDH)
		if !bytes.Equal(got, want) || len(got) != tc.size {
			t.Errorf("DeriveSharedSecret(%s) = %x, want %x (%d bytes)", tc.spec, got, want, tc.size)
		}
	}
	k := testPrivate(t, ECCNISTP256)
	p384, _ := ecdh.P384().GenerateKey(rand.Reader)
	spki384, _ := x509.MarshalPKIXPublicKey(p384.PublicKey())
	rsaSPKI := testPrivate(t, RSA2048).Public().Bytes()
	k1SPKI := testPrivate(t, ECCSECGP256K1).Public().Bytes()
	edSPKI := testPrivate(t, ECCNISTEdwards25519).Public().Bytes()
	// An off-curve point: the P-256 generator's x with y+1.
	g := elliptic.P256().Params()
	off := append([]byte{4}, g.Gx.FillBytes(make([]byte, 32))...)
	off = append(off, g.Gy.FillBytes(make([]byte, 32))...)
	off[64] ^= 1
	okSPKI := k.Public().Bytes()
	offSPKI := append(bytes.Clone(okSPKI[:len(okSPKI)-65]), off...)
	for name, peer := range map[string][]byte{
		"P-384 peer": spki384, "RSA peer": rsaSPKI, "secp256k1 peer": k1SPKI, "Ed25519 peer": edSPKI,
		"off-curve point": offSPKI, "empty": nil, "trailing data": append(bytes.Clone(okSPKI), 0),
	} {
		if _, err := k.DeriveSharedSecret("ECDH", peer); !errors.Is(err, ErrInvalidPeerKey) {
			t.Errorf("DeriveSharedSecret(P-256, %s) = %v, want ErrInvalidPeerKey", name, err)
		}
	}
	for _, tc := range []struct {
		spec Spec
		alg  string
	}{{ECCNISTP256, "ECDHE"}, {ECCSECGP256K1, "ECDH"}, {RSA2048, "ECDH"}, {ECCNISTEdwards25519, "ECDH"}} {
		if _, err := DeriveSharedSecret(tc.spec, testKey(t, tc.spec), tc.alg, okSPKI); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("DeriveSharedSecret(%s, %s) = %v, want ErrInvalidAlgorithm", tc.spec, tc.alg, err)
		}
	}
}

func TestMAC(t *testing.T) {
	msg := []byte("message")
	for _, tc := range []struct {
		spec Spec
		alg  string
		h    func() hash.Hash
	}{{HMAC224, "HMAC_SHA_224", sha256.New224}, {HMAC256, "HMAC_SHA_256", sha256.New}} {
		key, _ := Generate(tc.spec)
		mac, err := GenerateMAC(tc.spec, key, tc.alg, msg)
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(tc.h, key)
		m.Write(msg)
		if !bytes.Equal(mac, m.Sum(nil)) {
			t.Errorf("GenerateMAC(%s) differs from crypto/hmac", tc.spec)
		}
		if ok, err := VerifyMAC(tc.spec, key, tc.alg, msg, mac); !ok || err != nil {
			t.Errorf("VerifyMAC(%s, valid) = %v, %v", tc.spec, ok, err)
		}
		if ok, _ := VerifyMAC(tc.spec, key, tc.alg, msg, mac[:len(mac)-1]); ok {
			t.Errorf("VerifyMAC(%s, truncated) = true", tc.spec)
		}
	}
	key, _ := Generate(HMAC256)
	for _, tc := range []struct {
		spec     Spec
		alg      string
		msg, mac []byte
		want     error
	}{
		{HMAC256, "HMAC_SHA_384", msg, []byte("m"), ErrInvalidAlgorithm},
		{RSA2048, "HMAC_SHA_256", msg, []byte("m"), ErrInvalidAlgorithm},
		{HMAC256, "HMAC_SHA_256", nil, []byte("m"), ErrMessageLength},
		{HMAC256, "HMAC_SHA_256", make([]byte, 4097), []byte("m"), ErrMessageLength},
		{HMAC256, "HMAC_SHA_256", msg, nil, ErrMessageLength},
		{HMAC256, "HMAC_SHA_256", msg, make([]byte, 6145), ErrMessageLength},
		{HMAC256, "HMAC_SHA_384", msg, nil, ErrInvalidAlgorithm},
	} {
		if _, err := VerifyMAC(tc.spec, key, tc.alg, tc.msg, tc.mac); !errors.Is(err, tc.want) {
			t.Errorf("VerifyMAC(%s, %s, %d-byte msg, %d-byte mac) = %v, want %v", tc.spec, tc.alg, len(tc.msg), len(tc.mac), err, tc.want)
		}
	}
	if _, err := GenerateMAC(HMAC256, nil, "HMAC_SHA_256", msg); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("GenerateMAC(empty key) = %v, want ErrInvalidKey", err)
	}
}
