package server

// The audit trail: its configuration, its signing key, and opening and
// closing the log around the server's life.

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/awsapi"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/kms"
	"github.com/keyward/keyward/internal/store"
)

// File and store names of the audit trail.
const (
	auditDirName      = "audit"
	auditPublicKey    = "audit-signing-key.pub.pem" // in the data directory
	auditKeyStoreName = "server/audit-signing-key"
)

// auditKeyAAD binds the wrapped signing key to its purpose: a wrapped key
// material or access key secret moved to this record does not unwrap.
var auditKeyAAD = []byte("keyward/audit-signing-key/v1")

// AuditPublicKeyFile is where the server writes the public half of the
// audit signing key, for verifiers.
func AuditPublicKeyFile(dataDir string) string { return filepath.Join(dataDir, auditPublicKey) }

// DefaultAuditDir is the audit directory when --audit-dir is not set.
func DefaultAuditDir(dataDir string) string { return filepath.Join(dataDir, auditDirName) }

// auditDir is the audit directory this configuration selects.
func (c *Config) auditDir() string {
	if c.AuditDir != "" {
		return c.AuditDir
	}
	return DefaultAuditDir(c.DataDir)
}

// serverAudit is the Server's audit state.
type serverAudit struct {
	log   *audit.Log
	api   *awsapi.Handler
	usage *awsapi.UsageIndex
	root  keystore.Wrapper // seals the usage index snapshot

	saverStop context.CancelFunc // stops the periodic saves of the usage index and the audit mark
	saverDone chan struct{}
}

// The GetKeyLastUsage index is saved in the store every
// --audit-usage-save-interval while records come in, and at shutdown,
// wrapped under the root key (so that it can be neither read nor forged
// without it). The next start reads only the records logged after the
// last save: after a crash, at most one interval's worth.
const DefaultAuditUsageSaveInterval = time.Minute

var (
	usageStoreName = "server/usage-index"
	usageAAD       = []byte("keyward/usage-index/v1")
)

// The audit mark: the trail's log ID, its last durable record and that
// record's chain hash, saved in the store, wrapped under the root key, when
// the log opens and every auditMarkInterval while records come in. The next
// start refuses an audit directory that ends before the mark (records were
// cut), whose records up to it were rewritten, or that holds another trail
// or none (it was removed or replaced): see audit.Options.Durable.
// The GetKeyLastUsage index carries a mark too, but is saved only every
// minute; a second bounds what can be cut from the trail's end unnoticed
// after a crash.
const auditMarkInterval = time.Second

var (
	auditMarkStoreName = "server/audit-mark"
	auditMarkAAD       = []byte("keyward/audit-mark/v1")
)

// auditMark is the stored form of an audit.Mark.
type auditMark struct {
	LogID string `json:"logId"`
	Seq   uint64 `json:"seq"`
	Hash  string `json:"hash"` // hex
}

// loadAuditMark returns the saved audit mark: the zero Mark for the first
// one, saved with the audit signing key before any trail existed, and
// store.ErrNotFound if there is none. One that does not unwrap or parse is
// an error: the store was damaged or tampered with, and starting anyway
// would drop the check the mark exists for, unless the operator says so
// (--audit-new-trail).
func loadAuditMark(ctx context.Context, st store.Store, root keystore.Wrapper) (audit.Mark, error) {
	b, err := getWrapped(ctx, st, root, auditMarkStoreName, auditMarkAAD)
	if errors.Is(err, store.ErrNotFound) {
		return audit.Mark{}, err
	} else if err != nil {
		return audit.Mark{}, fmt.Errorf("the audit mark in the store: %w", err)
	}
	var m auditMark
	var mark audit.Mark
	bad := errors.New("the audit mark in the store does not parse")
	// A mark without a hash (none was known) checks the number only; the
	// first mark names no log and no record.
	if err := json.Unmarshal(b, &m); err != nil || (m.LogID == "" && (m.Seq != 0 || m.Hash != "")) || (m.Hash != "" && len(m.Hash) != hex.EncodedLen(len(mark.Hash))) {
		return audit.Mark{}, bad
	}
	if _, err := hex.Decode(mark.Hash[:], []byte(m.Hash)); err != nil {
		return audit.Mark{}, bad
	}
	mark.LogID, mark.Seq = m.LogID, m.Seq
	return mark, nil
}

