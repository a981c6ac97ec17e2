package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/store"
)

// batchSize is how many index entries RunDue reads per transaction.
const batchSize = 64

// Run looks for due jobs and runs them until ctx is done, then returns
// ctx's error. It runs RunDue at once, so jobs that fell due while the
// process was down run first (catch-up), and then whenever the earliest
// stored job falls due, or at least every PollInterval. Errors from the
// store are logged and retried at the next poll.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		if _, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("running due jobs", "err", err)
		}
		wait := s.untilNext(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.clock.After(wait):
		case <-s.wake:
		}
	}
}

// untilNext returns how long Run should sleep: until the earliest stored
// job's next run time, but no longer than the poll interval. A job that is
// already due but was not run (claimed elsewhere, or no handler here) waits
// for the poll interval, so that Run never spins.
func (s *Scheduler) untilNext(ctx context.Context) time.Duration {
	var next time.Time
	err := s.store.View(ctx, func(tx store.Tx) error {
		es, err := tx.List(duePrefix, "", 1)
		if err != nil || len(es) == 0 {
			return err
		}
		next, _, err = parseDueKey(es[0].Key)
		return err
	})
	if err != nil || next.IsZero() {
		return s.poll
	}
	if d := next.Sub(s.clock.Now()); d > 0 && d < s.poll {
		return d
	}
	return s.poll
}

// RunDue runs, one after another in order of their next run time, the jobs
// that are due at the clock's current time, have a handler on this node and
// are not claimed by a live lease elsewhere. It returns how many handlers it
// ran, successful or not; a failing handler is recorded on its job for a
// later retry, not returned. RunDue returns an error only when the store
// fails or ctx is done.
//
// Handlers run one at a time, so a slow handler delays this node's later
// jobs; other nodes can still take them. Jobs that fall due while RunDue
// runs wait for the next call.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	now := s.clock.Now()
	ran := 0
	after := ""
	for {
		type due struct {
			at       time.Time
			id, kind string
		}
		var batch []due
		more := false
		from := after
		err := s.store.View(ctx, func(tx store.Tx) error {
			batch, after = nil, from
			es, err := tx.List(duePrefix, from, batchSize)
			if err != nil {
				return err
			}
			more = len(es) == batchSize
			for _, e := range es {
				at, id, err := parseDueKey(e.Key)
				if err != nil {
					// Skipped, not fatal: one bad entry must not stop
					// every job behind it.
					s.log.Error("skipping index entry", "err", err)
					after = e.Key
					continue
				}
				if at.After(now) {
					more = false
					break
				}
				batch = append(batch, due{at, id, string(e.Value)})
				after = e.Key
			}
			return nil
		})
		if err != nil {
			return ran, fmt.Errorf("scheduler: list due jobs: %w", err)
		}
		for _, d := range batch {
			if err := ctx.Err(); err != nil {
				return ran, err
			}
			h := s.handler(d.kind)
			if h == nil {
				s.noHandler(d.kind)
				continue
			}
			job, ok, err := s.claim(ctx, d.id, d.at, now)
			if errors.Is(err, errCorrupt) {
				s.log.Error("skipping job", "job", d.id, "err", err)
				continue
			}
			if err != nil {
				return ran, fmt.Errorf("scheduler: claim %q: %w", d.id, err)
			}
			if !ok {
				continue
			}
			s.execute(ctx, job, h)
			ran++
		}
		if err := ctx.Err(); err != nil {
			return ran, err
		}
		if !more {
			return ran, nil
		}
	}
}

func (s *Scheduler) noHandler(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.unknown[kind] {
		s.unknown[kind] = true
		s.log.Warn("no handler for job kind; leaving its jobs to other nodes", "kind", kind)
	}
}

// claim takes the job with the given ID for this node, if it is still due
// at the index time at, no later than now, and no live lease holds it. It
// counts the attempt in the same transaction, so an attempt abandoned by a
// crash is still counted.
func (s *Scheduler) claim(ctx context.Context, id string, at, now time.Time) (Job, bool, error) {
	var job Job
	ok := false
	var previous string // node whose expired lease this claim takes over
	err := s.store.Update(ctx, func(tx store.Tx) error {
		ok, previous = false, ""
		rec, err := getRecord(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			// Completed or cancelled since the index was read; a stale
			// index entry without its job is removed.
			return tx.Delete(dueKey(at, id))
		}
		if err != nil {
			return err
		}
		if !rec.Next.Equal(at) || rec.Next.After(now) {
			return nil // rescheduled since the index was read
		}
		t := s.clock.Now()
		c, err := getClaim(tx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case t.Before(c.Expires):
			return nil // held by a live lease
		default:
			previous = c.Node
		}
		c = claim{Node: s.node, Token: rand.Text(), Expires: t.Add(s.lease).UTC()}
		if err := putClaim(tx, id, c); err != nil {
			return err
		}
		rec.Attempts++
		if err := putRecord(tx, id, rec); err != nil {
			return err
		}
		job = rec.job(id)
		job.token = c.Token
		ok = true
		return nil
	})
	if err != nil {
		return Job{}, false, err
	}
	if ok && previous != "" {
		s.log.Warn("took over job whose lease expired; it may have run in part",
			"job", id, "kind", job.Kind, "previous_node", previous, "attempt", job.Attempt)
	}
	return job, ok, nil
}

