package keyspec

import (
	"bytes"
	"crypto/elliptic"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// The recommended SM2 curve, GB/T 32918.5-2017 (GM/T 0003.5-2012), section 3.
// Tests use these to compute Z_A and points without gmsm's own constants.
const (
	sm2P  = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF"
	sm2A  = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
	sm2B  = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
	sm2N  = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123"
	sm2Gx = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
	sm2Gy = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hexInt(s string) *big.Int { return new(big.Int).SetBytes(mustHex(s)) }

// sm2RefCurve is the SM2 curve as crypto/elliptic's generic implementation,
// an arithmetic independent of gmsm. It applies because SM2's a is p − 3,
// the one value CurveParams assumes. Variable time: tests only.
var sm2RefCurve = &elliptic.CurveParams{
	P: hexInt(sm2P), N: hexInt(sm2N), B: hexInt(sm2B),
	Gx: hexInt(sm2Gx), Gy: hexInt(sm2Gy), BitSize: 256, Name: "SM2-reference",
}

// sm2ZA computes Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A ||
// y_A) (GB/T 32918.2, section 5.5) from the constants above.
func sm2ZA(id, point []byte) []byte {
	h := sm3.New()
	bits := len(id) * 8
	h.Write([]byte{byte(bits >> 8), byte(bits)})
	h.Write(id)
	for _, c := range []string{sm2A, sm2B, sm2Gx, sm2Gy} {
		h.Write(mustHex(c))
	}
	h.Write(point[1:])
	return h.Sum(nil)
}

// sm2E returns what a client sends as an SM2DSA DIGEST: SM3(Z_A || M) with
// the default ID, for the public key spki.
func sm2E(t testing.TB, spki, msg []byte) []byte {
	t.Helper()
	var s struct {
		Algo struct{ Algorithm, Curve asn1.ObjectIdentifier }
		Key  asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &s); err != nil {
		t.Fatalf("SM2 SPKI: %v", err)
	}
	h := sm3.New()
	h.Write(sm2ZA([]byte("1234567812345678"), s.Key.Bytes))
	h.Write(msg)
	return h.Sum(nil)
}

// sm2KeyFromScalar returns the PKCS #8 of the SM2 private scalar d (hex).
func sm2KeyFromScalar(t testing.TB, d string) []byte {
	t.Helper()
	k, err := sm2.NewPrivateKey(mustHex(d))
	if err != nil {
		t.Fatal(err)
	}
	der, err := marshalSM2PKCS8(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSM3KnownAnswers(t *testing.T) {
	// GB/T 32905-2016, Appendix A, examples 1 and 2.
	for _, tc := range []struct{ in, want string }{
		{"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{string(bytes.Repeat([]byte("abcd"), 16)), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	} {
		if got := sm3.Sum([]byte(tc.in)); hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("SM3(%q) = %x, want %s", tc.in, got, tc.want)
		}
	}
}

func TestSM2CurveConstants(t *testing.T) {
	p := sm2.P256().Params()
	for name, c := range map[string][2]*big.Int{
		"p": {p.P, sm2RefCurve.P}, "n": {p.N, sm2RefCurve.N}, "b": {p.B, sm2RefCurve.B},
		"Gx": {p.Gx, sm2RefCurve.Gx}, "Gy": {p.Gy, sm2RefCurve.Gy},
	} {
		if c[0].Cmp(c[1]) != 0 {
			t.Errorf("gmsm's SM2 %s = %x, GB/T 32918.5 says %x", name, c[0], c[1])
		}
	}
	if a := new(big.Int).Sub(sm2RefCurve.P, big.NewInt(3)); hex.EncodeToString(a.Bytes()) != "fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc" {
		t.Errorf("a != p - 3: the reference curve would be wrong")
	}
}

// TestSM2GMTExample checks the worked example of GM/T 0003.5-2012 (GB/T
// 32918.5-2017), Appendix A, on the recommended curve: the public key of d,
// Z_A and e for ID "1234567812345678" and M = "message digest", and that
// Verify accepts the standard's signature (r, s), made with its fixed k, as
// RAW and as DIGEST.
func TestSM2GMTExample(t *testing.T) {
	const (
		d  = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
		xA = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
		yA = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
		zA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
		e  = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
		r  = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
		s  = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
	)
	msg := []byte("message digest")
	k, err := ParsePrivateKey(SM2, sm2KeyFromScalar(t, d))
	if err != nil {
		t.Fatal(err)
	}
	spki := k.Public().Bytes()
	wantPoint := mustHex("04" + xA + yA)
	if !bytes.HasSuffix(spki, wantPoint) {
		t.Fatalf("SPKI of the example key = %x, want point %x", spki, wantPoint)
	}
	if got := sm2ZA([]byte("1234567812345678"), wantPoint); !bytes.Equal(got, mustHex(zA)) {
		t.Errorf("Z_A (by hand) = %X, want %s", got, zA)
	}
	pub := k.Public().key.(*sm2PublicKey)
	if got, err := sm2.CalculateZA(pub.ecdsa(), sm2DefaultID); err != nil || !bytes.Equal(got, mustHex(zA)) {
		t.Errorf("Z_A (gmsm) = %X, %v; want %s", got, err, zA)
	}
	if got := sm2E(t, spki, msg); !bytes.Equal(got, mustHex(e)) {
		t.Errorf("e = %X, want %s", got, e)
	}
	sig, _ := asn1.Marshal(struct{ R, S *big.Int }{hexInt(r), hexInt(s)})
	for _, in := range []mtInput{{MessageRaw, msg}, {MessageDigest, mustHex(e)}} {
		if ok, err := Verify(SM2, spki, "SM2DSA", in.mt, in.m, sig); !ok || err != nil {
			t.Errorf("Verify(SM2, %s, GM/T example signature) = %v, %v; want true", in.mt, ok, err)
		}
	}
	bad, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).Add(hexInt(r), big.NewInt(1)), hexInt(s)})
	if ok, _ := Verify(SM2, spki, "SM2DSA", MessageRaw, msg, bad); ok {
		t.Error("Verify(SM2, r+1) = true")
	}
	if ok, _ := Verify(SM2, spki, "SM2DSA", MessageRaw, []byte("message digest!"), sig); ok {
		t.Error("Verify(SM2, other message) = true")
	}
}

func TestSM2Encoding(t *testing.T) {
	der := testKey(t, SM2)
	spki := testPrivate(t, SM2).Public().Bytes()
	// The shapes OpenSSL 3 writes (checked byte for byte against OpenSSL in
	// openssl_test.go): id-ecPublicKey (2a8648ce3d0201) with the sm2 curve
	// (2a811ccf5501822d), an uncompressed point; PKCS #8 around an RFC 5915
	// ECPrivateKey with a 32-byte scalar and [1] the public key.
	spkiPrefix := mustHex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
	if !bytes.HasPrefix(spki, spkiPrefix) || len(spki) != len(spkiPrefix)+65 || spki[len(spkiPrefix)] != 4 {
		t.Errorf("SM2 SPKI = %x, want prefix %x and a 65-byte uncompressed point", spki, spkiPrefix)
	}
	p8Prefix := mustHex("308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420")
	if !bytes.HasPrefix(der, p8Prefix) || len(der) != 138 || !bytes.Equal(der[len(p8Prefix)+32:len(p8Prefix)+32+5], mustHex("a144034200")) {
		t.Errorf("SM2 PKCS #8 = %x..., want prefix %x and the OpenSSL shape", der[:40], p8Prefix)
	}

	for name, bad := range map[string][]byte{
		"wrong embedded public key": func() []byte { b := bytes.Clone(der); b[len(b)-1] ^= 1; return b }(),
		"zero scalar":               sm2PKCS8Scalar(t, der, make([]byte, 32)),
		"scalar n-1":                sm2PKCS8Scalar(t, der, new(big.Int).Sub(sm2RefCurve.N, big.NewInt(1)).Bytes()),
		"scalar n":                  sm2PKCS8Scalar(t, der, sm2RefCurve.N.Bytes()),
		"trailing data":             append(bytes.Clone(der), 0),
		"P-256 key":                 testKey(t, ECCNISTP256),
		"secp256k1 key":             testKey(t, ECCSECGP256K1),
	} {
		if _, err := ParsePrivateKey(SM2, bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePrivateKey(SM2, %s) = %v, want ErrInvalidKey", name, err)
		}
	}
	// The SPKI parser takes only the canonical form.
	comp := append(bytes.Clone(spkiPrefix[:len(spkiPrefix)-3]), 0x03, 0x22, 0x00, 0x02|spki[len(spki)-1]&1)
	comp[1] -= 32
	comp = append(comp, spki[len(spki)-64:len(spki)-32]...)
	long := bytes.Clone(spki)
	long[1]++
	long = append(long, 0x05, 0x00) // an extra element inside the SEQUENCE
	long[1]++
	for name, bad := range map[string][]byte{
		"compressed point": comp,
		"extra element":    long,
		"trailing data":    append(bytes.Clone(spki), 0),
		"P-256 SPKI":       testPrivate(t, ECCNISTP256).Public().Bytes(),
		"point at infinity": func() []byte {
			b, _ := asn1.Marshal(spkiASN1{Algorithm: namedCurve(oidSM2), PublicKey: asn1.BitString{Bytes: []byte{0}, BitLength: 8}})
			return b
		}(),
	} {
		if _, err := ParsePublicKey(SM2, bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePublicKey(SM2, %s) = %v, want ErrInvalidKey", name, err)
		}
	}
}

// sm2PKCS8Scalar returns der with its private scalar replaced by scalar
// (left-padded to 32 bytes) and the public key left out.
func sm2PKCS8Scalar(t *testing.T, der, scalar []byte) []byte {
	t.Helper()
	s := make([]byte, 32)
	copy(s[32-len(scalar):], scalar)
	inner, _ := asn1.Marshal(ecPrivateKeyASN1{Version: 1, PrivateKey: s})
	out, err := asn1.Marshal(pkcs8ASN1{Algorithm: namedCurve(oidSM2), PrivateKey: inner})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSM2SignatureShape(t *testing.T) {
	k := testPrivate(t, SM2)
	msg := []byte("SM2DSA over SM3(Z_A || M)")
	e := sm2E(t, k.Public().Bytes(), msg)
	for _, in := range []mtInput{{MessageRaw, msg}, {MessageDigest, e}} {
		sig, err := k.Sign("SM2DSA", in.mt, in.m)
		if err != nil {
			t.Fatalf("Sign(SM2, %s) = %v", in.mt, err)
		}
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
			t.Errorf("SM2 signature is not a DER SEQUENCE {r, s}: %x (%v)", sig, err)
		}
		// gmsm verifies e directly: RAW signed SM3(Z_A || M), not M.
		if !sm2.VerifyASN1(k.Public().key.(*sm2PublicKey).ecdsa(), e, sig) {
			t.Errorf("Sign(SM2, %s) does not verify as a signature of e", in.mt)
		}
		// SM3(M) without Z_A is not e.
		plain := sm3.Sum(msg)
		if ok, _ := k.Public().Verify("SM2DSA", MessageDigest, plain[:], sig); ok {
			t.Errorf("Sign(SM2, %s) verifies as a signature of SM3(M) without Z_A", in.mt)
		}
	}
}

func TestSM2EncryptDecrypt(t *testing.T) {
	k := testPrivate(t, SM2)
	pub := k.Public()
	if max := MaxPlaintext(SM2, "SM2PKE"); max != 1024 {
		t.Fatalf("MaxPlaintext(SM2, SM2PKE) = %d, want 1024", max)
	}
	for _, n := range []int{1, 32, 1024} {
		pt := bytes.Repeat([]byte{0x5a}, n)
		ct, err := Encrypt(SM2, pub.Bytes(), "SM2PKE", pt)
		if err != nil {
			t.Fatalf("Encrypt(SM2, %d bytes) = %v", n, err)
		}
		got, err := Decrypt(SM2, testKey(t, SM2), "SM2PKE", ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("Decrypt(Encrypt(SM2, %d bytes)) = %d bytes, %v", n, len(got), err)
		}
		// GM/T 0009 C1C3C2: SEQUENCE {x, y, hash (32 bytes), ciphertext}.
		var c struct {
			X, Y     *big.Int
			Hash, CT []byte
		}
		if rest, err := asn1.Unmarshal(ct, &c); err != nil || len(rest) != 0 || len(c.Hash) != 32 || len(c.CT) != n {
			t.Fatalf("SM2 ciphertext is not SEQUENCE {x, y, hash, ciphertext}: %x (%v)", ct, err)
		}
		if !sm2RefCurve.IsOnCurve(c.X, c.Y) {
			t.Errorf("SM2 ciphertext C1 is not on the curve")
		}
		again, _ := Encrypt(SM2, pub.Bytes(), "SM2PKE", pt)
		if bytes.Equal(again, ct) {
			t.Errorf("Encrypt(SM2) is deterministic")
		}
	}

	for _, tc := range []struct {
		pt      []byte
		want    error
		wantMsg string
	}{
		{make([]byte, 1025), ErrPlaintextTooLong, "Algorithm SM2PKE and key spec SM2 cannot encrypt data larger than 1024 bytes."},
		{nil, ErrMessageLength, "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"},
	} {
		if _, err := pub.Encrypt("SM2PKE", tc.pt); !errors.Is(err, tc.want) || err.Error() != tc.wantMsg {
			t.Errorf("Encrypt(SM2, %d bytes) = %v, want %v %q", len(tc.pt), err, tc.want, tc.wantMsg)
		}
	}

	pt := []byte("tamper with me")
	ct, _ := pub.Encrypt("SM2PKE", pt)
	var c struct {
		X, Y     *big.Int
		Hash, CT []byte
	}
	asn1.Unmarshal(ct, &c)
	reencode := func(f func()) []byte {
		saved := c
		saved.Hash, saved.CT = bytes.Clone(c.Hash), bytes.Clone(c.CT)
		f()
		b, _ := asn1.Marshal(c)
		c = saved
		return b
	}
	plainForm, err := sm2.ASN1Ciphertext2Plain(ct, nil) // 04 || x || y || C3 || C2
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ParsePrivateKey(SM2, sm2KeyFromScalar(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"))
	cases := map[string][]byte{
		"x+1":                  reencode(func() { c.X = new(big.Int).Add(c.X, big.NewInt(1)) }),
		"y negated":            reencode(func() { c.Y = new(big.Int).Sub(sm2RefCurve.P, c.Y) }),
		"hash changed":         reencode(func() { c.Hash[0] ^= 1 }),
		"hash truncated":       reencode(func() { c.Hash = c.Hash[:31] }),
		"ciphertext changed":   reencode(func() { c.CT[len(c.CT)-1] ^= 1 }),
		"ciphertext truncated": reencode(func() { c.CT = c.CT[:len(c.CT)-1] }),
		"ciphertext empty":     reencode(func() { c.CT = nil }),
		"C1 = G":               reencode(func() { c.X, c.Y = sm2RefCurve.Gx, sm2RefCurve.Gy }),
		"C1 off the curve":     reencode(func() { c.Y = new(big.Int).Add(c.Y, big.NewInt(1)) }),
		"trailing byte":        append(bytes.Clone(ct), 0),
		"truncated":            ct[:len(ct)-1],
		"plain C1C3C2 form":    plainForm,
		"empty":                nil,
		"junk":                 bytes.Repeat([]byte{0x30}, 120),
	}
	for name, bad := range cases {
		if _, err := k.Decrypt("SM2PKE", bad); err != ErrDecrypt {
			t.Errorf("Decrypt(SM2, %s) = %v, want exactly ErrDecrypt", name, err)
		}
	}
	if _, err := other.Decrypt("SM2PKE", ct); err != ErrDecrypt {
		t.Errorf("Decrypt(SM2 with another key) = %v, want exactly ErrDecrypt", err)
	}

	for _, tc := range []struct {
		spec Spec
		alg  string
	}{{SM2, "RSAES_OAEP_SHA_256"}, {SM2, "SYMMETRIC_DEFAULT"}, {RSA2048, "SM2PKE"}, {ECCNISTP256, "SM2PKE"}} {
		key := testKey(t, tc.spec)
		spki, _ := Public(tc.spec, key)
		if _, err := Encrypt(tc.spec, spki, tc.alg, []byte("x")); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Encrypt(%s, %s) = %v, want ErrInvalidAlgorithm", tc.spec, tc.alg, err)
		}
		if _, err := Decrypt(tc.spec, key, tc.alg, ct); !errors.Is(err, ErrInvalidAlgorithm) {
			t.Errorf("Decrypt(%s, %s) = %v, want ErrInvalidAlgorithm", tc.spec, tc.alg, err)
		}
	}
}

func TestSM2DeriveSharedSecret(t *testing.T) {
	a := testPrivate(t, SM2)
	bDER, _ := Generate(SM2)
	b, err := ParsePrivateKey(SM2, bDER)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := a.DeriveSharedSecret("ECDH", b.Public().Bytes())
	if err != nil {
		t.Fatalf("DeriveSharedSecret(SM2) = %v", err)
	}
	ba, err := DeriveSharedSecret(SM2, bDER, "ECDH", a.Public().Bytes())
	if err != nil || !bytes.Equal(ab, ba) || len(ab) != 32 {
		t.Errorf("DeriveSharedSecret(SM2) is not symmetric: %x, %x (%v)", ab, ba, err)
	}
	// The x-coordinate of d_A·Q_B, by crypto/elliptic's generic arithmetic.
	qb := b.Public().Bytes()
	qx, qy := new(big.Int).SetBytes(qb[len(qb)-64:len(qb)-32]), new(big.Int).SetBytes(qb[len(qb)-32:])
	d := a.key.(*sm2.PrivateKey).D
	x, _ := sm2RefCurve.ScalarMult(qx, qy, d.Bytes())
	if want := x.FillBytes(make([]byte, 32)); !bytes.Equal(ab, want) {
		t.Errorf("DeriveSharedSecret(SM2) = %x, want x(d·Q) = %x", ab, want)
	}

	ok := a.Public().Bytes()
	prefix := ok[:len(ok)-65]
	offCurve := append(bytes.Clone(prefix), 4)
	offCurve = append(offCurve, sm2RefCurve.Gx.FillBytes(make([]byte, 32))...)
	offCurve = append(offCurve, sm2RefCurve.Gy.FillBytes(make([]byte, 32))...)
	offCurve[len(offCurve)-1] ^= 1
	infinity, _ := asn1.Marshal(spkiASN1{Algorithm: namedCurve(oidSM2), PublicKey: asn1.BitString{Bytes: []byte{0}, BitLength: 8}})
	comp := append(bytes.Clone(prefix[:len(prefix)-3]), 0x03, 0x22, 0x00, 0x02|ok[len(ok)-1]&1)
	comp[1] -= 32
	comp = append(comp, ok[len(ok)-64:len(ok)-32]...)
	// A P-256 point with the SM2 OID: well formed, but not on the SM2 curve.
	p256 := testPrivate(t, ECCNISTP256).Public().Bytes()
	p256AsSM2 := append(bytes.Clone(prefix), p256[len(p256)-65:]...)
	for name, peer := range map[string][]byte{
		"off-curve point":    offCurve,
		"point at infinity":  infinity,
		"compressed point":   comp,
		"P-256 point as SM2": p256AsSM2,
		"P-256 peer":         p256,
		"secp256k1 peer":     testPrivate(t, ECCSECGP256K1).Public().Bytes(),
		"RSA peer":           testPrivate(t, RSA2048).Public().Bytes(),
		"Ed25519 peer":       testPrivate(t, ECCNISTEdwards25519).Public().Bytes(),
		"garbage":            []byte("not a key"),
		"empty":              nil,
		"trailing data":      append(bytes.Clone(ok), 0),
	} {
		if _, err := a.DeriveSharedSecret("ECDH", peer); !errors.Is(err, ErrInvalidPeerKey) {
			t.Errorf("DeriveSharedSecret(SM2, %s) = %v, want ErrInvalidPeerKey", name, err)
		}
	}
	// And the NIST path refuses an SM2 peer.
	if _, err := testPrivate(t, ECCNISTP256).DeriveSharedSecret("ECDH", ok); !errors.Is(err, ErrInvalidPeerKey) {
		t.Errorf("DeriveSharedSecret(P-256, SM2 peer) = %v, want ErrInvalidPeerKey", err)
	}
	if _, err := a.DeriveSharedSecret("ECDHE", ok); !errors.Is(err, ErrInvalidAlgorithm) {
		t.Errorf("DeriveSharedSecret(SM2, ECDHE) = %v, want ErrInvalidAlgorithm", err)
	}
}

// gmsm v0.44.1 returns a ciphertext that never decrypts whenever it has to
// pick a second ephemeral scalar, which for a 1-byte message is one time
// in 256 (see encryptSM2). 3,000 one-byte round trips all hit the first
// scalar with probability (255/256)^3000, about 1e-5: the test all but
// always sees the bug if it is back, and never fails without it.
func TestSM2EncryptSecondScalar(t *testing.T) {
	pub := testPrivate(t, SM2).Public().Bytes()
	priv := testKey(t, SM2)
	for i := range 3000 {
		pt := []byte{byte(i)}
		ct, err := Encrypt(SM2, pub, "SM2PKE", pt)
		if err != nil {
			t.Fatalf("Encrypt(SM2, 1 byte) = %v", err)
		}
		if got, err := Decrypt(SM2, priv, "SM2PKE", ct); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip %d: Decrypt(Encrypt(SM2, %x)) = %x, %v", i, pt, got, err)
		}
	}
}