// saveAuditMark stores l's last durable record as the audit mark and
// returns its sequence number.
func (s *Server) saveAuditMark(ctx context.Context, l *audit.Log) (uint64, error) {
	m := l.Durable()
	b, err := json.Marshal(auditMark{LogID: m.LogID, Seq: m.Seq, Hash: hex.EncodeToString(m.Hash[:])})
	if err != nil {
		return 0, err
	}
	wrapped, err := s.aud.root.Wrap(b, auditMarkAAD)
	if err != nil {
		return 0, err
	}
	return m.Seq, s.store.Update(ctx, func(tx store.Tx) error { return tx.Put(auditMarkStoreName, wrapped) })
}

// DurableMark returns the last record the store st says the audit trail
// made durable, as the server checks its trail against at start: the later
// of the audit mark and the GetKeyLastUsage index's. The zero Mark means
// the store remembers none: no server has run on it, or its trail has no
// records yet. An error means the audit mark does not unwrap under root or
// does not parse, or that it was removed (errMarkRemoved).
func DurableMark(ctx context.Context, st store.Store, root keystore.Wrapper) (audit.Mark, error) {
	var hasKey bool
	err := st.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(auditKeyStoreName)
		hasKey = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return audit.Mark{}, err
	} else if !hasKey {
		return audit.Mark{}, keyRemoved(ctx, st, root)
	}
	return storedMark(ctx, st, root, loadUsageSnapshot(ctx, st, root))
}

// errMarkRemoved: the store holds the audit signing key, and with it, from
// the moment it was made, an audit mark; a store that holds the key but
// neither the mark nor the GetKeyLastUsage index (which marks the trail too
// and which servers from before the audit mark saved) had them deleted,
// which would let the trail be removed or cut without the next start
// noticing.
var errMarkRemoved = errors.New("the store holds the audit signing key but neither the audit mark nor the GetKeyLastUsage index: they were removed from it")

// storedMark returns what a store that holds the audit signing key says the
// trail made durable: the later of the audit mark and the usage index's
// (snapshot, which may be nil).
func storedMark(ctx context.Context, st store.Store, root keystore.Wrapper, snapshot []byte) (audit.Mark, error) {
	mark, err := loadAuditMark(ctx, st, root)
	switch {
	case errors.Is(err, store.ErrNotFound) && snapshot == nil:
		return audit.Mark{}, errMarkRemoved
	case errors.Is(err, store.ErrNotFound):
		// A store from before the audit mark: the usage index serves.
	case err != nil:
		return audit.Mark{}, err
	}
	return newestMark(mark, awsapi.SnapshotMark(snapshot)), nil
}

// newestMark returns the later of two marks: the audit mark, saved more
// often, unless the usage index's names the same log further on.
func newestMark(mark, usage audit.Mark) audit.Mark {
	if mark.LogID == "" || (usage.LogID == mark.LogID && usage.Seq > mark.Seq) {
		return usage
	}
	return mark
}