// execute runs h for a claimed job, renews the lease while it runs and
// records the outcome.
func (s *Scheduler) execute(ctx context.Context, job Job, h Handler) {
	hctx, cancel := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.keepLease(hctx, job, cancel, stop) })

	s.log.Debug("running job", "job", job.ID, "kind", job.Kind, "attempt", job.Attempt)
	err := s.call(hctx, h, job)
	close(stop)
	wg.Wait()
	lost := errors.Is(context.Cause(hctx), ErrLeaseLost)
	cancel(nil)

	if err := s.finish(ctx, job, err, lost); err != nil {
		// The claim stays; the lease expires and the job is run again.
		s.log.Error("recording job outcome", "job", job.ID, "kind", job.Kind, "err", err)
	}
}

// call runs h, turning a panic into an error so that one bad job cannot
// take the node down, again and again at every restart. The stack goes to
// the log, not into the stored error.
func (s *Scheduler) call(ctx context.Context, h Handler, job Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("job handler panicked", "job", job.ID, "kind", job.Kind, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return h(ctx, job)
}

// keepLease renews the attempt's lease every third of the lease duration
// until stop is closed. It cancels the handler's context with ErrLeaseLost
// when the claim is gone or the lease runs out without a renewal.
func (s *Scheduler) keepLease(ctx context.Context, job Job, cancel context.CancelCauseFunc, stop <-chan struct{}) {
	expires := s.clock.Now().Add(s.lease)
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-s.clock.After(max(s.lease/3, time.Millisecond)):
		}
		t := s.clock.Now()
		err := s.store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
			if err := checkClaim(tx, job.ID, job.token); err != nil {
				return err
			}
			return putClaim(tx, job.ID, claim{Node: s.node, Token: job.token, Expires: t.Add(s.lease).UTC()})
		})
		switch {
		case err == nil:
			expires = t.Add(s.lease)
		case errors.Is(err, ErrLeaseLost):
			s.log.Warn("job lease lost while running", "job", job.ID, "kind", job.Kind)
			cancel(ErrLeaseLost)
			return
		case !t.Before(expires):
			s.log.Error("job lease expired: cannot renew", "job", job.ID, "kind", job.Kind, "err", err)
			cancel(ErrLeaseLost)
			return
		default:
			s.log.Warn("renewing job lease", "job", job.ID, "kind", job.Kind, "err", err)
		}
	}
}

// finish records the outcome of an attempt, if the attempt still holds its
// claim: success deletes the job; failure schedules a retry with backoff;
// failure because ctx was cancelled (shutdown) releases the claim so that
// another node, or this one after a restart, runs the job at once.
func (s *Scheduler) finish(ctx context.Context, job Job, herr error, lost bool) error {
	shutdown := herr != nil && ctx.Err() != nil && !lost
	outcome := ""
	err := s.store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if err := checkClaim(tx, job.ID, job.token); err != nil {
			outcome = "lost"
			if errors.Is(err, ErrLeaseLost) {
				return nil
			}
			return err
		}
		rec, err := getRecord(tx, job.ID)
		if err != nil {
			return err
		}
		switch {
		case herr == nil:
			outcome = "done"
			return deleteJob(tx, job.ID, rec)
		case shutdown:
			outcome = "released"
			return tx.Delete(claimPrefix + job.ID)
		}
		outcome = "retry"
		if err := tx.Delete(dueKey(rec.Next, job.ID)); err != nil {
			return err
		}
		rec.Next = s.clock.Now().Add(s.retryAfter(rec.Attempts)).UTC()
		if rec.Next.After(maxTime) {
			rec.Next = maxTime.UTC()
		}
		rec.LastError = truncate(herr.Error(), maxErrorLen)
		if err := putRecord(tx, job.ID, rec); err != nil {
			return err
		}
		if err := tx.Put(dueKey(rec.Next, job.ID), []byte(rec.Kind)); err != nil {
			return err
		}
		job.Next = rec.Next
		return tx.Delete(claimPrefix + job.ID)
	})
	if err != nil {
		return err
	}
	attrs := []any{"job", job.ID, "kind", job.Kind, "attempt", job.Attempt}
	switch outcome {
	case "done":
		s.log.Info("job done", attrs...)
	case "released":
		s.log.Info("job interrupted by shutdown; released", append(attrs, "err", herr)...)
	case "retry":
		s.log.Error("job failed; will retry", append(attrs, "err", herr, "next", job.Next)...)
	case "lost":
		// Completed by the handler through CompleteTx, cancelled, replaced
		// or taken over after the lease expired. Only the last is unusual,
		// and the node that took over logs it.
		s.log.Debug("job claim no longer held at finish", append(attrs, "err", herr)...)
	}
	return nil
}

// retryAfter returns the backoff after the given number of failed attempts:
// RetryBackoff doubled per further failure, capped at MaxRetryBackoff.
func (s *Scheduler) retryAfter(attempts int) time.Duration {
	d := s.backoff
	for i := 1; i < attempts && d < s.maxBackoff; i++ {
		d *= 2
	}
	return min(d, s.maxBackoff)
}

func putClaim(tx store.Tx, id string, c claim) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return tx.Put(claimPrefix+id, b)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
