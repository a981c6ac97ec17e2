package audit

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxFileBytes   = 64 << 20
	DefaultMaxFileAge     = time.Hour
	DefaultDigestInterval = time.Hour
)

// MaxEventBytes is the largest encoded event Append accepts. The largest
// legitimate KMS request parameter, a key policy, is 32 KiB.
const MaxEventBytes = 1 << 20

var (
	// ErrClosed is returned by Append and Close after Close.
	ErrClosed = errors.New("audit: log closed")
	// ErrBroken is wrapped by every Append after a write, sync or rotation
	// error. The state of the file is then unknown (after a failed fsync the
	// kernel may have dropped the data), so the Log stops rather than guess;
	// reopening the directory recovers.
	ErrBroken = errors.New("audit: log stopped after a write error")
	// ErrCorrupt is wrapped by Open when the unsigned part of the log is
	// damaged in a way a crash cannot explain. Open then refuses to sign
	// over it; run Verify and move the directory aside.
	ErrCorrupt = errors.New("audit: log corrupt")
	// ErrUnverified, which wraps ErrCorrupt, is returned by Open when the
	// directory holds a digest Options.Signer's key does not vouch for: a
	// newest digest that does not verify with it (forged, or the key was
	// replaced: see Options.NewKey), or one the newest does not link to.
	ErrUnverified = fmt.Errorf("%w: a digest the signing key does not vouch for", ErrCorrupt)
	// ErrNoSpace is wrapped by Err while the disk has no room for the
	// space the log reserves ahead of its records (see prealloc.go).
	// Append still takes records, into what is left of the reserve, so
	// that work already under way is recorded; new work must wait. It
	// clears by itself once space is freed.
	ErrNoSpace = errors.New("audit: no disk space to reserve ahead of the log; refusing new work until space is freed")
	// ErrOtherTrail is wrapped by Open when the directory does not hold
	// the log Options.Durable names: it is gone, empty, or another log's.
	// Open then changes nothing there: a lock file it had to make is
	// removed again. An owner that means to start a new trail opens
	// without the mark.
	ErrOtherTrail = errors.New("audit: not the trail that was written here")
	// ErrLocked is returned by Open when another Log holds the directory.
	ErrLocked = errors.New("audit: log directory in use")
)

// Options configures a Log. The zero value of each field selects its default.
type Options struct {
	// MaxFileBytes: a log file is closed before it would exceed this size
	// (default 64 MiB). A record larger than the limit gets a file of its own.
	MaxFileBytes int64
	// MaxFileAge: a log file is closed once it is this old (default 1h).
	MaxFileAge time.Duration
	// Retention: log and digest files older than this are deleted after a
	// digest; 0 keeps everything. Only signed files are ever deleted, and
	// the digest written just before a deletion records it (see doc.go).
	Retention time.Duration
	// DigestInterval: a signed digest is written this often (default 1h),
	// and always at Close.
	DigestInterval time.Duration
	// Signer signs digests; required. Ed25519, ECDSA and RSA keys work.
	// Open acts only on digests it can trust: the newest must verify with
	// Signer's key (else ErrUnverified), and older ones count only if the
	// newest links to them by hash.
	Signer crypto.Signer
	// NewKey says that Signer is new to the trail in the directory: its
	// owner lost the key that signed the digests there and asks to go on
	// with another. Open then goes on from the newest digest's head,
	// unverified, but acts on nothing else the digests say (see doc.go),
	// and signs the head with the new key at once, so that the next Open
	// can verify again.
	NewKey bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Durable, if set, names a record this log made durable, as its owner
	// remembers it elsewhere (the server: in its store, with the
	// GetKeyLastUsage index). A crash cannot take a durable record away, so
	// Open refuses with ErrCorrupt, before signing anything, a trail of that
	// log that ends before it: records were removed, or the directory was
	// replaced by an older copy. A directory that holds another log, or
	// none (it was removed or emptied), is refused with ErrOtherTrail.
	// Without a mark, whatever a crash left unsigned is all Open has to go
	// by, and an empty directory starts a new log.
	Durable Mark

	// InsecureSkipFsync makes Append return before records reach the disk,
	// breaking the promise that no response leaves before its record is
	// durable. It exists only to measure what durability costs.
	InsecureSkipFsync bool
}