func (c *Config) bindAuditFlags(fs *flag.FlagSet, getenv func(string) string) {
	setErr := func(err error) {
		if c.envErr == nil {
			c.envErr = err
		}
	}
	fs.StringVar(&c.AuditDir, "audit-dir", getenv("KEYWARD_AUDIT_DIR"), "directory of the audit log (KEYWARD_AUDIT_DIR; default <data-dir>/audit)")
	// envFlag registers v as --name, set first from the environment
	// variable env; a bad value there stops start-up with a line naming env.
	envFlag := func(v flag.Value, name, env, want, usage string) {
		if s := getenv(env); s != "" {
			if err := v.Set(s); err != nil {
				setErr(fmt.Errorf("%s: %q is not %s", env, s, want))
			}
		}
		fs.Var(v, name, usage+" ("+env+")")
	}
	envFlag((*daysValue)(&c.AuditRetention), "audit-retention", "KEYWARD_AUDIT_RETENTION", "a duration such as 90d or 2160h",
		"delete signed audit files older than this, e.g. 90d; 0 keeps everything")
	envFlag((*sizeValue)(&c.AuditMaxFileSize), "audit-max-file-size", "KEYWARD_AUDIT_MAX_FILE_SIZE", "a size such as 64MiB",
		"start a new audit file before one exceeds this size, e.g. 64MiB")
	envFlag((*durationValue)(&c.AuditMaxFileAge), "audit-max-file-age", "KEYWARD_AUDIT_MAX_FILE_AGE", "a duration such as 1h",
		"start a new audit file once one is this old; 0 is 1h")
	envFlag((*durationValue)(&c.AuditDigestInterval), "audit-digest-interval", "KEYWARD_AUDIT_DIGEST_INTERVAL", "a duration such as 1h",
		"write a signed audit digest this often; 0 is 1h")
	envFlag((*durationValue)(&c.AuditUsageSaveInterval), "audit-usage-save-interval", "KEYWARD_AUDIT_USAGE_SAVE_INTERVAL", "a duration such as 1m",
		"save the GetKeyLastUsage index this often, bounding what a start after a crash re-reads; 0 is 1m")
	fs.BoolVar(&c.AuditNewTrail, "audit-new-trail", false,
		"start a new audit trail if the audit directory no longer holds the one this server wrote (after moving a damaged trail aside), or go on without an audit mark or signing key removed from the store, or with digests the signing key does not verify (deleting and cutting nothing on their word); without it such a start is refused")
	fs.BoolVar(&c.InsecureBenchmarkAuditNoFsync, "insecure-benchmark-audit-no-fsync", false,
		"BENCHMARKS ONLY: answer requests before their audit records are on disk, so a crash loses acknowledged records")
}

func (c *Config) validateAudit() error {
	switch {
	case c.AuditRetention < 0:
		return fmt.Errorf("--audit-retention: %v is negative", c.AuditRetention)
	case c.AuditRetention > 0 && c.AuditRetention < time.Hour:
		return fmt.Errorf("--audit-retention: %v is shorter than an hour", c.AuditRetention)
	case c.AuditMaxFileSize < 0 || (c.AuditMaxFileSize > 0 && c.AuditMaxFileSize < 64<<10):
		return fmt.Errorf("--audit-max-file-size: %d bytes is less than 64KiB", c.AuditMaxFileSize)
	case c.AuditMaxFileAge < 0 || (c.AuditMaxFileAge > 0 && c.AuditMaxFileAge < time.Second):
		return fmt.Errorf("--audit-max-file-age: %v is shorter than a second", c.AuditMaxFileAge)
	case c.AuditDigestInterval < 0 || (c.AuditDigestInterval > 0 && c.AuditDigestInterval < time.Second):
		return fmt.Errorf("--audit-digest-interval: %v is shorter than a second", c.AuditDigestInterval)
	case c.AuditUsageSaveInterval < 0 || (c.AuditUsageSaveInterval > 0 && c.AuditUsageSaveInterval < time.Second):
		return fmt.Errorf("--audit-usage-save-interval: %v is shorter than a second", c.AuditUsageSaveInterval)
	}
	return nil
}

// parseDays is time.ParseDuration that also takes whole days ("90d").
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return 0, err
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// durationValue is a time.Duration flag (flag.DurationVar's type is not
// exported).
type durationValue time.Duration

func (d *durationValue) String() string {
	if d == nil {
		return "0s"
	}
	return time.Duration(*d).String()
}

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

type daysValue time.Duration

func (d *daysValue) String() string {
	if d == nil || *d == 0 {
		return "0"
	}
	if time.Duration(*d)%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(time.Duration(*d)/(24*time.Hour)), 10) + "d"
	}
	return time.Duration(*d).String()
}

func (d *daysValue) Set(s string) error {
	v, err := parseDays(s)
	if err != nil {
		return errors.New("not a duration such as 90d or 2160h")
	}
	*d = daysValue(v)
	return nil
}

// parseSize reads a byte count: a number, optionally followed by KiB, MiB
// or GiB.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, errors.New("not a size such as 64MiB")
	}
	return n * mult, nil
}

type sizeValue int64

func (v *sizeValue) String() string {
	if v == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v), 10)
}

func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}

