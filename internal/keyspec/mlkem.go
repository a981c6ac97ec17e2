package keyspec

import (
	"crypto"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"slices"

	gmlkem "github.com/emmansun/gmsm/mlkem"
)

// ML-KEM (FIPS 203) is a key encapsulation mechanism: Encapsulate, with the
// public (encapsulation) key alone, returns a fresh 32-byte shared secret and
// a ciphertext; Decapsulate, with the private key, recovers the secret from
// the ciphertext. ML-KEM-768 and ML-KEM-1024 come from the standard
// library's crypto/mlkem; ML-KEM-512, which it leaves out, from
// github.com/emmansun/gmsm/mlkem, a port of the same code (the tests check
// the two against each other and against FIPS 203 vectors).
//
// Encodings, RFC 9935 (ML-KEM in X.509 and PKCS #8):
//
//   - AlgorithmIdentifier: id-alg-ml-kem-512/768/1024
//     (2.16.840.1.101.3.4.4.1/2/3), parameters absent.
//   - SubjectPublicKeyInfo: the raw encapsulation key (800, 1184 or 1568
//     bytes) as the BIT STRING.
//   - PKCS #8: the privateKey OCTET STRING holds the CHOICE
//     ML-KEM-x-PrivateKey. Generate writes the seed form,
//     seed [0] IMPLICIT OCTET STRING (SIZE (64)), d || z of FIPS 203's
//     ML-KEM.KeyGen_internal: the smallest form, and the one from which the
//     others are derived. ParsePrivateKey also reads expandedKey (the FIPS
//     203 decapsulation key) and both (SEQUENCE { seed, expandedKey }, what
//     OpenSSL 3.5 writes by default), so that keys made elsewhere can be
//     imported.
//
// Keyward stores only the seed form. An expandedKey-only key cannot be
// turned back into a seed; it is decapsulated with gmsm for every parameter
// set (crypto/mlkem loads only seeds).
var (
	oidMLKEM512  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 1}
	oidMLKEM768  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	oidMLKEM1024 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 3}
)

// mlkemAlgs are the encapsulation algorithms of the ML-KEM specs.
var mlkemAlgs = []string{"ML_KEM"}

// mlkemSeedSize is the size of the d || z seed of every parameter set.
const mlkemSeedSize = 64

// mlkemParams is one ML-KEM parameter set.
type mlkemParams struct {
	spec         Spec
	oid          asn1.ObjectIdentifier
	ekSize       int // encapsulation key
	dkSize       int // expanded decapsulation key
	ciphertext   int
	newPublic    func(ek []byte) (mlkemEncapsulator, error)
	fromSeed     func(seed []byte) (mlkemDecapsulator, mlkemEncapsulator, error)
	fromExpanded func(dk []byte) (mlkemDecapsulator, []byte, error) // gmsm; also returns the encapsulation key bytes
	expand       func(seed []byte) ([]byte, error)                  // gmsm: the expanded key of a seed
}

