package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// See doc.go for the on-disk format these functions implement.

const (
	logPrefix    = "audit-"
	logSuffix    = ".log"
	digestPrefix = "digest-"
	digestSuffix = ".json"
	tmpSuffix    = ".tmp"
	nameTime     = "20060102T150405Z"
	lockName     = "LOCK"
	idName       = "LOG-ID" // the log's identity until its first digest carries it

	linePrefix = `{"seq":`
	linePrev   = `,"prevHash":"`
	lineHash   = `","hash":"`
	lineEvent  = `","event":`
)

// recordHash is the chain hash of one record:
// SHA-256(prevHash || uint64be(seq) || event bytes exactly as written).
// Binding seq means a record moved to another position fails even before
// its neighbours are looked at.
func recordHash(h hash.Hash, prev *[32]byte, seq uint64, event []byte) (sum [32]byte) {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	h.Reset()
	h.Write(prev[:])
	h.Write(s[:])
	h.Write(event)
	h.Sum(sum[:0])
	return sum
}

// appendLine appends the envelope line for one record, newline included.
func appendLine(b []byte, seq uint64, prev, sum *[32]byte, event []byte) []byte {
	b = append(b, linePrefix...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, linePrev...)
	b = hex.AppendEncode(b, prev[:])
	b = append(b, lineHash...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, lineEvent...)
	b = append(b, event...)
	return append(b, '}', '\n')
}

// lineOverhead is the size of an envelope line less its event and seq digits.
const lineOverhead = len(linePrefix) + len(linePrev) + 64 + len(lineHash) + 64 + len(lineEvent) + 2

// record is one parsed envelope line. Event aliases the line.
type record struct {
	Seq   uint64
	Prev  [32]byte
	Hash  [32]byte
	Event []byte
}

var errMalformed = errors.New("malformed record")

// parseLine parses one envelope line without its newline. It accepts exactly
// the bytes appendLine writes (lower-case hex, no leading zeros, no spaces)
// and does not look inside the event beyond its braces.
func parseLine(line []byte) (r record, err error) {
	s := line
	if len(s) < lineOverhead || string(s[:len(linePrefix)]) != linePrefix {
		return r, errMalformed
	}
	s = s[len(linePrefix):]
	i := 0
	for i < len(s) && i < 20 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || (s[0] == '0' && i > 1) {
		return r, errMalformed
	}
	if r.Seq, err = strconv.ParseUint(string(s[:i]), 10, 64); err != nil {
		return r, errMalformed
	}
	s = s[i:]
	if s, err = parseHashField(s, linePrev, &r.Prev); err != nil {
		return r, err
	}
	if s, err = parseHashField(s, lineHash, &r.Hash); err != nil {
		return r, err
	}
	if len(s) < len(lineEvent)+3 || string(s[:len(lineEvent)]) != lineEvent {
		return r, errMalformed
	}
	s = s[len(lineEvent):]
	if s[0] != '{' || s[len(s)-1] != '}' || s[len(s)-2] != '}' {
		return r, errMalformed
	}
	r.Event = s[:len(s)-1]
	return r, nil
}

func parseHashField(s []byte, prefix string, dst *[32]byte) ([]byte, error) {
	if len(s) < len(prefix)+64 || string(s[:len(prefix)]) != prefix {
		return s, errMalformed
	}
	s = s[len(prefix):]
	// One table lookup a digit, refusing upper case: every record read
	// passes here twice (Query, QueryBackward, Verify, recovery), and
	// checking and then decoding took a fifth of a sparse query's time.
	for i := range dst {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		if hi|lo > 0xf {
			return s, errMalformed
		}
		dst[i] = hi<<4 | lo
	}
	return s[64:], nil
}

// hexValue maps a lower-case hex digit to its value, anything else to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	return t
}()

func logName(firstSeq uint64, t time.Time) string {
	return fmt.Sprintf("%s%020d-%s%s", logPrefix, firstSeq, t.UTC().Format(nameTime), logSuffix)
}

func digestName(seq uint64, t time.Time) string {
	return fmt.Sprintf("%s%020d-%s%s", digestPrefix, seq, t.UTC().Format(nameTime), digestSuffix)
}

// parseName parses a log or digest file name into its sequence number and
// time. ok is false for any other name.
func parseName(name, prefix, suffix string) (seq uint64, t time.Time, ok bool) {
	s, found := strings.CutPrefix(name, prefix)
	if !found {
		return 0, t, false
	}
	if s, found = strings.CutSuffix(s, suffix); !found {
		return 0, t, false
	}
	num, ts, found := strings.Cut(s, "-")
	if !found || len(num) != 20 {
		return 0, t, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, t, false
	}
	t, err = time.Parse(nameTime, ts)
	if err != nil {
		return 0, t, false
	}
	return seq, t, true
}

type hexHash [32]byte

func (h hexHash) String() string { return hex.EncodeToString(h[:]) }

func (h hexHash) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, h[:]), nil }

func (h *hexHash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return errors.New("audit: hash is not 64 hex digits")
	}
	_, err := hex.Decode(h[:], b)
	return err
}

func sha256Sum(b []byte) hexHash { return sha256.Sum256(b) }