// openAudit opens the audit log with the server's signing key and loads
// the GetKeyLastUsage index from it. The usage index must exist already
// (kms.New holds it).
func (s *Server) openAudit(ctx context.Context, st store.Store, root keystore.Wrapper) (*audit.Log, error) {
	signer, err := loadAuditKey(ctx, st, root)
	// With --audit-new-trail a removed key is replaced. The new key is
	// stored just before the trail opens, because Open may sign at once
	// (the digest after a crash) and nothing may be signed by a key the
	// store does not hold; if Open refuses, the key is taken back, so that
	// a start still refused leaves the store as it was.
	var newKey ed25519.PrivateKey
	if errors.Is(err, errKeyRemoved) && s.cfg.AuditNewTrail {
		if _, newKey, err = ed25519.GenerateKey(rand.Reader); err == nil {
			signer = newKey
		}
	}
	if errors.Is(err, errKeyRemoved) {
		return nil, fmt.Errorf("%w; the trail's digests cannot be checked: restore the store, or start once with --audit-new-trail to make a new key", err)
	} else if err != nil {
		return nil, err
	}
	if newKey == nil {
		if err := writePublicKey(AuditPublicKeyFile(s.cfg.DataDir), signer.Public()); err != nil {
			return nil, err
		}
	}
	dir := s.cfg.auditDir()
	if s.cfg.InsecureBenchmarkAuditNoFsync {
		s.log.Warn("INSECURE: --insecure-benchmark-audit-no-fsync is set: responses leave before their audit records are durable; use only to benchmark")
	}
	snapshot := loadUsageSnapshot(ctx, st, root)
	var durable audit.Mark
	if !s.cfg.InsecureBenchmarkAuditNoFsync {
		// Both marks name durable records only, so the trail must reach
		// the later one.
		mark, err := storedMark(ctx, st, root, snapshot)
		if err != nil && !s.cfg.AuditNewTrail {
			return nil, fmt.Errorf("%w; the trail cannot be checked against it: restore the store, or start once with --audit-new-trail to do without it", err)
		} else if err != nil {
			s.log.Warn("audit: the audit mark in the store is unusable; starting without it, as --audit-new-trail asks", "err", err)
			mark = awsapi.SnapshotMark(snapshot)
		}
		durable = mark
	}
	opts := audit.Options{
		MaxFileBytes:      s.cfg.AuditMaxFileSize,
		MaxFileAge:        s.cfg.AuditMaxFileAge,
		Retention:         s.cfg.AuditRetention,
		DigestInterval:    s.cfg.AuditDigestInterval,
		Signer:            signer,
		Durable:           durable,
		InsecureSkipFsync: s.cfg.InsecureBenchmarkAuditNoFsync,
	}
	// The new key goes in only now, after the store was read: storing it
	// may add the first audit mark, which must not hide a removed one.
	var addedMark bool
	if newKey != nil {
		if opts.Signer, addedMark, err = storeAuditKey(ctx, st, root, newKey); err != nil {
			return nil, err
		} else if !newKey.Equal(opts.Signer) {
			newKey = nil // the store held a key after all; it stays
			if err := writePublicKey(AuditPublicKeyFile(s.cfg.DataDir), opts.Signer.Public()); err != nil {
				return nil, err
			}
		}
	}
	// A key made just now has signed none of the trail: its digests are
	// taken as they are (the owner asked, with --audit-new-trail), and the
	// head is signed with the new key at once.
	opts.NewKey = newKey != nil
	l, err := audit.Open(dir, opts)
	if errors.Is(err, audit.ErrOtherTrail) && s.cfg.AuditNewTrail {
		s.log.Warn("audit: starting a new trail, as --audit-new-trail asks: the audit directory does not hold the trail this server wrote",
			"dir", dir, "previous_log_id", durable.LogID, "previous_last_durable_record", durable.Seq)
		opts.Durable = audit.Mark{}
		l, err = audit.Open(dir, opts)
	}
	if errors.Is(err, audit.ErrUnverified) && s.cfg.AuditNewTrail && !opts.NewKey {
		s.log.Warn("audit: going on, as --audit-new-trail asks, with a trail holding a digest the signing key does not vouch for (one that does not verify with the audit signing key, or that the newest does not link to); nothing is deleted or cut on the digests' word, and the head is signed again now",
			"dir", dir, "err", err)
		opts.NewKey = true
		l, err = audit.Open(dir, opts)
	}
	if err != nil && newKey != nil {
		if derr := takeBackAuditKey(ctx, st, addedMark); derr != nil {
			err = fmt.Errorf("%w (and taking back the new audit signing key failed: %w)", err, derr)
		}
	}
	switch {
	case errors.Is(err, audit.ErrUnverified):
		return nil, fmt.Errorf("--audit-dir %s: %w; check it with keyward audit verify and %s: if the digest was planted, keep it for investigation and move it aside; if the signing key was replaced, start once with --audit-new-trail to go on with the new key", dir, err, AuditPublicKeyFile(s.cfg.DataDir))
	case errors.Is(err, audit.ErrCorrupt):
		return nil, fmt.Errorf("--audit-dir %s: %w; keep it for investigation (keyward audit verify), move it aside, and start once with --audit-new-trail to begin a new trail", dir, err)
	case errors.Is(err, audit.ErrOtherTrail):
		return nil, fmt.Errorf("--audit-dir: %w; put the trail back, or, if it is lost, start once with --audit-new-trail to begin a new one", err)
	case err != nil:
		return nil, fmt.Errorf("--audit-dir: %w", err)
	}
	if newKey != nil {
		if err := writePublicKey(AuditPublicKeyFile(s.cfg.DataDir), newKey.Public()); err != nil {
			l.Close()
			return nil, err
		}
		s.log.Warn("audit: made a new audit signing key, as --audit-new-trail asks: the store remembers a trail but its signing key was gone; digests signed before do not verify with the new public key")
	}
	if r := l.Recovery(); r != nil {
		s.log.Warn("audit log recovered after an unclean shutdown: an unacknowledged torn record was cut off and recorded in a signed digest",
			"file", r.File, "offset", r.Offset, "bytes", r.Bytes, "records", r.Records)
	}
	s.aud.root = root
	if err := s.replayUnrecorded(ctx, l); err != nil {
		l.Close()
		return nil, err
	}
	if !s.cfg.InsecureBenchmarkAuditNoFsync {
		// A new trail's ID is remembered before any request is answered.
		if _, err := s.saveAuditMark(ctx, l); err != nil {
			l.Close()
			return nil, fmt.Errorf("audit: save the audit mark: %w", err)
		}
	}
	start := time.Now()
	read, err := s.aud.usage.Load(dir, l.ID(), snapshot, start)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("--audit-dir: read the trail for GetKeyLastUsage: %w", err)
	}
	s.log.Info("audit trail indexed for GetKeyLastUsage", "records_read", read, "dur", time.Since(start).Round(time.Millisecond))
	s.aud.log = l
	s.startSavers(l)
	return l, nil
}