// Stats is a snapshot of a Log's counters, for metrics.
type Stats struct {
	Records       uint64        // records written since Open
	Bytes         uint64        // log bytes written since Open
	Batches       uint64        // group commits: one write and one fsync each
	Fsyncs        uint64        // fsync calls on log files (Batches plus rotations)
	QueueDepth    int           // records waiting for the writer now
	LastBatch     int           // records in the last group commit
	LastFsync     time.Duration // duration of the last fsync of a log file
	Digests       uint64        // digests written since Open
	DigestErrors  uint64        // digests that failed (retried at the next interval)
	DeleteErrors  uint64        // retention deletions that failed (retried)
	Seq           uint64        // sequence number of the last record
	Broken        bool          // the Log stopped after a write error
	NoSpace       bool          // Err wraps ErrNoSpace: no room to reserve on the disk
	LastDigestErr string        // the last digest error, if any

	// FsyncBuckets[i] counts the fsyncs of log files that took at most
	// FsyncBounds[i] (cumulative, as a Prometheus histogram);
	// FsyncCount is all of them and FsyncSeconds their total duration.
	FsyncBuckets []uint64
	FsyncCount   uint64
	FsyncSeconds float64
}

// Mark names a record of a log: the log's ID (Log.ID), the record's
// sequence number and, where known, its chain hash. The hash pins every
// record up to it: a trail whose records were rewritten, chain and all,
// no longer has it.
type Mark struct {
	LogID string
	Seq   uint64
	Hash  [32]byte // zero: not known, and then only Seq is checked
}

// Log is an append-only, hash-chained, signed audit log in a directory.
// Its methods are safe for concurrent use.
type Log struct {
	dir    string
	opts   Options
	now    func() time.Time
	unlock func()

	mu     sync.RWMutex // held for reading while sending to queue
	closed bool
	queue  chan *request
	ctl    chan func()
	quit   chan struct{}
	done   chan struct{}

	broken   atomic.Pointer[error]
	noSpace  atomic.Pointer[error] // set by the current file's zeroFiller
	fillCap  atomic.Int64          // test hook: zeroFiller.limit
	dirFail  atomic.Bool           // test hook: syncDir fails
	closeErr error
	recovery *Recovery // set by Open; read-only afterwards
	unsigned *Recovery // recovery no digest has recorded yet (writer-owned)
	floor    floor     // where the retained log begins: the newest digest's floor, as Open took it
	// newKeyOpen: Options.NewKey, and no digest signed with the new key
	// yet; the next digest says so (digest.NewKey).
	newKeyOpen bool

	// Counters for Stats.
	nRecords, nBytes, nBatches, nFsyncs atomic.Uint64
	nDigests, nDigestErr, nDeleteErr    atomic.Uint64
	lastBatch, lastFsync                atomic.Int64
	durable                             atomic.Pointer[Mark] // the last durable record
	lastDigestErr                       atomic.Pointer[string]
	fsyncHist                           [len(FsyncBounds) + 1]atomic.Uint64 // per bucket, not cumulative; last is +Inf
	fsyncNanos                          atomic.Uint64

	// Owned by the writer goroutine once Open returns.
	seq        uint64
	prev       [32]byte
	h          hash.Hash
	buf        []byte
	cur        *segment
	pending    []digestFile // closed since the last digest
	files      []fileRef    // every log file in the directory, in order
	digests    []digestRef  // every digest in the directory, in order
	last       *parsedDigest
	logID      string
	alg, fp    string
	nextDigest time.Time
	crashed    bool       // test hook: Close behaves like a crash
	aio        *asyncSync // nil: fdatasync blocks the writer's thread
}

type request struct {
	event []byte
	done  chan error
}

var requestPool = sync.Pool{New: func() any {
	return &request{event: make([]byte, 0, 1024), done: make(chan error, 1)}
}}

type segment struct {
	f        *os.File
	zf       *zeroFiller // nil with InsecureSkipFsync
	name     string
	created  time.Time
	size     int64
	sum      hash.Hash
	first    uint64
	last     uint64
	firstPrv [32]byte
	lastHash [32]byte
	lastW    time.Time
}

// fileRef is a log file known to the writer, for retention.
type fileRef struct {
	name     string
	firstSeq uint64
	info     *digestFile // nil until a digest covers the file
}

type digestRef struct {
	name  string
	seq   uint64
	end   time.Time
	hash  hexHash
	files []digestFile
}

