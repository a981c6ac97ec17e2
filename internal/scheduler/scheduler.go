// Package scheduler runs Keyward's key lifecycle work — automatic rotations,
// key deletions at the end of their waiting period, expiry of imported key
// material — at its due time, after downtime, and once across all the nodes
// that share one store.
//
// Jobs live in the store, not in memory: a job scheduled in a transaction
// exists exactly when that transaction commits, survives restarts, and is
// run by whichever node claims it first once it is due. A job that was due
// while every node was down runs once when a node comes back (catch-up), in
// due order; it is up to its handler to decide what missed periods mean.
//
// # Guarantees and their limits
//
// A node claims a due job in one serialisable Update that writes a claim
// record with a lease, runs the handler outside any transaction while
// renewing the lease, and then deletes the job in a second Update only if
// the claim is still its own. So no two nodes run a job at the same time
// while its lease is live, and a job whose completion has committed is never
// run again. This rests on the store's promise that Update transactions are
// serialisable.
//
// A node that dies mid-job, or after the handler but before recording the
// completion, or that stalls longer than the lease, loses its claim when the
// lease expires and another node runs the job again: execution is
// at-least-once. Handlers must therefore be idempotent, and Job.Attempt
// tells them whether an earlier attempt may have done part of the work. For
// effects that must happen exactly once, a handler calls CompleteTx in the
// same store transaction that does its work: CompleteTx commits only if the
// attempt still holds the claim, so the work and the job's completion
// commit together or not at all, and a superseded attempt cannot commit.
//
// Leases are compared against each node's own clock; node clocks must agree
// to well within Options.LeaseDuration, or a lease can be taken over early
// (which CompleteTx still fences, but which costs a duplicate attempt).
//
// A failing handler never loses its job: the scheduler records the attempt
// and the error and retries with capped exponential backoff, forever.
//
// # What it must never do
//
// The scheduler never interprets Job.Data and never logs it. The store is
// untrusted, so Data must never hold key material or other secrets, and
// handler errors, which are stored and logged, must not carry them either.
// The scheduler never runs a handler inside a store transaction and never
// holds a transaction open while a handler runs.
package scheduler

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/internal/store"
)

// Store layout. All keys live under "sched/", so the scheduler shares a
// store with the KMS core without colliding with it.
//
//	sched/job/<id>              -> record (JSON): the job and its retry state
//	sched/due/<nanos>/<id>      -> kind: index by next run time; <nanos> is the
//	                               Unix time in nanoseconds, zero-padded to 19
//	                               digits so that key order is time order
//	sched/claim/<id>            -> claim (JSON): node, token, lease expiry
//
// A record and its index entry are always written in the same transaction.
const (
	jobPrefix   = "sched/job/"
	duePrefix   = "sched/due/"
	claimPrefix = "sched/claim/"
	nanosDigits = 19
)

// MaxIDLen is the longest job ID the scheduler accepts, in bytes.
const MaxIDLen = 512

// maxErrorLen bounds the last error stored with a job.
const maxErrorLen = 512

// ErrLeaseLost is returned by CompleteTx, and is the cause of a handler's
// context cancellation, when the attempt no longer holds the job's claim:
// the lease expired and another node took the job over, or the job was
// cancelled or replaced while it ran.
var ErrLeaseLost = errors.New("scheduler: job lease lost")

// errCorrupt marks a stored record that does not decode. RunDue skips such
// a job, and logs it, rather than stop at it.
var errCorrupt = errors.New("scheduler: corrupt record")

// Job is one piece of scheduled work.
type Job struct {
	// ID identifies the job. It must be deterministic for the work it
	// stands for, such as "rotate/<keyid>/<n>" or "delete/<keyid>", so that
	// scheduling the same work twice stores one job.
	ID string
	// Kind selects the handler, such as "rotate" or "delete".
	Kind string
	// Due is when the job should run.
	Due time.Time
	// Data is passed to the handler unchanged. It is stored in the
	// untrusted store and must never hold key material.
	Data []byte

	// The fields below are set by the scheduler and ignored by Schedule.

	// Attempt is the number of attempts started so far, counting this one
	// when the Job is passed to a handler. An Attempt above 1 means an
	// earlier attempt failed or was abandoned, possibly after doing part
	// of the work.
	Attempt int
	// LastError is the error of the last failed attempt, if any.
	LastError string
	// Next is when the scheduler will next try to run the job: Due, or a
	// later time after a failed attempt.
	Next time.Time

	token string // the claim this attempt holds; set only for handlers
}

// Handler does the work of one job. It runs outside any store transaction
// and may be run more than once for the same job (see the package
// documentation); a handler that needs exactly-once effects calls CompleteTx
// in its work transaction. ctx is cancelled, with cause ErrLeaseLost, if the
// attempt loses its claim. A handler that returns an error is retried later.
// A handler must not call Schedule or other methods that open their own
// transaction from inside a store transaction; it uses the Tx variants.
type Handler func(ctx context.Context, job Job) error

