package keyspec

import (
	"bytes"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/rand"
	"crypto/sha3"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gmlkem "github.com/emmansun/gmsm/mlkem"
)

var mlkemSpecs = []Spec{MLKEM512, MLKEM768, MLKEM1024}

// mlkemSizes are FIPS 203's sizes (Table 3), written out independently of
// the package's table: encapsulation key, expanded decapsulation key,
// ciphertext.
var mlkemSizes = map[Spec]struct{ ek, dk, ct int }{
	MLKEM512:  {800, 1632, 768},
	MLKEM768:  {1184, 2400, 1088},
	MLKEM1024: {1568, 3168, 1568},
}

var mlkemOIDs = map[Spec]asn1.ObjectIdentifier{
	MLKEM512:  {2, 16, 840, 1, 101, 3, 4, 4, 1},
	MLKEM768:  {2, 16, 840, 1, 101, 3, 4, 4, 2},
	MLKEM1024: {2, 16, 840, 1, 101, 3, 4, 4, 3},
}

// asn1AlgID is an AlgorithmIdentifier as a test reads it, parameters kept.
type asn1AlgID struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// mlkemSeedOf returns the seed of a seed-form ML-KEM PKCS #8 key, read with
// encoding/asn1 alone.
func mlkemSeedOf(t testing.TB, der []byte) []byte {
	t.Helper()
	var p8 struct {
		Version    int
		Algorithm  asn1AlgID
		PrivateKey []byte
	}
	if rest, err := asn1.Unmarshal(der, &p8); err != nil || len(rest) != 0 {
		t.Fatalf("ML-KEM private key is not PKCS #8: %v", err)
	}
	var seed asn1.RawValue
	if rest, err := asn1.Unmarshal(p8.PrivateKey, &seed); err != nil || len(rest) != 0 ||
		seed.Class != asn1.ClassContextSpecific || seed.Tag != 0 || seed.IsCompound || len(seed.Bytes) != 64 {
		t.Fatalf("ML-KEM private key is not the seed form: %v %+v", err, seed)
	}
	return seed.Bytes
}

// mlkemEKOf returns the encapsulation key of an ML-KEM SPKI, read with
// encoding/asn1 alone.
func mlkemEKOf(t testing.TB, spki []byte) []byte {
	t.Helper()
	var s struct {
		Algorithm asn1AlgID
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spki, &s); err != nil || len(rest) != 0 {
		t.Fatalf("ML-KEM public key is not SPKI: %v", err)
	}
	return s.PublicKey.Bytes
}

// mlkemPKCS8 wraps inner (a DER ML-KEM-x-PrivateKey CHOICE) in PKCS #8.
func mlkemPKCS8(t testing.TB, spec Spec, inner []byte) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct {
		Version    int
		Algorithm  asn1AlgID
		PrivateKey []byte
	}{0, asn1AlgID{Algorithm: mlkemOIDs[spec]}, inner})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// mlkemSPKIOf wraps an encapsulation key in an SPKI.
