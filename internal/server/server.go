// Package server assembles a Keyward server from its configuration: data
// directory, root key, store, account bootstrap, SigV4 verifier and the HTTP
// door. It never prints; it logs through the slog.Logger it is given.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/awsapi"
	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/kms"
	"github.com/keyward/keyward/internal/scheduler"
	"github.com/keyward/keyward/internal/sigv4"
	"github.com/keyward/keyward/internal/store"
	"github.com/keyward/keyward/internal/store/bolt"
)

// Server is a running Keyward instance.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   store.Store
	http    *http.Server
	handler http.Handler

	// The key lifecycle scheduler runs while the server serves.
	sched     *scheduler.Scheduler
	schedOnce sync.Once
	schedStop context.CancelFunc // nil until the scheduler runs
	schedDone chan struct{}

	aud serverAudit // the audit trail (audit.go)

	// CredentialsFile is where the bootstrap credentials are.
	CredentialsFile string
}

// File names inside the data directory.
const (
	rootKeyFile     = "root.key"
	storeFile       = "keyward.db"
	credentialsFile = "credentials"
)

// Open prepares a server: it creates the data directory, root key, store and,
// on first start, the account with its root access key written to
// <data-dir>/credentials. cfg must have been validated.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	root, created, err := keystore.OpenSoft(filepath.Join(cfg.DataDir, rootKeyFile))
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created root key", "path", filepath.Join(cfg.DataDir, rootKeyFile))
	}
	st, err := bolt.Open(filepath.Join(cfg.DataDir, storeFile))
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: st, CredentialsFile: filepath.Join(cfg.DataDir, credentialsFile)}
	if err := s.bootstrap(ctx, st, root); err != nil {
		st.Close()
		return nil, err
	}
	dir := iam.New(st, root, iam.WithPartition(arn.Partition(cfg.Region)))
	s.sched = scheduler.New(st, scheduler.Options{Clock: cfg.Clock, Logger: log})
	s.aud.usage = awsapi.NewUsageIndex() // filled by openAudit
	svc, err := kms.New(kms.Config{Region: cfg.Region, Store: st, Wrapper: root, Logger: log, Scheduler: s.sched, Clock: cfg.Clock,
		Usage: s.aud.usage, OnServiceEvent: s.ServiceEvent, ServiceEventsReady: s.auditReady})
	if err != nil {
		st.Close()
		return nil, err
	}
	verifier, err := sigv4.New(awsapi.SecretLookup(dir), sigv4.Options{Region: cfg.Region, MaxSkew: cfg.MaxSkew})
	if err != nil {
		st.Close()
		return nil, err
	}
	alog, err := s.openAudit(ctx, st, root)
	if err != nil {
		st.Close()
		return nil, err
	}
	s.aud.api = awsapi.New(awsapi.Config{KMS: svc, Directory: dir, Verifier: verifier, MaxSkew: cfg.MaxSkew, Logger: log,
		Audit: awsapi.AuditConfig{Log: alog, Dir: cfg.auditDir(), Usage: s.aud.usage, Unrecorded: s.keepUnrecorded}})
	s.handler = s.aud.api
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// bootstrap creates the configured account on first start and writes its
// credentials file. Later starts reuse both; a different --account-id than
// the data directory was made for is refused.
func (s *Server) bootstrap(ctx context.Context, st store.Store, root keystore.Wrapper) error {
	var existing string
	err := st.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get("server/account")
		if err == nil {
			existing = string(b)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if existing != "" {
		if existing != s.cfg.AccountID {
			return fmt.Errorf("--account-id: data dir %s belongs to account %s, not %s", s.cfg.DataDir, existing, s.cfg.AccountID)
		}
		return nil
	}
	dir := iam.New(st, root, iam.WithPartition(arn.Partition(s.cfg.Region)))
	akid, secret, err := dir.EnsureAccount(ctx, s.cfg.AccountID, time.Now().UTC())
	if err != nil {
		return err
	}
	if akid != "" {
		if err := writeCredentials(s.CredentialsFile, akid, secret); err != nil {
			return err
		}
		s.log.Info("created account root credentials", "account", s.cfg.AccountID, "access_key_id", akid, "file", s.CredentialsFile)
	}
	return st.Update(ctx, func(tx store.Tx) error { return tx.Put("server/account", []byte(s.cfg.AccountID)) })
}

// writeCredentials writes an AWS shared-credentials file (mode 0600) durably.
func writeCredentials(path, akid, secret string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	_, err = fmt.Fprintf(f, "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", akid, secret)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// Handler returns the HTTP handler, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve accepts connections on ln until Shutdown. It returns
// http.ErrServerClosed after a graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	scheme := "http"
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	endpoint := scheme + "://" + ln.Addr().String()
	s.log.Info("keyward listening", "endpoint", endpoint, "region", s.cfg.Region, "account", s.cfg.AccountID)
	s.log.Info("try it", "command", fmt.Sprintf("AWS_SHARED_CREDENTIALS_FILE=%s aws --endpoint-url %s --region %s kms list-keys", s.CredentialsFile, endpoint, s.cfg.Region))
	s.startScheduler()
	return s.http.Serve(ln)
}

// Shutdown stops accepting, waits for in-flight requests (until ctx ends),
// stops the lifecycle scheduler (a job in progress is released and runs
// again at the next start), then closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	s.stopScheduler()
	if cerr := s.closeAudit(); err == nil {
		err = cerr
	}
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close closes the store of a server that never served.
func (s *Server) Close() error {
	s.stopScheduler()
	aerr := s.closeAudit()
	if err := s.store.Close(); err != nil {
		return err
	}
	return aerr
}

// startScheduler runs the key lifecycle scheduler (rotations, deletions,
// expiry of imported material) until stopScheduler. Its first pass does
// the work that fell due while the server was down.
func (s *Server) startScheduler() {
	s.schedOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.schedStop, s.schedDone = cancel, make(chan struct{})
		go func() {
			defer close(s.schedDone)
			s.sched.Run(ctx)
		}()
	})
}

// stopScheduler stops the scheduler and waits for a job in progress, which
// is released for the next start, so that the store can be closed.
func (s *Server) stopScheduler() {
	s.schedOnce.Do(func() {}) // a scheduler that never started must not start now
	if s.schedStop != nil {
		s.schedStop()
		<-s.schedDone
	}
}