// Open opens or creates the log in dir and takes an exclusive lock on it.
//
// After an unclean shutdown the last file may end in a torn record. Open
// cuts it off, reports it through Recovery, and records it in a digest
// that it writes at once, together with every file left unsigned by the
// crash. Damage that a crash cannot cause (a broken chain before the last
// file, a missing file) makes Open fail with ErrCorrupt rather than sign
// over it.
func Open(dir string, opts Options) (*Log, error) {
	if opts.Signer == nil {
		return nil, errors.New("audit: Options.Signer is required")
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxFileAge <= 0 {
		opts.MaxFileAge = DefaultMaxFileAge
	}
	if opts.DigestInterval <= 0 {
		opts.DigestInterval = DefaultDigestInterval
	}
	if opts.Retention < 0 {
		return nil, errors.New("audit: negative Options.Retention")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	alg, fp, err := keyInfo(opts.Signer.Public())
	if err != nil {
		return nil, err
	}
	if m := opts.Durable; m.LogID != "" {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, otherTrail(dir, "does not exist", m)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	lockPath := filepath.Join(dir, lockName)
	_, statErr := os.Stat(lockPath)
	madeLock := errors.Is(statErr, fs.ErrNotExist)
	unlock, err := lockDir(lockPath)
	if err != nil {
		return nil, err
	}
	l := &Log{
		dir:    dir,
		opts:   opts,
		now:    opts.Now,
		unlock: unlock,
		queue:  make(chan *request, 4096),
		ctl:    make(chan func()),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		h:      sha256.New(),
		alg:    alg,
		fp:     fp,
	}
	if err := l.load(); err != nil {
		if madeLock && errors.Is(err, ErrOtherTrail) {
			// Refused before touching anything: leave the directory as it
			// was found, without the lock file this Open made.
			os.Remove(lockPath)
		}
		unlock()
		return nil, err
	}
	l.durable.Store(&Mark{LogID: l.logID, Seq: l.seq, Hash: l.prev})
	l.nextDigest = l.now().Add(opts.DigestInterval)
	if !opts.InsecureSkipFsync {
		l.aio, _ = newAsyncSync() // nil where the kernel has no AIO: then syncs block
	}
	go l.run()
	return l, nil
}

// Durable returns the mark of the last record the Log made durable (with
// InsecureSkipFsync: the last it wrote), for its owner to remember
// elsewhere and pass to a later Open as Options.Durable.
func (l *Log) Durable() Mark { return *l.durable.Load() }

// ID returns the log's identity, which its digests carry: made when a log
// is first opened and kept across restarts and crashes, so a reader can
// tell this trail from another one in the same place.
func (l *Log) ID() string { return l.logID }

// Recovery returns what Open cut from a torn last file, or nil.
func (l *Log) Recovery() *Recovery {
	if l.recovery == nil {
		return nil
	}
	r := *l.recovery
	return &r
}

// Append writes e as the next record and returns once the record is durable
// on disk. Concurrent calls are committed together, one fsync for many
// records, so throughput grows with the number of callers.
//
// Append fills in the fields CloudTrail always writes when they are empty
// (eventVersion, eventTime, eventSource, eventType, eventCategory,
// managementEvent, a random eventID); it does not modify or keep e.
//
// A non-nil error means the record may not be durable, and the caller must
// fail its request (KMSInternalException). If ctx ends first, Append
// returns ctx.Err(); the record may still be written.
func (l *Log) Append(ctx context.Context, e *Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.brokenErr(); err != nil {
		return err
	}
	ev, err := e.withDefaults(l.now())
	if err != nil {
		return err
	}
	r := requestPool.Get().(*request)
	if r.event, err = ev.appendJSON(r.event[:0]); err != nil {
		requestPool.Put(r)
		return err
	}
	if len(r.event) > MaxEventBytes {
		return fmt.Errorf("audit: event of %d bytes exceeds MaxEventBytes", len(r.event)) // r is too big to pool
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		requestPool.Put(r)
		return ErrClosed
	}
	select {
	case l.queue <- r:
		l.mu.RUnlock()
	case <-ctx.Done():
		l.mu.RUnlock()
		requestPool.Put(r)
		return ctx.Err()
	}
	select {
	case err = <-r.done:
		if cap(r.event) <= 64<<10 {
			requestPool.Put(r)
		}
		return err
	case <-ctx.Done():
		// The writer still owns r and will reply into its buffered
		// channel; leave r to the garbage collector.
		return ctx.Err()
	}
}

// Close writes every queued record, closes the current file, writes a final
// digest and releases the directory. Append calls that race with Close
// either complete or return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	close(l.quit)
	<-l.done
	l.unlock()
	return l.closeErr
}

// Stats returns a snapshot of the Log's counters.
func (l *Log) Stats() Stats {
	s := Stats{
		Records:      l.nRecords.Load(),
		Bytes:        l.nBytes.Load(),
		Batches:      l.nBatches.Load(),
		Fsyncs:       l.nFsyncs.Load(),
		QueueDepth:   len(l.queue),
		LastBatch:    int(l.lastBatch.Load()),
		LastFsync:    time.Duration(l.lastFsync.Load()),
		Digests:      l.nDigests.Load(),
		DigestErrors: l.nDigestErr.Load(),
		DeleteErrors: l.nDeleteErr.Load(),
		Seq:          l.durable.Load().Seq,
		Broken:       l.brokenErr() != nil,
		NoSpace:      l.noSpace.Load() != nil,
	}
	if p := l.lastDigestErr.Load(); p != nil {
		s.LastDigestErr = *p
	}
	s.FsyncBuckets = make([]uint64, len(FsyncBounds))
	var n uint64
	for i := range FsyncBounds {
		n += l.fsyncHist[i].Load()
		s.FsyncBuckets[i] = n
	}
	s.FsyncCount = n + l.fsyncHist[len(FsyncBounds)].Load()
	s.FsyncSeconds = time.Duration(l.fsyncNanos.Load()).Seconds()
	return s
}

// Err reports why the Log must not be given new work, or nil while it can
// take it: it stopped taking records (the error wraps ErrBroken, and stays
// until the Log is reopened), or the disk is full (it wraps ErrNoSpace, and
// clears once space is freed; Append still works meanwhile). An owner
// checks Err before it starts something it will record, such as a request
// that may change state: what passed the check can still be recorded, and
// what did not must not take effect.
func (l *Log) Err() error {
	if err := l.brokenErr(); err != nil {
		return err
	}
	if p := l.noSpace.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Log) brokenErr() error {
	if p := l.broken.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Log) fail(err error) error {
	err = fmt.Errorf("%w: %w", ErrBroken, err)
	l.broken.CompareAndSwap(nil, &err)
	return l.brokenErr()
}

// run is the single writer goroutine. It takes the first waiting record,
// drains whatever else queued up meanwhile, and commits them all with one
// write and one fsync; records arriving during that fsync form the next
// batch. This is group commit: the number of fsyncs follows the disk's
// speed, not the request rate.
func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(l.tickEvery())
	defer tick.Stop()
	batch := make([]*request, 0, cap(l.queue))
	for {
		select {
		case r := <-l.queue:
			// Let the request goroutines that are runnable queue their
			// records before the batch is cut. Without this yield, with
			// GOMAXPROCS=1 and a blocking fdatasync (kernels without AIO)
			// holding the only P, batches shrank to one record each and
			// throughput collapsed (measured: 2.4k-17k ops/s, bimodal,
			// against 13k-18k steady with it). With AIO it makes no
			// measurable difference: a build that skipped it there ran at
			// 0.99 of this one at c=32 and 1.01 at c=256 (bench/ab.sh, 16
			// paired rounds, Encrypt 32 B, one core), with the same 14-15
			// records per fsync; more yields or a commit delay gained
			// nothing either (see aio_linux.go).
			runtime.Gosched()
			batch = l.drain(append(batch[:0], r))
			l.commit(batch)
			l.housekeep()
		case <-tick.C:
			l.housekeep()
		case f := <-l.ctl:
			f()
		case <-l.quit:
			for {
				batch = l.drain(batch[:0])
				if len(batch) == 0 {
					break
				}
				l.commit(batch)
			}
			l.closeErr = l.finish()
			if l.aio != nil {
				l.aio.close()
			}
			return
		}
	}
}

func (l *Log) drain(batch []*request) []*request {
	for len(batch) < cap(batch) {
		select {
		case r := <-l.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (l *Log) tickEvery() time.Duration {
	d := min(l.opts.DigestInterval, l.opts.MaxFileAge) / 4
	return min(max(d, 10*time.Millisecond), time.Minute)
}

// commit writes batch to the log and answers every request in it.
func (l *Log) commit(batch []*request) {
	err := l.brokenErr()
	if err == nil {
		if err = l.write(batch); err != nil {
			err = l.fail(err)
		}
	}
	for _, r := range batch {
		r.done <- err
	}
}

func (l *Log) write(batch []*request) error {
	now := l.now()
	// Out of disk space, the records stay in the current file, whose
	// zeros are the only space there is; a new file would have none.
	rotate := l.noSpace.Load() == nil
	if rotate && l.cur != nil && now.Sub(l.cur.created) >= l.opts.MaxFileAge {
		if err := l.closeSegment(); err != nil {
			return err
		}
	}
	buf := l.buf[:0]
	for _, r := range batch {
		if rotate && l.cur != nil {
			n := l.cur.size + int64(len(buf))
			if n > 0 && n+int64(len(r.event)+lineOverhead+20) > l.opts.MaxFileBytes {
				if err := l.flush(buf, now); err != nil {
					return err
				}
				buf = buf[:0]
				if err := l.closeSegment(); err != nil {
					return err
				}
			}
		}
		if l.cur == nil {
			if err := l.openSegment(now); err != nil {
				return err
			}
		}
		seq := l.seq + 1
		sum := recordHash(l.h, &l.prev, seq, r.event)
		buf = appendLine(buf, seq, &l.prev, &sum, r.event)
		if l.cur.first == 0 {
			l.cur.first, l.cur.firstPrv = seq, l.prev
		}
		l.cur.last, l.cur.lastHash = seq, sum
		l.seq, l.prev = seq, sum
	}
	l.buf = buf[:0]
	if err := l.flush(buf, now); err != nil {
		return err
	}
	l.nRecords.Add(uint64(len(batch)))
	l.nBatches.Add(1)
	l.lastBatch.Store(int64(len(batch)))
	l.durable.Store(&Mark{LogID: l.logID, Seq: l.seq, Hash: l.prev})
	return nil
}

// flush writes buf to the current file and makes it durable.
func (l *Log) flush(buf []byte, now time.Time) error {
	if len(buf) == 0 {
		return nil
	}
	var err error
	if l.cur.zf != nil {
		err = l.cur.zf.write(buf)
	} else {
		_, err = l.cur.f.WriteAt(buf, l.cur.size)
	}
	if err != nil {
		return err
	}
	l.cur.sum.Write(buf)
	l.cur.size += int64(len(buf))
	l.cur.lastW = now
	l.nBytes.Add(uint64(len(buf)))
	if l.opts.InsecureSkipFsync {
		return nil
	}
	start := time.Now()
	if err := l.sync(l.cur.f); err != nil {
		return err
	}
	d := time.Since(start)
	if removed(l.cur.f) {
		return fmt.Errorf("log file %s was removed while in use", l.cur.name)
	}
	l.lastFsync.Store(int64(d))
	l.observeFsync(d)
	l.nFsyncs.Add(1)
	return nil
}

func (l *Log) openSegment(now time.Time) error {
	name := logName(l.seq+1, now)
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	// The directory entry must be durable before any record in the file
	// is acknowledged.
	if err := l.syncDir(); err != nil {
		f.Close()
		return err
	}
	l.cur = &segment{f: f, name: name, created: now, sum: sha256.New()}
	if !l.opts.InsecureSkipFsync {
		if l.cur.zf, err = newZeroFiller(f, &l.noSpace, &l.fillCap); err != nil {
			f.Close()
			os.Remove(filepath.Join(l.dir, name)) // empty: nothing in it was acknowledged
			l.cur = nil
			return err
		}
	}
	l.files = append(l.files, fileRef{name: name, firstSeq: l.seq + 1})
	return nil
}

// closeSegment closes the current file, if any, and queues it for the next
// digest. Its records are already durable.
func (l *Log) closeSegment() error {
	s := l.cur
	if s == nil {
		return nil
	}
	l.cur = nil
	if s.zf != nil {
		// The next file's filler finds out afresh whether there is
		// space; until a record opens it there is none to reserve.
		defer l.noSpace.Store(nil)
		if err := s.zf.close(true); err != nil {
			s.f.Close()
			return err
		}
	}
	if err := s.f.Close(); err != nil {
		return err
	}
	if s.first == 0 { // nothing was ever written: drop it
		l.files = l.files[:len(l.files)-1]
		return os.Remove(filepath.Join(l.dir, s.name))
	}
	l.pending = append(l.pending, digestFile{
		Name: s.name, Size: s.size, Hash: hexHash(s.sum.Sum(nil)),
		FirstSeq: s.first, LastSeq: s.last, FirstPrevHash: s.firstPrv, LastHash: s.lastHash,
		Created: s.created, LastWrite: s.lastW,
	})
	return nil
}

func (l *Log) syncDir() error {
	if l.opts.InsecureSkipFsync {
		return nil
	}
	if l.dirFail.Load() {
		return &os.PathError{Op: "fsync", Path: l.dir, Err: syscall.EIO}
	}
	d, err := os.Open(l.dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// housekeep rotates an old file and writes a digest when one is due. Both
// wait while the disk is full: a digest closes the file, giving up the
// space reserved in it, and the next file would find none.
func (l *Log) housekeep() {
	if l.Err() != nil {
		return
	}
	now := l.now()
	if l.cur != nil && now.Sub(l.cur.created) >= l.opts.MaxFileAge {
		if err := l.closeSegment(); err != nil {
			l.fail(err)
			return
		}
	}
	if !now.Before(l.nextDigest) {
		l.digestNow("interval")
	}
}

// digestNow writes a digest and counts a failure, which is retried at the
// next interval: the records themselves are durable already.
func (l *Log) digestNow(reason string) error {
	err := l.writeDigest(reason)
	if err != nil {
		l.nDigestErr.Add(1)
		s := err.Error()
		l.lastDigestErr.Store(&s)
	}
	return err
}

func (l *Log) finish() error {
	if l.crashed {
		l.dropSegment()
		return nil
	}
	if err := l.brokenErr(); err != nil {
		l.dropSegment()
		return err
	}
	return l.digestNow("close")
}

// dropSegment closes the current file as it is, zeros and all, without
// queueing it for a digest: what a crash leaves for the next Open.
func (l *Log) dropSegment() {
	if l.cur == nil {
		return
	}
	if l.cur.zf != nil {
		l.cur.zf.abandon()
	}
	l.cur.f.Close()
}

// writeDigest closes the current file, signs a digest over every file
// closed since the previous digest, and then applies retention.
func (l *Log) writeDigest(reason string) error {
	if err := l.closeSegment(); err != nil {
		l.fail(err)
		return err
	}
	now := l.now()
	l.nextDigest = now.Add(l.opts.DigestInterval)
	delFiles, delDigests, fl := l.planRetention(now)

	d := &digest{
		Version:              digestVersion,
		LogID:                l.logID,
		DigestSeq:            1,
		EndTime:              now.UTC(),
		Reason:               reason,
		LogFiles:             l.pending,
		LastSeq:              l.seq,
		LastHash:             l.prev,
		Floor:                fl,
		Recovery:             l.unsigned,
		NewKey:               l.newKeyOpen,
		PublicKeyFingerprint: l.fp,
		SignatureAlgorithm:   l.alg,
	}
	if d.LogFiles == nil {
		d.LogFiles = []digestFile{}
	}
	for _, f := range delFiles {
		d.Deleted = append(d.Deleted, f.name)
	}
	for _, r := range delDigests {
		d.Deleted = append(d.Deleted, r.name)
	}
	if p := l.last; p != nil {
		h := p.hash
		d.DigestSeq = p.DigestSeq + 1
		d.StartTime = p.EndTime
		d.PreviousDigestFile = l.digests[len(l.digests)-1].name
		d.PreviousDigestHash = &h
		d.PreviousDigestSignature = p.sig
	} else if len(l.pending) > 0 {
		d.StartTime = l.pending[0].Created.UTC()
	} else {
		d.StartTime = d.EndTime
	}
	pd, data, err := marshalDigest(d, l.opts.Signer)
	if err != nil {
		return err
	}
	name := digestName(d.DigestSeq, now)
	if err := l.writeFileAtomic(name, data); err != nil {
		return fmt.Errorf("audit: write digest: %w", err)
	}
	l.last, l.floor = pd, fl
	l.digests = append(l.digests, digestRef{name: name, seq: d.DigestSeq, end: d.EndTime, hash: pd.hash, files: d.LogFiles})
	for _, f := range l.pending {
		for i := len(l.files) - 1; i >= 0; i-- {
			if l.files[i].name == f.Name {
				l.files[i].info = &f
				break
			}
		}
	}
	l.pending = nil
	l.unsigned = nil
	l.newKeyOpen = false
	l.nDigests.Add(1)

	// The digest that records the deletions is durable; now delete.
	l.files = l.files[len(delFiles):]
	l.digests = l.digests[len(delDigests):]
	if d.NewKey {
		// The unverified digest it links to is needed no more: as after a
		// restart, retention goes by the new key's digests alone (the old
		// ones stay on disk).
		l.digests = l.digests[len(l.digests)-1:]
	}
	failed := false
	for _, f := range delFiles {
		if err := os.Remove(filepath.Join(l.dir, f.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			failed = true
		}
	}
	for _, r := range delDigests {
		if err := os.Remove(filepath.Join(l.dir, r.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			failed = true
		}
	}
	if failed {
		// Leftovers lie below the floor, where Verify ignores them; the
		// next sweep does not see them either, so count them only.
		l.nDeleteErr.Add(1)
	}
	if len(delFiles)+len(delDigests) > 0 {
		l.syncDir()
	}
	return nil
}

// planRetention picks the log files and digests to delete and the floor
// the new digest states. Only a prefix of signed files is deleted, so the
// retained log stays contiguous; a digest goes once every file it lists is
// gone, but the newest digest always stays, because the new one links to
// it. The floor moves only past what this sweep deletes: a file that
// vanished any other way stays missing in Verify's eyes.
func (l *Log) planRetention(now time.Time) (files []fileRef, digests []digestRef, fl floor) {
	fl = l.floor
	if l.opts.Retention <= 0 {
		return nil, nil, fl
	}
	cutoff := now.Add(-l.opts.Retention)
	for _, f := range l.files {
		if f.info == nil || !f.info.LastWrite.Before(cutoff) {
			break
		}
		files = append(files, f)
	}
	if len(files) > 0 {
		gone := files[len(files)-1].info
		fl.Seq, fl.PrevHash = gone.LastSeq+1, gone.LastHash
	}
	for _, d := range l.digests[:max(len(l.digests)-1, 0)] {
		gone := d.end.Before(cutoff)
		for _, f := range d.files {
			gone = gone && f.LastSeq < fl.Seq
		}
		if !gone {
			break
		}
		digests = append(digests, d)
	}
	if len(digests) > 0 {
		d := l.digests[len(digests)]
		h := d.hash
		fl.DigestSeq, fl.DigestHash = d.seq, &h
	}
	return files, digests, fl
}

// writeFileAtomic writes a new file through a temporary name, so that a
// crash leaves either no file or the whole file.
func (l *Log) writeFileAtomic(name string, data []byte) error {
	tmp := filepath.Join(l.dir, name+tmpSuffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !l.opts.InsecureSkipFsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(l.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := l.syncDir(); err != nil {
		// The caller takes the write as failed, and a digest retried
		// later would be a second file with the same sequence number
		// next to this one. (If neither the rename nor the removal
		// reaches the disk in order, both can be there after a power
		// loss; Open tolerates that: see trustedDigests.)
		os.Remove(filepath.Join(l.dir, name))
		l.syncDir()
		return err
	}
	return nil
}

// do runs f on the writer goroutine; for tests.
func (l *Log) do(f func()) {
	done := make(chan struct{})
	l.ctl <- func() { f(); close(done) }
	<-done
}

func newLogID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// FsyncBounds are the upper bounds, in seconds, of the fsync latency
// buckets in Stats.
var FsyncBounds = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}

func (l *Log) observeFsync(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(FsyncBounds) && s > FsyncBounds[i] {
		i++
	}
	l.fsyncHist[i].Add(1)
	l.fsyncNanos.Add(uint64(d))
}

// sync makes f's data durable: through Linux AIO when the Log has it, else
// with a blocking fdatasync.
func (l *Log) sync(f *os.File) error {
	if l.aio != nil {
		err := l.aio.fdatasync(f)
		if !errors.Is(err, errAIOUnsupported) {
			return err
		}
		l.aio.close()
		l.aio = nil
	}
	return fdatasync(f)
}