var mlkemParamSets = map[Spec]*mlkemParams{
	MLKEM512: {
		spec: MLKEM512, oid: oidMLKEM512,
		ekSize: gmlkem.EncapsulationKeySize512, dkSize: gmlkem.DecapsulationKeySize512, ciphertext: gmlkem.CiphertextSize512,
		newPublic: func(ek []byte) (mlkemEncapsulator, error) {
			k, err := gmlkem.NewEncapsulationKey512(ek)
			if err != nil {
				return nil, err
			}
			return gmsmEncapsulator{k}, nil
		},
		fromSeed: func(seed []byte) (mlkemDecapsulator, mlkemEncapsulator, error) {
			k, err := gmlkem.NewDecapsulationKeyFromSeed512(seed)
			if err != nil {
				return nil, nil, err
			}
			return k, gmsmEncapsulator{k.EncapsulationKey()}, nil
		},
		fromExpanded: func(dk []byte) (mlkemDecapsulator, []byte, error) {
			k, err := gmlkem.NewDecapsulationKey512(dk)
			if err != nil {
				return nil, nil, err
			}
			return k, k.EncapsulationKey().Bytes(), nil
		},
		expand: func(seed []byte) ([]byte, error) {
			k, err := gmlkem.NewDecapsulationKeyFromSeed512(seed)
			if err != nil {
				return nil, err
			}
			return k.Bytes(), nil
		},
	},
	MLKEM768: {
		spec: MLKEM768, oid: oidMLKEM768,
		ekSize: mlkem.EncapsulationKeySize768, dkSize: gmlkem.DecapsulationKeySize768, ciphertext: mlkem.CiphertextSize768,
		newPublic: func(ek []byte) (mlkemEncapsulator, error) {
			k, err := mlkem.NewEncapsulationKey768(ek)
			if err != nil {
				return nil, err
			}
			return stdEncapsulator{k}, nil
		},
		fromSeed: func(seed []byte) (mlkemDecapsulator, mlkemEncapsulator, error) {
			k, err := mlkem.NewDecapsulationKey768(seed)
			if err != nil {
				return nil, nil, err
			}
			return k, stdEncapsulator{k.EncapsulationKey()}, nil
		},
		fromExpanded: func(dk []byte) (mlkemDecapsulator, []byte, error) {
			k, err := gmlkem.NewDecapsulationKey768(dk)
			if err != nil {
				return nil, nil, err
			}
			return k, k.EncapsulationKey().Bytes(), nil
		},
		expand: func(seed []byte) ([]byte, error) {
			k, err := gmlkem.NewDecapsulationKeyFromSeed768(seed)
			if err != nil {
				return nil, err
			}
			return k.Bytes(), nil
		},
	},
	MLKEM1024: {
		spec: MLKEM1024, oid: oidMLKEM1024,
		ekSize: mlkem.EncapsulationKeySize1024, dkSize: gmlkem.DecapsulationKeySize1024, ciphertext: mlkem.CiphertextSize1024,
		newPublic: func(ek []byte) (mlkemEncapsulator, error) {
			k, err := mlkem.NewEncapsulationKey1024(ek)
			if err != nil {
				return nil, err
			}
			return stdEncapsulator{k}, nil
		},
		fromSeed: func(seed []byte) (mlkemDecapsulator, mlkemEncapsulator, error) {
			k, err := mlkem.NewDecapsulationKey1024(seed)
			if err != nil {
				return nil, nil, err
			}
			return k, stdEncapsulator{k.EncapsulationKey()}, nil
		},
		fromExpanded: func(dk []byte) (mlkemDecapsulator, []byte, error) {
			k, err := gmlkem.NewDecapsulationKey1024(dk)
			if err != nil {
				return nil, nil, err
			}
			return k, k.EncapsulationKey().Bytes(), nil
		},
		expand: func(seed []byte) ([]byte, error) {
			k, err := gmlkem.NewDecapsulationKeyFromSeed1024(seed)
			if err != nil {
				return nil, err
			}
			return k.Bytes(), nil
		},
	},
}

// mlkemEncapsulator is an encapsulation key of either library.
type mlkemEncapsulator interface {
	Bytes() []byte
	encapsulate() (ciphertext, sharedSecret []byte, err error)
}

// mlkemDecapsulator is a decapsulation key of either library. Both return an
// error only for a ciphertext of the wrong length.
type mlkemDecapsulator interface {
	Decapsulate(ciphertext []byte) (sharedKey []byte, err error)
}

// stdEncapsulator adapts crypto/mlkem, which draws its randomness from the
// standard library's own generator and cannot fail.
type stdEncapsulator struct{ crypto.Encapsulator }

func (e stdEncapsulator) encapsulate() ([]byte, []byte, error) {
	secret, ct := e.Encapsulate()
	return ct, secret, nil
}