// startSavers saves the usage index every AuditUsageSaveInterval, and the
// audit mark every auditMarkInterval, in which the trail grew, until
// closeAudit. A failed save is logged and tried again at the next tick:
// nothing is lost but start-up time, or a second of the mark's reach.
func (s *Server) startSavers(l *audit.Log) {
	every := s.cfg.AuditUsageSaveInterval
	if every == 0 {
		every = DefaultAuditUsageSaveInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.aud.saverStop, s.aud.saverDone = cancel, make(chan struct{})
	go func() {
		defer close(s.aud.saverDone)
		tick := time.NewTicker(every)
		defer tick.Stop()
		var markTick <-chan time.Time // nil: no mark without durable records
		if !s.cfg.InsecureBenchmarkAuditNoFsync {
			t := time.NewTicker(auditMarkInterval)
			defer t.Stop()
			markTick = t.C
		}
		saved := l.Durable().Seq
		marked := saved
		markFails := saveFailures{log: s.log, what: "the audit mark", retry: "every second"}
		indexFails := saveFailures{log: s.log, what: "the GetKeyLastUsage index", retry: "at each interval"}
		mark := func() {
			if markTick == nil || l.Durable().Seq == marked {
				return
			}
			seq, err := s.saveAuditMark(ctx, l)
			if err != nil {
				markFails.failed(err)
				return
			}
			markFails.saved()
			marked = seq
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-markTick:
				mark()
			case <-tick.C:
				if l.Durable().Seq == saved {
					continue
				}
				seq, err := s.saveUsageSnapshot(l)
				if err != nil {
					indexFails.failed(err)
					continue
				}
				indexFails.saved()
				saved = seq
				// The index's mark has no chain hash; a mark saved after
				// it stays the later one, so a start checks the hash.
				mark()
			}
		}
	}()
}

