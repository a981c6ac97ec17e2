package keyspec

import (
	"crypto/sha3"
	"crypto/subtle"

	"filippo.io/mldsa"
)

// ML-DSA verification from an external μ (FIPS 204, Algorithm 8
// ML-DSA.Verify_internal, with μ supplied instead of computed at line 7).
//
// filippo.io/mldsa signs from an external μ but its public API verifies only
// messages, and AWS KMS Verify accepts MessageType EXTERNAL_MU. Verification
// handles only public data, so this plain implementation needs no constant
// time arithmetic; it favours clarity over speed. Tests check it against
// filippo.io/mldsa's verifier on valid and corrupted signatures.

const (
	mlq = 8380417 // q = 2^23 - 2^13 + 1
	mln = 256
	mld = 13
)

type mldsaSet struct {
	k, l     int
	tau      int
	beta     int32
	gamma1   int32 // 2^17 or 2^19
	g1bits   int   // 18 or 20: bits per encoded z coefficient
	gamma2   int32 // (q-1)/88 or (q-1)/32
	w1bits   int   // 6 or 4: bits per encoded w1 coefficient
	omega    int
	lambdaB  int // λ/4: bytes of the commitment hash c~
	sigBytes int
}

func mldsaSetFor(p mldsa.Parameters) mldsaSet {
	switch p {
	case mldsa.MLDSA44():
		return mldsaSet{k: 4, l: 4, tau: 39, beta: 78, gamma1: 1 << 17, g1bits: 18, gamma2: (mlq - 1) / 88, w1bits: 6, omega: 80, lambdaB: 32, sigBytes: mldsa.MLDSA44SignatureSize}
	case mldsa.MLDSA65():
		return mldsaSet{k: 6, l: 5, tau: 49, beta: 196, gamma1: 1 << 19, g1bits: 20, gamma2: (mlq - 1) / 32, w1bits: 4, omega: 55, lambdaB: 48, sigBytes: mldsa.MLDSA65SignatureSize}
	default:
		return mldsaSet{k: 8, l: 7, tau: 60, beta: 120, gamma1: 1 << 19, g1bits: 20, gamma2: (mlq - 1) / 32, w1bits: 4, omega: 75, lambdaB: 64, sigBytes: mldsa.MLDSA87SignatureSize}
	}
}

type poly [mln]uint32 // coefficients in [0, q)

// zetas[i] = ζ^brv8(i) mod q with ζ = 1753, the 512th root of unity of
// FIPS 204 (Appendix B).
var zetas = func() (z [mln]uint32) {
	for i := range z {
		br := 0
		for b := 0; b < 8; b++ {
			br |= (i >> b & 1) << (7 - b)
		}
		z[i] = powq(1753, br)
	}
	return z
}()

func powq(x uint32, e int) uint32 {
	r := uint64(1)
	b := uint64(x)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = r * b % mlq
		}
		b = b * b % mlq
	}
	return uint32(r)
}

func mulq(a, b uint32) uint32 { return uint32(uint64(a) * uint64(b) % mlq) }
func addq(a, b uint32) uint32 { return (a + b) % mlq }
func subq(a, b uint32) uint32 { return (a + mlq - b) % mlq }

// ntt is FIPS 204 Algorithm 41.
func (w *poly) ntt() {
	m := 0
	for ln := 128; ln >= 1; ln /= 2 {
		for start := 0; start < mln; start += 2 * ln {
			m++
			z := zetas[m]
			for j := start; j < start+ln; j++ {
				t := mulq(z, w[j+ln])
				w[j+ln] = subq(w[j], t)
				w[j] = addq(w[j], t)
			}
		}
	}
}

// invNTT is FIPS 204 Algorithm 42.
func (w *poly) invNTT() {
	m := mln
	for ln := 1; ln < mln; ln *= 2 {
		for start := 0; start < mln; start += 2 * ln {
			m--
			z := mlq - zetas[m]
			for j := start; j < start+ln; j++ {
				t := w[j]
				w[j] = addq(t, w[j+ln])
				w[j+ln] = mulq(z, subq(t, w[j+ln]))
			}
		}
	}
	for j := range w {
		w[j] = mulq(8347681, w[j]) // 256^-1 mod q
	}
}

// bitReader reads little-endian bit fields, as FIPS 204 BitUnpack does.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) read(bits int) uint32 {
	var v uint32
	for i := 0; i < bits; i++ {
		bit := r.b[(r.pos+i)/8] >> ((r.pos + i) % 8) & 1
		v |= uint32(bit) << i
	}
	r.pos += bits
	return v
}

type bitWriter struct {
	b   []byte
	pos int
}

func (w *bitWriter) write(v uint32, bits int) {
	for i := 0; i < bits; i++ {
		w.b[(w.pos+i)/8] |= byte(v>>i&1) << ((w.pos + i) % 8)
	}
	w.pos += bits
}

// rejNTTPoly is FIPS 204 Algorithm 30: a uniform polynomial in NTT form from
// SHAKE128(seed).
func rejNTTPoly(seed []byte) (a poly) {
	h := sha3.NewSHAKE128()
	h.Write(seed)
	var buf [3]byte
	for j := 0; j < mln; {
		h.Read(buf[:])
		c := uint32(buf[0]) | uint32(buf[1])<<8 | uint32(buf[2]&0x7f)<<16
		if c < mlq {
			a[j] = c
			j++
		}
	}
	return a
}