// gmsmEncapsulator adapts gmsm, which takes a random source.
type gmsmEncapsulator struct {
	k interface {
		Bytes() []byte
		Encapsulate(rand io.Reader) (sharedKey, ciphertext []byte, err error)
	}
}

func (e gmsmEncapsulator) Bytes() []byte { return e.k.Bytes() }

func (e gmsmEncapsulator) encapsulate() ([]byte, []byte, error) {
	secret, ct, err := e.k.Encapsulate(rand.Reader)
	return ct, secret, err
}

// mlkemPublicKey is an ML-KEM encapsulation key. The distinct type keeps the
// type switches of this package apart from other key types.
type mlkemPublicKey struct {
	params *mlkemParams
	ek     mlkemEncapsulator
}

// mlkemPrivateKey is an ML-KEM decapsulation key.
type mlkemPrivateKey struct {
	params *mlkemParams
	dk     mlkemDecapsulator
}

// generateMLKEM returns a new seed-form PKCS #8 key. The libraries' own
// GenerateKey functions are used, rather than 64 bytes from crypto/rand, so
// that crypto/mlkem's FIPS 140-3 mode runs its pairwise consistency test.
func generateMLKEM(p *mlkemParams) ([]byte, error) {
	var seed []byte
	switch p.spec {
	case MLKEM512:
		k, err := gmlkem.GenerateKey512(rand.Reader)
		if err != nil {
			return nil, err
		}
		seed = k.Seed()
	case MLKEM768:
		k, err := mlkem.GenerateKey768()
		if err != nil {
			return nil, err
		}
		seed = k.Bytes() // crypto/mlkem's Bytes is the seed
	case MLKEM1024:
		k, err := mlkem.GenerateKey1024()
		if err != nil {
			return nil, err
		}
		seed = k.Bytes()
	}
	return marshalMLKEMPKCS8(p, seed)
}

func marshalMLKEMPKCS8(p *mlkemParams, seed []byte) ([]byte, error) {
	if len(seed) != mlkemSeedSize {
		return nil, errors.New("ML-KEM seed is not 64 bytes")
	}
	// seed [0] IMPLICIT OCTET STRING: context-specific primitive tag 0x80.
	inner := append([]byte{0x80, mlkemSeedSize}, seed...)
	return asn1.Marshal(pkcs8ASN1{Algorithm: pkix.AlgorithmIdentifier{Algorithm: p.oid}, PrivateKey: inner})
}

func marshalMLKEMSPKI(pub *mlkemPublicKey) ([]byte, error) {
	ek := pub.ek.Bytes()
	return asn1.Marshal(spkiASN1{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: pub.params.oid},
		PublicKey: asn1.BitString{Bytes: ek, BitLength: 8 * len(ek)},
	})
}

// mlkemBoth is the both alternative of ML-KEM-x-PrivateKey.
type mlkemBoth struct {
	Seed        []byte
	ExpandedKey []byte
}