func mlkemSPKIOf(t testing.TB, spec Spec, ek []byte) []byte {
	t.Helper()
	der, err := asn1.Marshal(struct {
		Algorithm asn1AlgID
		PublicKey asn1.BitString
	}{asn1AlgID{Algorithm: mlkemOIDs[spec]}, asn1.BitString{Bytes: ek, BitLength: 8 * len(ek)}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func seedForm(seed []byte) []byte { return append([]byte{0x80, 0x40}, seed...) }

// gmsmExpanded returns the FIPS 203 expanded decapsulation key of seed.
func gmsmExpanded(t testing.TB, spec Spec, seed []byte) []byte {
	t.Helper()
	var (
		b   []byte
		err error
	)
	switch spec {
	case MLKEM512:
		var k *gmlkem.DecapsulationKey512
		if k, err = gmlkem.NewDecapsulationKeyFromSeed512(seed); err == nil {
			b = k.Bytes()
		}
	case MLKEM768:
		var k *gmlkem.DecapsulationKey768
		if k, err = gmlkem.NewDecapsulationKeyFromSeed768(seed); err == nil {
			b = k.Bytes()
		}
	case MLKEM1024:
		var k *gmlkem.DecapsulationKey1024
		if k, err = gmlkem.NewDecapsulationKeyFromSeed1024(seed); err == nil {
			b = k.Bytes()
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMLKEMRoundTrip(t *testing.T) {
	for _, spec := range mlkemSpecs {
		t.Run(string(spec), func(t *testing.T) {
			size := mlkemSizes[spec]
			der, err := Generate(spec)
			if err != nil {
				t.Fatalf("Generate(%s) = %v", spec, err)
			}
			k, err := ParsePrivateKey(spec, der)
			if err != nil {
				t.Fatalf("ParsePrivateKey(%s) = %v", spec, err)
			}
			spki, err := Public(spec, der)
			if err != nil || !bytes.Equal(spki, k.Public().Bytes()) {
				t.Fatalf("Public(%s) = %v, or differs from ParsePrivateKey().Public()", spec, err)
			}
			pub, err := ParsePublicKey(spec, spki)
			if err != nil {
				t.Fatalf("ParsePublicKey(%s) = %v", spec, err)
			}
			ct, ss, err := pub.Encapsulate("ML_KEM")
			if err != nil || len(ct) != size.ct || len(ss) != 32 {
				t.Fatalf("Encapsulate(%s) = %d-byte ciphertext, %d-byte secret, %v; want %d, 32", spec, len(ct), len(ss), err, size.ct)
			}
			got, err := k.Decapsulate("ML_KEM", ct)
			if err != nil || !bytes.Equal(got, ss) {
				t.Fatalf("Decapsulate(%s) = %x, %v; want %x", spec, got, err, ss)
			}
			// The package-level functions, from the bytes alone.
			ct2, ss2, err := Encapsulate(spec, spki, "ML_KEM")
			if err != nil {
				t.Fatalf("Encapsulate(%s bytes) = %v", spec, err)
			}
			if got, err := Decapsulate(spec, der, "ML_KEM", ct2); err != nil || !bytes.Equal(got, ss2) {
				t.Errorf("Decapsulate(%s bytes) = %v; secret differs", spec, err)
			}
			// Fresh randomness every time.
			if bytes.Equal(ct, ct2) || bytes.Equal(ss, ss2) {
				t.Errorf("Encapsulate(%s) repeated a ciphertext or secret", spec)
			}
			// Wrong lengths are ErrDecrypt, exactly.
			for _, bad := range [][]byte{nil, {}, ct[:len(ct)-1], append(bytes.Clone(ct), 0), make([]byte, mlkemSizes[MLKEM768].ct+size.ct%7+1)} {
				if _, err := k.Decapsulate("ML_KEM", bad); err != ErrDecrypt {
					t.Errorf("Decapsulate(%s, %d bytes) = %v, want exactly ErrDecrypt", spec, len(bad), err)
				}
				if _, err := Decapsulate(spec, der, "ML_KEM", bad); err != ErrDecrypt {
					t.Errorf("Decapsulate(%s bytes, %d-byte ciphertext) = %v, want exactly ErrDecrypt", spec, len(bad), err)
				}
			}
			// A flipped bit anywhere: implicit rejection, another secret, no
			// error, and the same one each time (it depends on z and c only).
			for _, i := range []int{0, len(ct) / 2, len(ct) - 1} {
				bad := bytes.Clone(ct)
				bad[i] ^= 0x10
				a, err := k.Decapsulate("ML_KEM", bad)
				if err != nil || len(a) != 32 || bytes.Equal(a, ss) {
					t.Errorf("Decapsulate(%s, bit flipped at %d) = %x, %v; want another 32-byte secret", spec, i, a, err)
				}
				if b, _ := k.Decapsulate("ML_KEM", bad); !bytes.Equal(a, b) {
					t.Errorf("Decapsulate(%s, bit flipped) is not deterministic", spec)
				}
			}
			// Wrong algorithms.
			for _, alg := range []string{"", "ml_kem", "ML_KEM_768", "ECDH", "RSAES_OAEP_SHA_256", "SYMMETRIC_DEFAULT"} {
				if _, _, err := pub.Encapsulate(alg); !errors.Is(err, ErrInvalidAlgorithm) {
					t.Errorf("Encapsulate(%s, %q) = %v, want ErrInvalidAlgorithm", spec, alg, err)
				}
				if _, err := k.Decapsulate(alg, ct); !errors.Is(err, ErrInvalidAlgorithm) {
					t.Errorf("Decapsulate(%s, %q) = %v, want ErrInvalidAlgorithm", spec, alg, err)
				}
				if _, _, err := Encapsulate(spec, spki, alg); !errors.Is(err, ErrInvalidAlgorithm) {
					t.Errorf("Encapsulate(%s bytes, %q) = %v, want ErrInvalidAlgorithm", spec, alg, err)
				}
				if _, err := Decapsulate(spec, der, alg, ct); !errors.Is(err, ErrInvalidAlgorithm) {
					t.Errorf("Decapsulate(%s bytes, %q) = %v, want ErrInvalidAlgorithm", spec, alg, err)
				}
			}
			if _, _, err := pub.Encapsulate("RSAES_OAEP_SHA_256"); err.Error() != "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec "+string(spec)+"." {
				t.Errorf("Encapsulate(wrong algorithm) message = %q", err)
			}
			// An ML-KEM key does nothing else.
			if _, err := pub.Encrypt("ML_KEM", []byte("x")); !errors.Is(err, ErrInvalidAlgorithm) {
				t.Errorf("Encrypt(%s) = %v, want ErrInvalidAlgorithm", spec, err)
			}
			if _, err := k.Sign("ML_KEM", MessageRaw, []byte("x")); !errors.Is(err, ErrInvalidAlgorithm) {
				t.Errorf("Sign(%s) = %v, want ErrInvalidAlgorithm", spec, err)
			}
			if _, err := k.DeriveSharedSecret("ECDH", spki); !errors.Is(err, ErrInvalidAlgorithm) {
				t.Errorf("DeriveSharedSecret(%s) = %v, want ErrInvalidAlgorithm", spec, err)
			}
			// Redaction covers ML-KEM keys too.
			seed := hex.EncodeToString(mlkemSeedOf(t, der))
			if s := fmt.Sprintf("%v %+v %#v %s %x", k, *k, k, k, k); strings.Contains(s, seed[:32]) || strings.Contains(s, seed[64:96]) {
				t.Errorf("formatted %s PrivateKey leaks the seed", spec)
			}
		})
	}
}

// TestEncapsulateOtherKeys: keys of other specs neither encapsulate nor
// decapsulate.
func TestEncapsulateOtherKeys(t *testing.T) {
	for _, spec := range asymmetricSpecs {
		if specs[spec].family == famMLKEM {
			continue
		}
		k := testPrivate(t, spec)
		if _, _, err := k.Public().Encapsulate("ML_KEM"); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Encapsulate(%s) = %v, want ErrInvalidAlgorithm", spec, err)
		}
		if _, err := k.Decapsulate("ML_KEM", make([]byte, 1088)); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Decapsulate(%s) = %v, want ErrInvalidAlgorithm", spec, err)
		}
		if _, _, err := Encapsulate(spec, k.Public().Bytes(), "ML_KEM"); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Encapsulate(%s bytes) = %v, want ErrInvalidAlgorithm", spec, err)
		}
		if _, err := Decapsulate(spec, testKey(t, spec), "ML_KEM", make([]byte, 1088)); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Decapsulate(%s bytes) = %v, want ErrInvalidAlgorithm", spec, err)
		}
	}
	for _, spec := range []Spec{HMAC256, SymmetricDefault, "ML_KEM_2048"} {
		if _, _, err := Encapsulate(spec, nil, "ML_KEM"); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Encapsulate(%s) = %v, want ErrInvalidAlgorithm", spec, err)
		}
		if _, err := Decapsulate(spec, nil, "ML_KEM", nil); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Decapsulate(%s) = %v, want ErrInvalidAlgorithm", spec, err)
		}
	}
	// An unparseable ML-KEM key is the storage's fault, not the request's.
	if _, _, err := Encapsulate(MLKEM768, []byte("junk"), "ML_KEM"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Encapsulate(junk SPKI) = %v, want ErrInvalidKey", err)
	}
	if _, err := Decapsulate(MLKEM768, []byte("junk"), "ML_KEM", make([]byte, 1088)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Decapsulate(junk PKCS #8) = %v, want ErrInvalidKey", err)
	}
}

// TestMLKEMStdlib checks ML-KEM-768 and -1024 against crypto/mlkem, from the
// same seeds, in both directions; and gmsm (which serves ML-KEM-512 and
// expanded keys) against crypto/mlkem, with derandomized encapsulation and
// implicit rejection, over many random seeds.
func TestMLKEMStdlib(t *testing.T) {
	type std interface {
		EncapsulationKey() []byte
		Decapsulate([]byte) ([]byte, error)
	}
	for _, spec := range []Spec{MLKEM768, MLKEM1024} {
		t.Run(string(spec), func(t *testing.T) {
			der := testKey(t, spec)
			k := testPrivate(t, spec)
			seed := mlkemSeedOf(t, der)
			ek := mlkemEKOf(t, k.Public().Bytes())
			var (
				stdEK        []byte
				stdDecap     func([]byte) ([]byte, error)
				stdEncap     func() ([]byte, []byte)
				stdEncapSeed func(m []byte) ([]byte, []byte, error)
			)
			switch spec {
			case MLKEM768:
				dk, err := mlkem.NewDecapsulationKey768(seed)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := mlkem.NewEncapsulationKey768(ek)
				if err != nil {
					t.Fatalf("crypto/mlkem refuses Keyward's public key: %v", err)
				}
				stdEK, stdDecap, stdEncap = dk.EncapsulationKey().Bytes(), dk.Decapsulate, pub.Encapsulate
				stdEncapSeed = func(m []byte) ([]byte, []byte, error) { return mlkemtest.Encapsulate768(pub, m) }
			case MLKEM1024:
				dk, err := mlkem.NewDecapsulationKey1024(seed)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := mlkem.NewEncapsulationKey1024(ek)
				if err != nil {
					t.Fatalf("crypto/mlkem refuses Keyward's public key: %v", err)
				}
				stdEK, stdDecap, stdEncap = dk.EncapsulationKey().Bytes(), dk.Decapsulate, pub.Encapsulate
				stdEncapSeed = func(m []byte) ([]byte, []byte, error) { return mlkemtest.Encapsulate1024(pub, m) }
			}
			if !bytes.Equal(stdEK, ek) {
				t.Fatal("crypto/mlkem derives another encapsulation key from the seed")
			}
			// crypto/mlkem encapsulates for Keyward's public key.
			ss, ct := stdEncap()
			if got, err := k.Decapsulate("ML_KEM", ct); err != nil || !bytes.Equal(got, ss) {
				t.Errorf("Decapsulate(crypto/mlkem ciphertext) = %v; secret differs", err)
			}
			// Keyward encapsulates for crypto/mlkem's private key.
			ct, ss, err := k.Public().Encapsulate("ML_KEM")
			if err != nil {
				t.Fatal(err)
			}
			if got, err := stdDecap(ct); err != nil || !bytes.Equal(got, ss) {
				t.Errorf("crypto/mlkem Decapsulate(Keyward ciphertext) = %v; secret differs", err)
			}
			// Implicit rejection agrees too.
			ct[3] ^= 1
			a, _ := k.Decapsulate("ML_KEM", ct)
			b, _ := stdDecap(ct)
			if !bytes.Equal(a, b) {
				t.Error("implicit rejection secret differs from crypto/mlkem's")
			}
			// Derandomized: the ciphertext crypto/mlkem makes from m
			// decapsulates to its secret with the key loaded in every form.
			m := bytes.Repeat([]byte{0x42}, 32)
			ss, ct, err = stdEncapSeed(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, form := range mlkemForms(t, spec, seed) {
				fk, err := ParsePrivateKey(spec, form.der)
				if err != nil {
					t.Fatalf("ParsePrivateKey(%s, %s form) = %v", spec, form.name, err)
				}
				if got, _ := fk.Decapsulate("ML_KEM", ct); !bytes.Equal(got, ss) {
					t.Errorf("%s form: Decapsulate of a derandomized crypto/mlkem ciphertext differs", form.name)
				}
			}
		})
	}

	// gmsm against crypto/mlkem over many seeds (its code serves 512 and
	// expanded keys; the two share an ancestor, so this checks the port, and
	// the KATs below check 512 itself).
	n := 200
	if testing.Short() {
		n = 20
	}
	xof := sha3.NewSHAKE128()
	for i := 0; i < n; i++ {
		seed, m, junk := make([]byte, 64), make([]byte, 32), make([]byte, 1568)
		xof.Read(seed)
		xof.Read(m)
		xof.Read(junk)
		g768, _ := gmlkem.NewDecapsulationKeyFromSeed768(seed)
		s768, _ := mlkem.NewDecapsulationKey768(seed)
		g1024, _ := gmlkem.NewDecapsulationKeyFromSeed1024(seed)
		s1024, _ := mlkem.NewDecapsulationKey1024(seed)
		if !bytes.Equal(g768.EncapsulationKey().Bytes(), s768.EncapsulationKey().Bytes()) ||
			!bytes.Equal(g1024.EncapsulationKey().Bytes(), s1024.EncapsulationKey().Bytes()) {
			t.Fatalf("seed %x: gmsm and crypto/mlkem derive different encapsulation keys", seed)
		}
		gss, gct := g768.EncapsulationKey().EncapsulateInternal((*[32]byte)(m))
		sss, sct, _ := mlkemtest.Encapsulate768(s768.EncapsulationKey(), m)
		gr, _ := g768.Decapsulate(junk[:1088])
		sr, _ := s768.Decapsulate(junk[:1088])
		if !bytes.Equal(gss, sss) || !bytes.Equal(gct, sct) || !bytes.Equal(gr, sr) {
			t.Fatalf("seed %x: gmsm and crypto/mlkem ML-KEM-768 disagree", seed)
		}
		gss, gct = g1024.EncapsulationKey().EncapsulateInternal((*[32]byte)(m))
		sss, sct, _ = mlkemtest.Encapsulate1024(s1024.EncapsulationKey(), m)
		gr, _ = g1024.Decapsulate(junk)
		sr, _ = s1024.Decapsulate(junk)
		if !bytes.Equal(gss, sss) || !bytes.Equal(gct, sct) || !bytes.Equal(gr, sr) {
			t.Fatalf("seed %x: gmsm and crypto/mlkem ML-KEM-1024 disagree", seed)
		}
	}
}

// mlkemKAT512 is Project Wycheproof's mlkem_512_test.json tcId 2 ("Test
// vector based on official round 3 seeds 0", source FIPS 203): a seed, a
// ciphertext for its key and the shared secret. Keygen is checked too, as K
// depends on H(ek). tcId 200 is the same ciphertext with its last byte
// changed (52 to 53): implicit rejection must return kRejected.
const (
	mlkemKAT512Seed = "7c9935a0b07694aa0c6d10e4db6b1add2fd81a25ccb148032dcd739936737f2d" +
		"8626ed79d451140800e03b59b956f8210e556067407d13dc90fa9e8b872bfb8f"
	mlkemKAT512C = "113db2dd06871235e7bc36c9dcaa528fc26ce5db9ecc1dc32e957d7ffb3c7429" +
		"d50c3c3577a515d3183a1b9d267b936b7eb8f543a3afb77765ca7938f78aa643" +
		"8ce80a06a6966d0d06af75ba3e0d4f37bac73369f5a729f73e85729edd97c8c2" +
		"a8cc2619e4cf7b6091869e909fd47d9709149204b0837d8d6f25d267972be63b" +
		"ad34b544523c01c09de3b1fa1d6b7b059eee9e652062fe870f68c68005339ea1" +
		"81e1d0767c152aeb38faf0f9245ae59d5cb0d2b7f201229ed97020d0623a4610" +
		"0d097b0ce1154e028ae6194de05de97dd9ae2e85ffd25d95eb22effe5ba19cd8" +
		"07c530ebaa9fe9f642ccacff47ed15c22bfe3036ebf8ad9c8ed23240aeebaa24" +
		"d135755100b85ecee3174906e46312062ceecac75de5275256c2c1a653fd6915" +
		"b1b30c8ecbb6fd4280437453173a96238bc7d108892343e033bcd98e437e789f" +
		"c5bebaa12b2634b51ed0d589f11143a021d8ecce594fdd48dae84c8063ef3581" +
		"bc378a48da4e51bb175b0db47f9dcf99318c30225ca7fa79c879bf1c9397b5cc" +
		"c5efad94c500ed7f9f385d088e34932221fc0fc9afe51f687554813169769547" +
		"8abdc8736f10095a6b92ec679fe0e2ae5d8b335355d58dae4d4f0b17aa5d1e52" +
		"f1d45584a892c34ce4b04fcd00981d51caa16064bad92d019dc3aded91968411" +
		"2b29daa28b9dae09b86b21a93310d5fbc6527b224b9ce87d2782bb294673f0ec" +
		"06f26b087652a18d6ad7b1c93303ef0561c0fc9cd4f678f606f192cf5df92b15" +
		"48f5dd2687edbeccfc6d4e9de4bd50d3c74fb275abd9b3e90277db4a0069c0a2" +
		"a7136f50cead4b2f1995faaf168040e9e4beb7c5722049d6da6402992fcea450" +
		"97df7c1c20fb068222000576935a0806773451921f54c55fbf593a4f147c1fef" +
		"3acaf0cfa907ae48c8c06312cfdf5186904bec7fed4ed933c9256ab04cbfa03a" +
		"967c1f7ead4ab40df116be660e27ca2b543526d4b9684c31e1e42383b969f896" +
		"299d71390cc85b703202acadecfa8c40965c08c53b5671e0d59455bc5a8586c6" +
		"55db8c2ade4ba8877f19b6000e18f8feadda7ede8fe80aa662d694c6d8c33b52"
	mlkemKAT512K         = "319839e82ab6b222de7b619e80da8391522bbb37677018494a4742c53f9abfdf"
	mlkemKAT512KRejected = "5a895b8e677be0206edbb6015815dd5f353ea13250273bab46ad93fa452749b1"
)

// TestMLKEM512KnownAnswer checks ML-KEM-512, which crypto/mlkem lacks,
// against Wycheproof vectors derived from FIPS 203, in every private key form.
func TestMLKEM512KnownAnswer(t *testing.T) {
	seed, ct, want, rejected := mustHex(mlkemKAT512Seed), mustHex(mlkemKAT512C), mustHex(mlkemKAT512K), mustHex(mlkemKAT512KRejected)
	if len(seed) != 64 || len(ct) != 768 {
		t.Fatalf("vector lengths %d, %d", len(seed), len(ct))
	}
	bad := bytes.Clone(ct)
	bad[767] ^= 1
	for _, form := range mlkemForms(t, MLKEM512, seed) {
		k, err := ParsePrivateKey(MLKEM512, form.der)
		if err != nil {
			t.Fatalf("ParsePrivateKey(%s form) = %v", form.name, err)
		}
		if got, err := k.Decapsulate("ML_KEM", ct); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s form: Decapsulate(tcId 2) = %x, %v; want %x", form.name, got, err, want)
		}
		if got, err := k.Decapsulate("ML_KEM", bad); err != nil || !bytes.Equal(got, rejected) {
			t.Errorf("%s form: Decapsulate(tcId 200) = %x, %v; want %x", form.name, got, err, rejected)
		}
	}
}

type mlkemForm struct {
	name string
	der  []byte
}

// mlkemForms returns seed as a PKCS #8 key in RFC 9935's three forms.
func mlkemForms(t testing.TB, spec Spec, seed []byte) []mlkemForm {
	t.Helper()
	expanded := gmsmExpanded(t, spec, seed)
	exp, _ := asn1.Marshal(expanded)
	both, _ := asn1.Marshal(struct{ Seed, Expanded []byte }{seed, expanded})
	return []mlkemForm{
		{"seed", mlkemPKCS8(t, spec, seedForm(seed))},
		{"expandedKey", mlkemPKCS8(t, spec, exp)},
		{"both", mlkemPKCS8(t, spec, both)},
	}
}

// TestMLKEMEncoding checks the DER of Generate and PublicKey.Bytes against
// RFC 9935, read with encoding/asn1 alone.
func TestMLKEMEncoding(t *testing.T) {
	for _, spec := range mlkemSpecs {
		der := testKey(t, spec)
		var p8 struct {
			Version    int
			Algorithm  asn1AlgID
			PrivateKey []byte
		}
		rest, err := asn1.Unmarshal(der, &p8)
		if err != nil || len(rest) != 0 || p8.Version != 0 || !p8.Algorithm.Algorithm.Equal(mlkemOIDs[spec]) || len(p8.Algorithm.Parameters.FullBytes) != 0 {
			t.Errorf("%s PKCS #8 = %x: version %d, algorithm %v, parameters %x (%v)", spec, der, p8.Version, p8.Algorithm.Algorithm, p8.Algorithm.Parameters.FullBytes, err)
		}
		// 30 54 | 02 01 00 | 30 0b 06 09 <oid> | 04 42 80 40 <64-byte seed>
		prefix := fmt.Sprintf("3054020100300b06096086480165030404%02x04428040", mlkemOIDs[spec][8])
		if len(der) != 86 || !strings.HasPrefix(hex.EncodeToString(der), prefix) {
			t.Errorf("%s PKCS #8 = %x, want %s and a 64-byte seed", spec, der, prefix)
		}
		mlkemSeedOf(t, der)

		spki := testPrivate(t, spec).Public().Bytes()
		var s struct {
			Algorithm asn1AlgID
			PublicKey asn1.BitString
		}
		rest, err = asn1.Unmarshal(spki, &s)
		if err != nil || len(rest) != 0 || !s.Algorithm.Algorithm.Equal(mlkemOIDs[spec]) || len(s.Algorithm.Parameters.FullBytes) != 0 ||
			s.PublicKey.BitLength != 8*mlkemSizes[spec].ek {
			t.Errorf("%s SPKI = %x: algorithm %v, parameters %x, %d bits (%v)", spec, spki, s.Algorithm.Algorithm, s.Algorithm.Parameters.FullBytes, s.PublicKey.BitLength, err)
		}
		if again := mlkemSPKIOf(t, spec, s.PublicKey.Bytes); !bytes.Equal(again, spki) {
			t.Errorf("%s SPKI is not the minimal DER of its contents", spec)
		}
	}
}

// TestMLKEMPrivateKeyForms: the expandedKey and both forms load to the same
// key as the seed; anything else, or a both whose halves disagree, does not.
func TestMLKEMPrivateKeyForms(t *testing.T) {
	for _, spec := range mlkemSpecs {
		t.Run(string(spec), func(t *testing.T) {
			der := testKey(t, spec)
			k := testPrivate(t, spec)
			seed := mlkemSeedOf(t, der)
			ct, ss, err := k.Public().Encapsulate("ML_KEM")
			if err != nil {
				t.Fatal(err)
			}
			junk := make([]byte, len(ct))
			rand.Read(junk)
			reject, _ := k.Decapsulate("ML_KEM", junk)
			for _, form := range mlkemForms(t, spec, seed) {
				fk, err := ParsePrivateKey(spec, form.der)
				if err != nil {
					t.Fatalf("ParsePrivateKey(%s form) = %v", form.name, err)
				}
				if !bytes.Equal(fk.Public().Bytes(), k.Public().Bytes()) {
					t.Errorf("%s form: another public key", form.name)
				}
				if got, _ := fk.Decapsulate("ML_KEM", ct); !bytes.Equal(got, ss) {
					t.Errorf("%s form: Decapsulate differs", form.name)
				}
				// Same z: same implicit rejection.
				if got, _ := fk.Decapsulate("ML_KEM", junk); !bytes.Equal(got, reject) {
					t.Errorf("%s form: implicit rejection differs", form.name)
				}
			}

			expanded := gmsmExpanded(t, spec, seed)
			other := gmsmExpanded(t, spec, mlkemSeedOf(t, mustGenerate(t, spec)))
			k384 := mlkemSizes[spec].ek - 32 // bytes of s, and of t: 384k
			both := func(seed, expanded []byte) []byte {
				b, _ := asn1.Marshal(struct{ Seed, Expanded []byte }{seed, expanded})
				return mlkemPKCS8(t, spec, b)
			}
			expandedOnly := func(expanded []byte) []byte {
				b, _ := asn1.Marshal(expanded)
				return mlkemPKCS8(t, spec, b)
			}
			flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
			var bad []mlkemForm
			for _, tc := range []struct {
				where string
				i     int
			}{
				{"s", 5}, {"t", k384 + 5}, {"rho", 2*k384 + 1}, {"H(ek)", 2*k384 + 32 + 1}, {"z", len(expanded) - 1},
			} {
				bad = append(bad, mlkemForm{"both, expanded key changed in " + tc.where, both(seed, flip(expanded, tc.i))})
			}
			bad = append(bad,
				mlkemForm{"both, another key's expanded key", both(seed, other)},
				mlkemForm{"both, seed changed", both(flip(seed, 0), expanded)},
				mlkemForm{"both, short seed", both(seed[:63], expanded)},
				mlkemForm{"both, short expanded key", both(seed, expanded[:len(expanded)-1])},
				mlkemForm{"both, extra element", func() []byte {
					b, _ := asn1.Marshal(struct{ Seed, Expanded, More []byte }{seed, expanded, nil})
					return mlkemPKCS8(t, spec, b)
				}()},
				// gmsm's FIPS 203 checks on an expanded key alone: H(ek), and
				// the modulus check of ek (t starts at byte 384k).
				mlkemForm{"expandedKey, H(ek) changed", expandedOnly(flip(expanded, 2*k384+32+1))},
				mlkemForm{"expandedKey, coefficient of t = q", expandedOnly(setCoefficient(expanded, k384, 0, 3329))},
				mlkemForm{"expandedKey, coefficient of s = 4095", expandedOnly(setCoefficient(expanded, 0, 0, 4095))},
				mlkemForm{"expandedKey, short", expandedOnly(expanded[:len(expanded)-1])},
				mlkemForm{"seed, 63 bytes", mlkemPKCS8(t, spec, append([]byte{0x80, 63}, seed[:63]...))},
				mlkemForm{"seed, 65 bytes", mlkemPKCS8(t, spec, append([]byte{0x80, 65}, append(seed, 0)...))},
				mlkemForm{"seed, trailing byte", mlkemPKCS8(t, spec, append(seedForm(seed), 0))},
				mlkemForm{"seed, long-form length", mlkemPKCS8(t, spec, append([]byte{0x80, 0x81, 0x40}, seed...))},
				mlkemForm{"seed, constructed [0]", mlkemPKCS8(t, spec, append([]byte{0xa0, 0x42, 0x04, 0x40}, seed...))},
				mlkemForm{"seed, [1]", mlkemPKCS8(t, spec, append([]byte{0x81, 0x40}, seed...))},
				mlkemForm{"bare seed", mlkemPKCS8(t, spec, seed)},
				mlkemForm{"empty", mlkemPKCS8(t, spec, nil)},
				mlkemForm{"trailing data after PKCS #8", append(bytes.Clone(der), 0)},
				mlkemForm{"version 1", func() []byte { b := bytes.Clone(der); b[4] = 1; return b }()},
				mlkemForm{"NULL parameters", func() []byte {
					b, _ := asn1.Marshal(struct {
						Version    int
						Algorithm  asn1AlgID
						PrivateKey []byte
					}{0, asn1AlgID{Algorithm: mlkemOIDs[spec], Parameters: asn1.NullRawValue}, seedForm(seed)})
					return b
				}()},
				mlkemForm{"with attributes", func() []byte {
					b, _ := asn1.Marshal(struct {
						Version    int
						Algorithm  asn1AlgID
						PrivateKey []byte
						Attributes asn1.RawValue `asn1:"tag:0"`
					}{0, asn1AlgID{Algorithm: mlkemOIDs[spec]}, seedForm(seed), asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true}})
					return b
				}()},
			)
			for _, b := range bad {
				if _, err := ParsePrivateKey(spec, b.der); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("ParsePrivateKey(%s: %s) = %v, want ErrInvalidKey", spec, b.name, err)
				}
			}
		})
	}
}