// saveFailures logs the failures of one periodic save without repeating
// itself: the first failure of a run, and then at most one a minute, as a
// WARN, and the end of the run, the next save that works, as an INFO with
// how many failed. A store that fails while records still flow (Encrypt
// with a cached key writes nothing to it) would otherwise log the audit
// mark's failure every second.
type saveFailures struct {
	log    *slog.Logger
	what   string // "the audit mark"
	retry  string // "every second"
	n      int    // failures in this run
	warned time.Time
}

// saveFailuresRepeat is how often a run of failures is logged again.
const saveFailuresRepeat = time.Minute

func (f *saveFailures) failed(err error) {
	f.n++
	if f.n == 1 || time.Since(f.warned) >= saveFailuresRepeat {
		f.warned = time.Now()
		f.log.Warn("could not save "+f.what+"; trying again "+f.retry, "err", err, "failed_saves", f.n)
	}
}

func (f *saveFailures) saved() {
	if f.n > 0 {
		f.log.Info("saved "+f.what+" again", "failed_saves", f.n)
		f.n = 0
	}
}

// loadUsageSnapshot returns the saved GetKeyLastUsage index, or nil if
// there is none or it does not unwrap (then Load reads the whole trail).
func loadUsageSnapshot(ctx context.Context, st store.Store, root keystore.Wrapper) []byte {
	snap, err := getWrapped(ctx, st, root, usageStoreName, usageAAD)
	if err != nil {
		return nil
	}
	return snap
}

// getWrapped reads the value name from the store and unwraps it with aad.
// A missing value is store.ErrNotFound.
func getWrapped(ctx context.Context, st store.Store, root keystore.Wrapper, name string, aad []byte) ([]byte, error) {
	var wrapped []byte
	err := st.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(name)
		wrapped = append([]byte(nil), b...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return root.Unwrap(wrapped, aad)
}

// saveUsageSnapshot stores the GetKeyLastUsage index and returns the last
// record it covers.
func (s *Server) saveUsageSnapshot(l *audit.Log) (uint64, error) {
	var seq uint64
	snap, err := s.aud.usage.Snapshot(l.ID(), func() uint64 { seq = l.Durable().Seq; return seq })
	if err != nil {
		return 0, err
	}
	wrapped, err := s.aud.root.Wrap(snap, usageAAD)
	if err != nil {
		return 0, err
	}
	return seq, s.store.Update(context.Background(), func(tx store.Tx) error { return tx.Put(usageStoreName, wrapped) })
}

// Records of requests that took effect while the audit log failed (a write
// error stops it; the requests already past their check then run to the
// end) are kept in the store, wrapped under the root key so that nobody
// holding the store alone can add records to the trail, and appended at the
// next start, before the server serves. See awsapi.AuditConfig.Unrecorded.
const unrecordedPrefix = "audit-unrecorded/"

var unrecordedAAD = []byte("keyward audit unrecorded record v1")

// keepUnrecorded keeps e, the record of a request that took effect, whose
// Append failed.
func (s *Server) keepUnrecorded(ctx context.Context, e *audit.Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	wrapped, err := s.aud.root.Wrap(b, unrecordedAAD)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s%020d-%s", unrecordedPrefix, time.Now().UnixNano(), e.EventID)
	return s.store.Update(ctx, func(tx store.Tx) error { return tx.Put(name, wrapped) })
}

// replayUnrecorded appends the records keepUnrecorded kept, oldest first,
// and forgets each once it is durable. A kept record that does not unwrap
// is left in the store and reported: it was not made by this server. One
// whose event is in the trail already (a crash between its append and its
// removal here, or a copy of it under another name) is forgotten without
// being appended again, so that no event is in the trail twice.
func (s *Server) replayUnrecorded(ctx context.Context, l *audit.Log) error {
	dir := s.cfg.auditDir()
	var kept []store.Entry
	err := s.store.View(ctx, func(tx store.Tx) error {
		var err error
		kept, err = tx.List(unrecordedPrefix, "", 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit: read the records kept while the log failed: %w", err)
	}
	for _, k := range kept {
		b, err := s.aud.root.Unwrap(k.Value, unrecordedAAD)
		if err != nil {
			s.log.Error("audit: a record kept in the store for the trail does not unwrap under the root key; left in place", "key", k.Key, "err", err)
			continue
		}
		var e audit.Event
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("audit: kept record %s: %w", k.Key, err)
		}
		logged, err := inTrail(dir, &e)
		if err != nil {
			return fmt.Errorf("audit: look for the record kept as %s in the trail: %w", k.Key, err)
		}
		msg := "audit: a record kept while the audit log failed was in the trail already; forgotten"
		if !logged {
			if err := l.Append(ctx, &e); err != nil {
				return fmt.Errorf("audit: append the record kept as %s: %w", k.Key, err)
			}
			msg = "audit: added to the trail the record of a request that took effect while the audit log failed"
		}
		if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.Delete(k.Key) }); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		s.log.Warn(msg, "event", e.EventName, "request_id", e.RequestID, "event_id", e.EventID, "event_time", e.EventTime)
	}
	return nil
}