// Options configures a Scheduler. The zero value is usable.
type Options struct {
	// Clock is the source of time; nil means the system clock.
	Clock Clock
	// Node identifies this node in claims and logs. Each running process
	// must use a distinct Node; empty means a random one.
	Node string
	// LeaseDuration is how long a claim lasts without renewal; a running
	// handler renews it every third of it. Default 1m.
	LeaseDuration time.Duration
	// PollInterval is the longest Run waits before looking for due jobs
	// again, and so the longest a job scheduled by another node can wait
	// past its due time. Default 1s.
	PollInterval time.Duration
	// RetryBackoff is the wait after a job's first failed attempt; it
	// doubles with each further failure up to MaxRetryBackoff. Defaults
	// 10s and 1h.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
}

// Scheduler runs due jobs from a store. It is safe for concurrent use.
type Scheduler struct {
	store      store.Store
	clock      Clock
	node       string
	lease      time.Duration
	poll       time.Duration
	backoff    time.Duration
	maxBackoff time.Duration
	log        *slog.Logger

	wake chan struct{} // nudges Run after a local Schedule

	mu       sync.RWMutex
	handlers map[string]Handler
	unknown  map[string]bool // kinds without a handler, already logged
}

// New returns a Scheduler over s. Jobs are shared by every Scheduler on the
// same store.
func New(s store.Store, opts Options) *Scheduler {
	sch := &Scheduler{
		store:      s,
		clock:      opts.Clock,
		node:       opts.Node,
		lease:      opts.LeaseDuration,
		poll:       opts.PollInterval,
		backoff:    opts.RetryBackoff,
		maxBackoff: opts.MaxRetryBackoff,
		log:        opts.Logger,
		wake:       make(chan struct{}, 1),
		handlers:   map[string]Handler{},
		unknown:    map[string]bool{},
	}
	if sch.clock == nil {
		sch.clock = systemClock{}
	}
	if sch.node == "" {
		sch.node = "node-" + rand.Text()[:13]
	}
	if sch.lease <= 0 {
		sch.lease = time.Minute
	}
	if sch.poll <= 0 {
		sch.poll = time.Second
	}
	if sch.backoff <= 0 {
		sch.backoff = 10 * time.Second
	}
	if sch.maxBackoff <= 0 {
		sch.maxBackoff = time.Hour
	}
	if sch.maxBackoff < sch.backoff {
		sch.maxBackoff = sch.backoff
	}
	if sch.log == nil {
		sch.log = slog.New(slog.DiscardHandler)
	}
	sch.log = sch.log.With("component", "scheduler", "node", sch.node)
	return sch
}

// Node returns this scheduler's node id.
func (s *Scheduler) Node() string { return s.node }

// Handle registers h for jobs of the given kind. It panics if kind is empty,
// h is nil or kind already has a handler. Jobs whose kind has no handler on
// this node are left for other nodes.
func (s *Scheduler) Handle(kind string, h Handler) {
	if kind == "" || h == nil {
		panic("scheduler: Handle needs a kind and a handler")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.handlers[kind]; dup {
		panic("scheduler: duplicate handler for kind " + strconv.Quote(kind))
	}
	s.handlers[kind] = h
}

func (s *Scheduler) handler(kind string) Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[kind]
}

// Schedule stores job in its own transaction; see ScheduleTx.
func (s *Scheduler) Schedule(ctx context.Context, job Job) error {
	return s.store.Update(ctx, func(tx store.Tx) error { return s.ScheduleTx(tx, job) })
}

// ScheduleTx stores job inside tx, which must belong to the scheduler's
// store, so that the job exists exactly when tx commits.
//
// Scheduling is an upsert by ID. Scheduling a job identical in Kind, Due and
// Data to the stored one changes nothing (its retry state is kept). A job
// that differs replaces the stored one: its retry state is reset and an
// attempt running the old version loses its claim (its CompleteTx fails).
// Once a job has completed it is gone; scheduling it again schedules it anew.
func (s *Scheduler) ScheduleTx(tx store.Tx, job Job) error {
	if err := validate(job); err != nil {
		return err
	}
	due := job.Due.UTC()
	old, err := getRecord(tx, job.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case old.Kind == job.Kind && old.Due.Equal(due) && bytes.Equal(old.Data, job.Data):
		return nil
	default:
		if err := tx.Delete(dueKey(old.Next, job.ID)); err != nil {
			return err
		}
		if err := tx.Delete(claimPrefix + job.ID); err != nil {
			return err
		}
	}
	rec := record{Kind: job.Kind, Due: due, Data: job.Data, Next: due}
	if err := putRecord(tx, job.ID, rec); err != nil {
		return err
	}
	if err := tx.Put(dueKey(due, job.ID), []byte(job.Kind)); err != nil {
		return err
	}
	s.nudge()
	return nil
}