func mustGenerate(t testing.TB, spec Spec) []byte {
	t.Helper()
	der, err := Generate(spec)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// setCoefficient returns a copy of b with coefficient i of the
// ByteEncode12 polynomial vector starting at byte off set to v.
func setCoefficient(b []byte, off, i int, v uint16) []byte {
	b = bytes.Clone(b)
	p := off + 3*(i/2)
	if i%2 == 0 {
		b[p] = byte(v)
		b[p+1] = b[p+1]&0xf0 | byte(v>>8)
	} else {
		b[p+1] = b[p+1]&0x0f | byte(v<<4)
		b[p+2] = byte(v >> 4)
	}
	return b
}

// TestMLKEMPublicKeyChecks: ParsePublicKey runs FIPS 203's modulus check on
// the encapsulation key and accepts only the exact RFC 9935 DER.
func TestMLKEMPublicKeyChecks(t *testing.T) {
	for _, spec := range mlkemSpecs {
		spki := testPrivate(t, spec).Public().Bytes()
		ek := mlkemEKOf(t, spki)
		n := 256 * (len(ek) - 32) / 384 // coefficients of t
		bad := map[string][]byte{
			"trailing data": append(bytes.Clone(spki), 0),
			"short key":     mlkemSPKIOf(t, spec, ek[:len(ek)-1]),
			"long key":      mlkemSPKIOf(t, spec, append(bytes.Clone(ek), 0)),
			"padding bits": func() []byte {
				b, _ := asn1.Marshal(struct {
					Algorithm asn1AlgID
					PublicKey asn1.BitString
				}{asn1AlgID{Algorithm: mlkemOIDs[spec]}, asn1.BitString{Bytes: ek, BitLength: 8*len(ek) - 4}})
				return b
			}(),
			"NULL parameters": func() []byte {
				b, _ := asn1.Marshal(struct {
					Algorithm asn1AlgID
					PublicKey asn1.BitString
				}{asn1AlgID{Algorithm: mlkemOIDs[spec], Parameters: asn1.NullRawValue}, asn1.BitString{Bytes: ek, BitLength: 8 * len(ek)}})
				return b
			}(),
		}
		for _, c := range []struct {
			i int
			v uint16
		}{{0, 3329}, {0, 4095}, {1, 3329}, {n - 1, 3329}, {n - 1, 4095}, {n / 2, 3330}} {
			bad[fmt.Sprintf("coefficient %d = %d", c.i, c.v)] = mlkemSPKIOf(t, spec, setCoefficient(ek, 0, c.i, c.v))
		}
		// 3328 (q-1) is in range: the modulus check must not be off by one.
		if _, err := ParsePublicKey(spec, mlkemSPKIOf(t, spec, setCoefficient(ek, 0, 0, 3328))); err != nil {
			t.Errorf("ParsePublicKey(%s, coefficient q-1) = %v, want accepted", spec, err)
		}
		for name, b := range bad {
			if _, err := ParsePublicKey(spec, b); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("ParsePublicKey(%s, %s) = %v, want ErrInvalidKey", spec, name, err)
			}
		}
	}
}