// inTrail reports whether the trail in dir holds e's event. Only records
// appended since e's eventTime can be it, so only the files written since
// then are read: after a write failure, the few since it. The trail writes
// eventTime to the second, e has it to the nanosecond.
func inTrail(dir string, e *audit.Event) (bool, error) {
	if e.EventID == "" {
		return false, nil // every record the server makes has one
	}
	found := false
	err := audit.QueryBackward(dir, audit.Filter{EventID: e.EventID, Start: e.EventTime.Truncate(time.Second)}, 0, func(uint64, *audit.Event) bool {
		found = true
		return false
	})
	return found, err
}

// closeAudit closes the audit log: it writes every queued record and a
// final signed digest. It runs after the HTTP server and the scheduler
// stopped, so that nothing appends any more.
func (s *Server) closeAudit() error {
	if s.aud.log == nil {
		return nil
	}
	l := s.aud.log
	s.aud.saverStop()
	<-s.aud.saverDone
	err := l.Close()
	s.aud.log = nil
	if err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	// Nothing appends any more, so the index and the mark cover every
	// record.
	if _, err := s.saveUsageSnapshot(l); err != nil {
		s.log.Warn("could not save the GetKeyLastUsage index; the next start re-reads the records since the last save", "err", err)
	}
	if !s.cfg.InsecureBenchmarkAuditNoFsync {
		if _, err := s.saveAuditMark(context.Background(), l); err != nil {
			s.log.Warn("could not save the audit mark at shutdown", "err", err)
		}
	}
	return nil
}

// auditReady reports why a service event could not be recorded now, or nil:
// lifecycle jobs wait while it cannot (kms.Config.ServiceEventsReady).
func (s *Server) auditReady() error {
	if s.aud.log == nil {
		return errors.New("audit: the log is not open")
	}
	return s.aud.log.Err()
}

// ServiceEvent records work the KMS core did on its own (RotateKey,
// DeleteKey, DeleteExpiredKeyMaterial) as an AwsServiceEvent on its key. It
// is kms.Config.OnServiceEvent. A record that cannot be written is logged:
// the work is done already.
func (s *Server) ServiceEvent(ev kms.ServiceEvent) {
	if s.aud.api == nil {
		s.log.Error("audit: service event before the server was assembled", "event", ev.Name, "key", ev.KeyARN)
		return
	}
	var details json.RawMessage
	if ev.Details != nil {
		details, _ = json.Marshal(ev.Details)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.aud.api.ServiceEvent(ctx, ev.Name, ev.KeyARN, arn.Account(ev.KeyARN), details); err != nil {
		s.log.Error("audit: could not record service event", "event", ev.Name, "key", ev.KeyARN, "err", err)
	}
}

// errKeyRemoved: the store remembers an audit trail (an audit mark that
// names a log, or a GetKeyLastUsage index) or holds KMS keys, which only
// audited requests make, but holds no audit signing key, which is made
// before the first request: the key was deleted. Making a new one silently
// would sign the trail on with a key no verifier knows, or begin a new
// trail where the old one was removed with everything that marked it.
var errKeyRemoved = errors.New("the store remembers an audit trail or holds KMS keys but holds no audit signing key: it was removed from it, or the store was written by a build without the audit trail")

// keyRemoved is for a store that holds no audit signing key: it returns
// errKeyRemoved if the store remembers an audit trail (an audit mark that
// names a log, or one that does not parse, a GetKeyLastUsage index, or a
// KMS key, which a recorded request made), and nil if none ever was.
func keyRemoved(ctx context.Context, st store.Store, root keystore.Wrapper) error {
	mark, err := loadAuditMark(ctx, st, root)
	if (err == nil && mark.LogID != "") || (err != nil && !errors.Is(err, store.ErrNotFound)) || loadUsageSnapshot(ctx, st, root) != nil {
		return errKeyRemoved
	}
	var keys []store.Entry
	err = st.View(ctx, func(tx store.Tx) error {
		var err error
		keys, err = tx.List(kms.KeyStorePrefix, "", 1)
		return err
	})
	if err != nil {
		return fmt.Errorf("look for KMS keys in the store: %w", err)
	} else if len(keys) > 0 {
		return errKeyRemoved
	}
	return nil
}

// loadAuditKey returns the audit signing key, an Ed25519 key made on first
// start and kept in the store wrapped under the root key.
func loadAuditKey(ctx context.Context, st store.Store, root keystore.Wrapper) (crypto.Signer, error) {
	der, err := getWrapped(ctx, st, root, auditKeyStoreName, auditKeyAAD)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := keyRemoved(ctx, st, root); err != nil {
			return nil, err
		}
		return createAuditKey(ctx, st, root)
	case err != nil:
		return nil, fmt.Errorf("load audit signing key: %w", err)
	}
	defer clear(der)
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse audit signing key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("parse audit signing key: not a signing key")
	}
	return signer, nil
}