// parseMLKEMPKCS8 parses an RFC 9935 PKCS #8 key of parameter set p in any of
// the three forms. It accepts only DER (re-encoding gives the same bytes: no
// trailing data, attributes, public key field or long-form lengths) and
// version 0. Every key goes through FIPS 203's checks: the expanded key's
// encapsulation key passes the modulus check and its stored H(ek) matches
// (gmsm's NewDecapsulationKey), and in the both form the expanded key must
// be the one the seed expands to, as RFC 9935 asks of a recipient.
func parseMLKEMPKCS8(p *mlkemParams, der []byte) (*mlkemPrivateKey, *mlkemPublicKey, error) {
	var p8 pkcs8ASN1
	if err := unmarshalAll(der, &p8, "PKCS #8"); err != nil {
		return nil, nil, err
	}
	switch {
	case p8.Version != 0 || !p8.Algorithm.Algorithm.Equal(p.oid):
		return nil, nil, errors.New("not an " + string(p.spec) + " private key")
	case len(p8.Algorithm.Parameters.FullBytes) != 0:
		return nil, nil, errors.New("ML-KEM AlgorithmIdentifier has parameters")
	case len(p8.PrivateKey) == 0:
		return nil, nil, errors.New("empty ML-KEM private key")
	}
	if again, err := asn1.Marshal(p8); err != nil || string(again) != string(der) {
		return nil, nil, errors.New("ML-KEM PKCS #8 is not in canonical DER")
	}
	var (
		dk  mlkemDecapsulator
		ek  mlkemEncapsulator
		err error
	)
	inner := p8.PrivateKey
	switch inner[0] {
	case 0x80: // seed [0] IMPLICIT OCTET STRING (SIZE (64))
		if len(inner) != 2+mlkemSeedSize || inner[1] != mlkemSeedSize {
			return nil, nil, errors.New("ML-KEM seed is not 64 bytes")
		}
		if dk, ek, err = p.fromSeed(inner[2:]); err != nil {
			return nil, nil, err
		}
	case 0x04: // expandedKey OCTET STRING
		var expanded []byte
		if err := unmarshalDER(inner, &expanded); err != nil {
			return nil, nil, err
		}
		if len(expanded) != p.dkSize {
			return nil, nil, errors.New("ML-KEM expanded key has the wrong length")
		}
		var raw []byte
		if dk, raw, err = p.fromExpanded(expanded); err != nil {
			return nil, nil, err
		}
		// The public half goes through the same constructor as a parsed
		// SubjectPublicKeyInfo (crypto/mlkem for 768 and 1024).
		if ek, err = p.newPublic(raw); err != nil {
			return nil, nil, err
		}
	case 0x30: // both SEQUENCE { seed, expandedKey }
		var both mlkemBoth
		if err := unmarshalDER(inner, &both); err != nil {
			return nil, nil, err
		}
		if len(both.Seed) != mlkemSeedSize || len(both.ExpandedKey) != p.dkSize {
			return nil, nil, errors.New("ML-KEM seed or expanded key has the wrong length")
		}
		want, err := p.expand(both.Seed)
		if err != nil {
			return nil, nil, err
		}
		// Both values are secret: compare in constant time.
		if subtle.ConstantTimeCompare(want, both.ExpandedKey) != 1 {
			return nil, nil, errors.New("ML-KEM expanded key does not match its seed")
		}
		if dk, ek, err = p.fromSeed(both.Seed); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, errors.New("ML-KEM private key is none of seed, expandedKey, both")
	}
	return &mlkemPrivateKey{params: p, dk: dk}, &mlkemPublicKey{params: p, ek: ek}, nil
}

// unmarshalDER unmarshals der into *v and requires that nothing follows and
// that *v re-encodes to the same bytes.
func unmarshalDER[T any](der []byte, v *T) error {
	if err := unmarshalAll(der, v, "ML-KEM private key"); err != nil {
		return err
	}
	if again, err := asn1.Marshal(*v); err != nil || string(again) != string(der) {
		return errors.New("not in canonical DER")
	}
	return nil
}

// parseMLKEMSPKI parses an RFC 9935 SubjectPublicKeyInfo of parameter set p:
// DER only, no parameters, an encapsulation key of the exact length that
// passes FIPS 203's modulus check (every coefficient below q = 3329).
func parseMLKEMSPKI(p *mlkemParams, der []byte) (*mlkemPublicKey, error) {
	spki, err := unmarshalSPKI(der)
	switch {
	case err != nil:
		return nil, err
	case !spki.Algorithm.Algorithm.Equal(p.oid):
		return nil, errors.New("not an " + string(p.spec) + " public key")
	case len(spki.Algorithm.Parameters.FullBytes) != 0:
		return nil, errors.New("ML-KEM AlgorithmIdentifier has parameters")
	case spki.PublicKey.BitLength != 8*p.ekSize:
		return nil, errors.New("ML-KEM encapsulation key has the wrong length")
	}
	ek, err := p.newPublic(spki.PublicKey.Bytes)
	if err != nil {
		return nil, err
	}
	pub := &mlkemPublicKey{params: p, ek: ek}
	if again, err := marshalMLKEMSPKI(pub); err != nil || string(again) != string(der) {
		return nil, errors.New("ML-KEM SubjectPublicKeyInfo is not in canonical DER")
	}
	return pub, nil
}