// TestWycheproofMLKEM runs Wycheproof's ML-KEM vectors, when shared/vectors
// has them: MLKEMTest groups (keygen from the seed and decapsulation,
// including implicit rejection) and MLKEMEncapsTest groups (encapsulation
// key checks and derandomized encapsulation).
func TestWycheproofMLKEM(t *testing.T) {
	for _, spec := range mlkemSpecs {
		bits := strings.TrimPrefix(string(spec), "ML_KEM_")
		for _, file := range []string{"mlkem_" + bits + "_test.json", "mlkem_" + bits + "_encaps_test.json"} {
			b, err := os.ReadFile(filepath.Join(wycheproofDir, file))
			if errors.Is(err, os.ErrNotExist) {
				t.Skipf("%s is not in %s (the copy there predates Wycheproof's ML-KEM vectors); TestMLKEM512KnownAnswer and TestMLKEMStdlib still run", file, wycheproofDir)
			}
			if err != nil {
				t.Fatal(err)
			}
			runWycheproofMLKEM(t, spec, file, b)
		}
	}
}

// TestWycheproofMLKEMRunner feeds runWycheproofMLKEM a file in Wycheproof's
// schema built from the embedded ML-KEM-512 vectors, so that the runner is
// exercised even where the vector files are absent.
func TestWycheproofMLKEMRunner(t *testing.T) {
	seed := mustHex(mlkemKAT512Seed)
	k, err := ParsePrivateKey(MLKEM512, mlkemPKCS8(t, MLKEM512, seedForm(seed)))
	if err != nil {
		t.Fatal(err)
	}
	ek := hex.EncodeToString(mlkemEKOf(t, k.Public().Bytes()))
	badEK := hex.EncodeToString(setCoefficient(mustHex(ek), 0, 0, 3329))
	m := strings.Repeat("42", 32)
	ss, ct := derandomizedEncapsulate(t, k.Public(), mustHex(m))
	file := fmt.Sprintf(`{"algorithm": "ML-KEM", "testGroups": [
		{"type": "MLKEMTest", "parameterSet": "ML-KEM-512", "tests": [
			{"tcId": 1, "seed": %[1]q, "ek": %[2]q, "c": %[3]q, "K": %[4]q, "result": "valid"},
			{"tcId": 2, "seed": %[1]q, "ek": %[2]q, "c": %[3]q, "K": %[5]q, "result": "invalid"},
			{"tcId": 3, "seed": %[1]q, "ek": %[2]q, "c": %[6]q, "K": "", "result": "invalid"}]},
		{"type": "MLKEMEncapsTest", "parameterSet": "ML-KEM-512", "tests": [
			{"tcId": 4, "ek": %[2]q, "m": %[7]q, "c": %[8]q, "K": %[9]q, "result": "valid"},
			{"tcId": 5, "ek": %[10]q, "m": %[7]q, "c": "", "K": "", "result": "invalid"}]},
		{"type": "MLKEMTest", "parameterSet": "ML-KEM-768", "tests": [
			{"tcId": 6, "seed": %[1]q, "ek": "", "c": "", "K": "", "result": "valid"}]}]}`,
		mlkemKAT512Seed, ek, mlkemKAT512C, mlkemKAT512K, mlkemKAT512KRejected, mlkemKAT512C[2:],
		m, hex.EncodeToString(ct), hex.EncodeToString(ss), badEK)
	c := runWycheproofMLKEM(t, MLKEM512, "synthetic", []byte(file))
	if c.run != 5 || c.valid != 2 || c.invalid != 3 || c.skipped != 1 {
		t.Errorf("runner counted %+v, want 5 run (2 valid, 3 invalid), 1 skipped", c)
	}
}