func createAuditKey(ctx context.Context, st store.Store, root keystore.Wrapper) (crypto.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, _, err := storeAuditKey(ctx, st, root, priv)
	return signer, err
}

// storeAuditKey stores priv as the audit signing key, unless the store
// holds one already (then that one is returned), with the first audit mark
// if there is no mark yet; addedMark reports whether it stored that mark.
func storeAuditKey(ctx context.Context, st store.Store, root keystore.Wrapper, priv ed25519.PrivateKey) (_ crypto.Signer, addedMark bool, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, false, err
	}
	defer clear(der)
	wrapped, err := root.Wrap(der, auditKeyAAD)
	if err != nil {
		return nil, false, fmt.Errorf("wrap audit signing key: %w", err)
	}
	// The first audit mark, which names no log yet, goes in with the key:
	// from then on a store without a mark had it removed (errMarkRemoved).
	first, err := json.Marshal(auditMark{})
	if err != nil {
		return nil, false, err
	}
	firstMark, err := root.Wrap(first, auditMarkAAD)
	if err != nil {
		return nil, false, fmt.Errorf("wrap audit mark: %w", err)
	}
	var existing []byte
	err = st.Update(ctx, func(tx store.Tx) error {
		addedMark = false // the transaction may run again
		// Another process cannot race here (the store is locked), but be
		// exact anyway: never replace a key that exists.
		if b, err := tx.Get(auditKeyStoreName); err == nil {
			existing = append([]byte(nil), b...)
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.Put(auditKeyStoreName, wrapped); err != nil {
			return err
		}
		if _, err := tx.Get(auditMarkStoreName); err == nil {
			return nil // a new key for a trail (--audit-new-trail): its mark stays
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		addedMark = true
		return tx.Put(auditMarkStoreName, firstMark)
	})
	if err != nil {
		return nil, false, fmt.Errorf("store audit signing key: %w", err)
	}
	if existing != nil {
		signer, err := loadAuditKey(ctx, st, root)
		return signer, false, err
	}
	return priv, addedMark, nil
}

// takeBackAuditKey undoes storeAuditKey for a start that was refused after
// it: it deletes the key, and the first mark if storeAuditKey added one.
func takeBackAuditKey(ctx context.Context, st store.Store, addedMark bool) error {
	return st.Update(ctx, func(tx store.Tx) error {
		if addedMark {
			if err := tx.Delete(auditMarkStoreName); err != nil {
				return err
			}
		}
		return tx.Delete(auditKeyStoreName)
	})
}

// writePublicKey writes pub as a PEM "PUBLIC KEY" (PKIX) file, unless the
// file already holds exactly that.
func writePublicKey(path string, pub crypto.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write audit public key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write audit public key: %w", err)
	}
	return nil
}