// CancelTx deletes the job with the given ID inside tx, together with any
// claim on it, so that a running attempt's CompleteTx fails. Cancelling a
// job that does not exist is not an error.
func (s *Scheduler) CancelTx(tx store.Tx, id string) error {
	rec, err := getRecord(tx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return deleteJob(tx, id, rec)
}

// CompleteTx deletes the job inside tx, which a handler uses for the work of
// job, so that the work and the job's completion commit together. job must
// be the Job passed to the handler. CompleteTx returns ErrLeaseLost, and the
// handler must then abort tx, if the attempt no longer holds the job's
// claim. A handler that reschedules its own ID calls CompleteTx first and
// ScheduleTx after it.
func (s *Scheduler) CompleteTx(tx store.Tx, job Job) error {
	if job.token == "" {
		return errors.New("scheduler: CompleteTx needs the Job passed to a handler")
	}
	if err := checkClaim(tx, job.ID, job.token); err != nil {
		return err
	}
	rec, err := getRecord(tx, job.ID)
	if err != nil {
		// A claim without its job cannot be written by this package.
		return fmt.Errorf("scheduler: complete %q: %w", job.ID, err)
	}
	return deleteJob(tx, job.ID, rec)
}

// Pending returns the stored jobs whose IDs start with prefix, in ID order,
// with their retry state. It includes jobs that are running.
func (s *Scheduler) Pending(ctx context.Context, prefix string) ([]Job, error) {
	var jobs []Job
	err := s.store.View(ctx, func(tx store.Tx) error {
		es, err := tx.List(jobPrefix+prefix, "", 0)
		if err != nil {
			return err
		}
		jobs = make([]Job, 0, len(es))
		for _, e := range es {
			id := strings.TrimPrefix(e.Key, jobPrefix)
			var rec record
			if err := json.Unmarshal(e.Value, &rec); err != nil {
				return fmt.Errorf("%w: job %q: %v", errCorrupt, id, err)
			}
			jobs = append(jobs, rec.job(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: pending: %w", err)
	}
	return jobs, nil
}

// nudge wakes Run so that it reconsiders when to look for due jobs next.
func (s *Scheduler) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func validate(job Job) error {
	switch {
	case job.ID == "" || len(job.ID) > MaxIDLen || !utf8.ValidString(job.ID):
		return fmt.Errorf("scheduler: invalid job ID %q", job.ID)
	case job.Kind == "" || !utf8.ValidString(job.Kind):
		return fmt.Errorf("scheduler: job %q: invalid kind %q", job.ID, job.Kind)
	case job.Due.Before(minTime) || job.Due.After(maxTime):
		return fmt.Errorf("scheduler: job %q: due time %v out of range", job.ID, job.Due)
	}
	return nil
}

// The due index encodes times as Unix nanoseconds, which int64 holds from
// 1970 to 2262.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, 1<<63-1)
)

// record is a stored job.
type record struct {
	Kind      string    `json:"kind"`
	Due       time.Time `json:"due"`
	Data      []byte    `json:"data,omitempty"`
	Next      time.Time `json:"next"`
	Attempts  int       `json:"attempts,omitempty"`
	LastError string    `json:"last_error,omitempty"`
}

func (r record) job(id string) Job {
	return Job{ID: id, Kind: r.Kind, Due: r.Due, Data: r.Data, Attempt: r.Attempts, LastError: r.LastError, Next: r.Next}
}

// claim is a node's exclusive, leased right to run a job.
type claim struct {
	Node    string    `json:"node"`
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

func dueKey(t time.Time, id string) string {
	return fmt.Sprintf("%s%0*d/%s", duePrefix, nanosDigits, t.UnixNano(), id)
}

// parseDueKey splits an index key into its time and job ID.
func parseDueKey(key string) (time.Time, string, error) {
	rest, ok := strings.CutPrefix(key, duePrefix)
	if !ok || len(rest) < nanosDigits+2 || rest[nanosDigits] != '/' {
		return time.Time{}, "", fmt.Errorf("scheduler: malformed index key %q", key)
	}
	n, err := strconv.ParseInt(rest[:nanosDigits], 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("scheduler: malformed index key %q", key)
	}
	return time.Unix(0, n).UTC(), rest[nanosDigits+1:], nil
}

func getRecord(tx store.Tx, id string) (record, error) {
	var rec record
	b, err := tx.Get(jobPrefix + id)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%w: job %q: %v", errCorrupt, id, err)
	}
	return rec, nil
}

func putRecord(tx store.Tx, id string, rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Put(jobPrefix+id, b)
}

func getClaim(tx store.Tx, id string) (claim, error) {
	var c claim
	b, err := tx.Get(claimPrefix + id)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%w: claim %q: %v", errCorrupt, id, err)
	}
	return c, nil
}

// checkClaim returns nil if token holds the claim on id, and ErrLeaseLost if
// the claim is gone or belongs to another attempt. It does not look at the
// lease expiry: an expired claim that nobody has taken over is still ours.
func checkClaim(tx store.Tx, id, token string) error {
	c, err := getClaim(tx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Token != token) {
		return ErrLeaseLost
	}
	return err
}

func deleteJob(tx store.Tx, id string, rec record) error {
	for _, k := range []string{jobPrefix + id, dueKey(rec.Next, id), claimPrefix + id} {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