// Encapsulate returns a new shared secret (32 bytes) and the ciphertext that
// carries it to the holder of the private key (768, 1088 or 1568 bytes for
// ML_KEM_512, ML_KEM_768, ML_KEM_1024), with fresh randomness from the
// system's generator (FIPS 203 ML-KEM.Encaps). alg must be ML_KEM.
// Encapsulate does not know the key's KeyUsage: the caller checks that it is
// ENCAPSULATE_DECAPSULATE first.
func (k *PublicKey) Encapsulate(alg string) (ciphertext, sharedSecret []byte, err error) {
	if info := specs[k.spec]; info == nil || !slices.Contains(info.encapsulation, alg) {
		return nil, nil, errAlgorithm(alg, k.spec)
	}
	key, ok := k.key.(*mlkemPublicKey)
	if !ok {
		return nil, nil, errKey(k.spec, "unexpected key type %T", k.key)
	}
	return key.ek.encapsulate()
}

// Decapsulate returns the shared secret of an ML-KEM ciphertext made with the
// public half of k (FIPS 203 ML-KEM.Decaps). alg must be ML_KEM.
//
// A ciphertext of the wrong length is ErrDecrypt, with no detail, as for
// Decrypt. A ciphertext of the right length always decapsulates: if it was
// not made for this key, or was changed, FIPS 203's implicit rejection
// returns a pseudorandom secret derived from the key's z and the ciphertext,
// which shares nothing with the sender's. That is the standard's design,
// which makes decapsulation failures indistinguishable to an attacker; the
// protocol built on the secret (an AEAD, a MAC) is what detects the mismatch.
func (k *PrivateKey) Decapsulate(alg string, ciphertext []byte) ([]byte, error) {
	if info := specs[k.spec]; info == nil || !slices.Contains(info.encapsulation, alg) {
		return nil, errAlgorithm(alg, k.spec)
	}
	key, ok := k.key.(*mlkemPrivateKey)
	if !ok {
		return nil, errKey(k.spec, "unexpected key type %T", k.key)
	}
	if len(ciphertext) != key.params.ciphertext {
		return nil, ErrDecrypt
	}
	secret, err := key.dk.Decapsulate(ciphertext)
	if err != nil {
		return nil, ErrDecrypt
	}
	return secret, nil
}

// Encapsulate parses the SubjectPublicKeyInfo of spec and encapsulates a new
// shared secret with it; see PublicKey.Encapsulate.
func Encapsulate(spec Spec, spki []byte, alg string) (ciphertext, sharedSecret []byte, err error) {
	if info := specs[spec]; info == nil || !slices.Contains(info.encapsulation, alg) {
		return nil, nil, errAlgorithm(alg, spec)
	}
	k, err := ParsePublicKey(spec, spki)
	if err != nil {
		return nil, nil, err
	}
	return k.Encapsulate(alg)
}

// Decapsulate parses the PKCS #8 private key of spec and decapsulates
// ciphertext with it; see PrivateKey.Decapsulate.
func Decapsulate(spec Spec, private []byte, alg string, ciphertext []byte) ([]byte, error) {
	if info := specs[spec]; info == nil || !slices.Contains(info.encapsulation, alg) {
		return nil, errAlgorithm(alg, spec)
	}
	k, err := ParsePrivateKey(spec, private)
	if err != nil {
		return nil, err
	}
	return k.Decapsulate(alg, ciphertext)
}