// sampleInBall is FIPS 204 Algorithm 29.
func sampleInBall(ctilde []byte, tau int) (c poly) {
	h := sha3.NewSHAKE256()
	h.Write(ctilde)
	var s [8]byte
	h.Read(s[:])
	signs := uint64(0)
	for i := 0; i < 8; i++ {
		signs |= uint64(s[i]) << (8 * i)
	}
	var jb [1]byte
	for i := mln - tau; i < mln; i++ {
		for {
			h.Read(jb[:])
			if int(jb[0]) <= i {
				break
			}
		}
		j := int(jb[0])
		c[i] = c[j]
		if signs>>(i+tau-mln)&1 == 1 {
			c[j] = mlq - 1
		} else {
			c[j] = 1
		}
	}
	return c
}

// decompose is FIPS 204 Algorithm 36; it returns r1 only, which is all
// useHint needs besides the sign of r0.
func decompose(r uint32, gamma2 int32) (r1 int32, r0 int32) {
	rp := int32(r)
	r0 = rp % (2 * gamma2)
	if r0 > gamma2 {
		r0 -= 2 * gamma2
	}
	if rp-r0 == mlq-1 {
		return 0, r0 - 1
	}
	return (rp - r0) / (2 * gamma2), r0
}

// useHint is FIPS 204 Algorithm 40.
func useHint(h bool, r uint32, gamma2 int32) uint32 {
	m := (mlq - 1) / (2 * gamma2)
	r1, r0 := decompose(r, gamma2)
	if !h {
		return uint32(r1)
	}
	if r0 > 0 {
		return uint32((r1 + 1) % m)
	}
	return uint32((r1 - 1 + m) % m)
}

// verifyMLDSAMu reports whether sig is a valid ML-DSA signature of the
// message representative mu under pk.
func verifyMLDSAMu(pk *mldsa.PublicKey, mu, sig []byte) bool {
	p := mldsaSetFor(pk.Parameters())
	if len(mu) != 64 || len(sig) != p.sigBytes {
		return false
	}
	pkb := pk.Bytes()
	rho := pkb[:32]

	// pkDecode (Algorithm 23): t1 as 10-bit coefficients.
	t1 := make([]poly, p.k)
	br := bitReader{b: pkb[32:]}
	for i := range t1 {
		for j := range t1[i] {
			t1[i][j] = br.read(10)
		}
	}

	// sigDecode (Algorithm 27): c~, z (coefficients γ1 - z in g1bits), h.
	ctilde := sig[:p.lambdaB]
	z := make([]poly, p.l)
	br = bitReader{b: sig[p.lambdaB:]}
	for i := range z {
		for j := range z[i] {
			v := p.gamma1 - int32(br.read(p.g1bits)) // in [-γ1+1, γ1]
			// ||z||∞ < γ1 - β (Algorithm 8, line 13).
			if v >= p.gamma1-p.beta || v <= -(p.gamma1-p.beta) {
				return false
			}
			z[i][j] = uint32((v + mlq) % mlq)
		}
	}
	hints, ok := hintBitUnpack(sig[p.lambdaB+p.l*32*p.g1bits:], p.k, p.omega)
	if !ok {
		return false
	}

	c := sampleInBall(ctilde, p.tau)
	c.ntt()
	for i := range z {
		z[i].ntt()
	}
	w1 := make([]byte, p.k*32*p.w1bits)
	bw := bitWriter{b: w1}
	seed := make([]byte, 34)
	copy(seed, rho)
	for r := 0; r < p.k; r++ {
		// w'_approx[r] = NTT^-1( Σ_s Â[r][s]∘NTT(z[s]) − NTT(c)∘NTT(t1[r]·2^d) )
		var acc poly
		for s := 0; s < p.l; s++ {
			seed[32], seed[33] = byte(s), byte(r) // ExpandA (Algorithm 32): ρ || s || r
			a := rejNTTPoly(seed)
			for j := range acc {
				acc[j] = addq(acc[j], mulq(a[j], z[s][j]))
			}
		}
		var t poly
		for j := range t {
			t[j] = t1[r][j] << mld
		}
		t.ntt()
		for j := range acc {
			acc[j] = subq(acc[j], mulq(c[j], t[j]))
		}
		acc.invNTT()
		for j := range acc {
			bw.write(useHint(hints[r][j], acc[j], p.gamma2), p.w1bits)
		}
	}

	// c~' = H(μ || w1Encode(w'1), λ/4) must equal c~.
	h := sha3.NewSHAKE256()
	h.Write(mu)
	h.Write(w1)
	got := make([]byte, p.lambdaB)
	h.Read(got)
	return subtle.ConstantTimeCompare(got, ctilde) == 1
}

// hintBitUnpack is FIPS 204 Algorithm 21, with its malformed-input checks.
func hintBitUnpack(y []byte, k, omega int) ([][mln]bool, bool) {
	if len(y) != omega+k {
		return nil, false
	}
	h := make([][mln]bool, k)
	index := 0
	for i := 0; i < k; i++ {
		end := int(y[omega+i])
		if end < index || end > omega {
			return nil, false
		}
		first := index
		for index < end {
			if index > first && y[index-1] >= y[index] {
				return nil, false
			}
			h[i][y[index]] = true
			index++
		}
	}
	for i := index; i < omega; i++ {
		if y[i] != 0 {
			return nil, false
		}
	}
	return h, true
}

// mldsaMu computes μ = H(H(pk, 64) || 0 || 0 || message, 64), the message
// representative of pure ML-DSA with an empty context (FIPS 204, Algorithms
// 2 and 7).
func mldsaMu(pk, message []byte) []byte {
	tr := sha3.SumSHAKE256(pk, 64)
	h := sha3.NewSHAKE256()
	h.Write(tr)
	h.Write([]byte{0, 0})
	h.Write(message)
	mu := make([]byte, 64)
	h.Read(mu)
	return mu
}