func runWycheproofMLKEM(t *testing.T, spec Spec, file string, b []byte) wpCounts {
	t.Helper()
	var f wpFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	want := "ML-KEM-" + strings.TrimPrefix(string(spec), "ML_KEM_")
	var c wpCounts
	for _, raw := range f.TestGroups {
		var g struct {
			Type         string `json:"type"`
			ParameterSet string `json:"parameterSet"`
			Tests        []struct {
				TcID    int      `json:"tcId"`
				Comment string   `json:"comment"`
				Flags   []string `json:"flags"`
				Result  string   `json:"result"`
				Seed    wpHex    `json:"seed"`
				EK      wpHex    `json:"ek"`
				M       wpHex    `json:"m"`
				C       wpHex    `json:"c"`
				K       wpHex    `json:"K"`
			} `json:"tests"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if g.ParameterSet != want || g.Type != "MLKEMTest" && g.Type != "MLKEMEncapsTest" {
			c.skipped += len(g.Tests)
			continue
		}
		for _, v := range g.Tests {
			tc := wpCase{TcID: v.TcID, Comment: v.Comment, Flags: v.Flags, Result: v.Result}
			if g.Type == "MLKEMTest" {
				// The seed as Keyward stores it; then ek and the secret.
				ok := false
				k, err := ParsePrivateKey(spec, mlkemPKCS8(t, spec, seedForm(v.Seed)))
				if err == nil {
					var got []byte
					got, err = k.Decapsulate("ML_KEM", v.C)
					if err != nil && err != ErrDecrypt {
						t.Errorf("%s tcId %d: Decapsulate error %v is not exactly ErrDecrypt", file, v.TcID, err)
					}
					ok = err == nil && bytes.Equal(got, v.K) && bytes.Equal(mlkemEKOf(t, k.Public().Bytes()), v.EK)
				}
				c.check(t, file, tc, ok, err)
				continue
			}
			pub, err := ParsePublicKey(spec, mlkemSPKIOf(t, spec, v.EK))
			ok := err == nil
			if ok && len(v.M) == 32 {
				ss, ct := derandomizedEncapsulate(t, pub, v.M)
				ok = bytes.Equal(ss, v.K) && bytes.Equal(ct, v.C)
			}
			c.check(t, file, tc, ok, err)
		}
	}
	c.log(t, file)
	return c
}

// derandomizedEncapsulate runs ML-KEM.Encaps_internal with m on a parsed
// public key, through the library that serves it.
func derandomizedEncapsulate(t *testing.T, pub *PublicKey, m []byte) (ss, ct []byte) {
	t.Helper()
	var err error
	switch k := pub.key.(*mlkemPublicKey).ek.(type) {
	case stdEncapsulator:
		switch e := k.Encapsulator.(type) {
		case *mlkem.EncapsulationKey768:
			ss, ct, err = mlkemtest.Encapsulate768(e, m)
		case *mlkem.EncapsulationKey1024:
			ss, ct, err = mlkemtest.Encapsulate1024(e, m)
		}
	case gmsmEncapsulator:
		ss, ct = k.k.(*gmlkem.EncapsulationKey512).EncapsulateInternal((*[32]byte)(m))
	}
	if err != nil || ss == nil {
		t.Fatalf("derandomized encapsulation: %v", err)
	}
	return ss, ct
}
