package server

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/scheduler"
)

// Config is the server's one typed configuration, validated once at start.
// Sources, lowest precedence first: defaults, KEYWARD_* environment
// variables, command-line flags.
type Config struct {
	Listen    string        // --listen, KEYWARD_LISTEN
	DataDir   string        // --data-dir, KEYWARD_DATA_DIR
	Region    string        // --region, KEYWARD_REGION
	AccountID string        // --account-id, KEYWARD_ACCOUNT_ID
	TLSCert   string        // --tls-cert, KEYWARD_TLS_CERT
	TLSKey    string        // --tls-key, KEYWARD_TLS_KEY
	MaxSkew   time.Duration // --max-skew, KEYWARD_MAX_SKEW
	LogLevel  string        // --log-level, KEYWARD_LOG_LEVEL

	// Clock is the time source of the KMS core and its lifecycle scheduler
	// (rotation, deletion, expiry). It is for tests that move time; it has
	// no flag. nil: the system clock.
	Clock scheduler.Clock

	// The audit trail (audit.go). Zero values select the defaults.
	AuditDir            string        // --audit-dir, KEYWARD_AUDIT_DIR; "" is <data-dir>/audit
	AuditRetention      time.Duration // --audit-retention, KEYWARD_AUDIT_RETENTION; 0 keeps every record
	AuditMaxFileSize    int64         // --audit-max-file-size, KEYWARD_AUDIT_MAX_FILE_SIZE; 0 is 64 MiB
	AuditMaxFileAge     time.Duration // --audit-max-file-age, KEYWARD_AUDIT_MAX_FILE_AGE; 0 is 1h
	AuditDigestInterval time.Duration // --audit-digest-interval, KEYWARD_AUDIT_DIGEST_INTERVAL; 0 is 1h
	// AuditUsageSaveInterval (--audit-usage-save-interval,
	// KEYWARD_AUDIT_USAGE_SAVE_INTERVAL; 0 is 1m): how often the
	// GetKeyLastUsage index is saved while records come in.
	AuditUsageSaveInterval time.Duration
	// InsecureBenchmarkAuditNoFsync (--insecure-benchmark-audit-no-fsync,
	// no environment variable) lets responses leave before their audit
	// records reach the disk. It exists only to measure what durability
	// costs; never set it on a server that holds real keys.
	InsecureBenchmarkAuditNoFsync bool
	// AuditNewTrail (--audit-new-trail, no environment variable) lets the
	// server start a new audit trail when the audit directory no longer
	// holds the one its store says it wrote (removed, emptied, or another
	// trail). It is for the one start after an operator moved a damaged
	// trail aside; without it such a start is refused.
	AuditNewTrail bool

	envErr error // an environment variable that did not parse
}

// Defaults.
const (
	DefaultListen    = "127.0.0.1:7878"
	DefaultDataDir   = "./keyward-data"
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "111122223333"
	DefaultMaxSkew   = 5 * time.Minute
)

// BindFlags registers the server flags on fs with defaults taken from the
// environment, so that flags override environment variables.
func (c *Config) BindFlags(fs *flag.FlagSet, getenv func(string) string) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Listen, "listen", env("KEYWARD_LISTEN", DefaultListen), "address to listen on (KEYWARD_LISTEN)")
	fs.StringVar(&c.DataDir, "data-dir", env("KEYWARD_DATA_DIR", DefaultDataDir), "directory for the store, root key and credentials (KEYWARD_DATA_DIR)")
	fs.StringVar(&c.Region, "region", env("KEYWARD_REGION", DefaultRegion), "AWS region this server answers for (KEYWARD_REGION)")
	fs.StringVar(&c.AccountID, "account-id", env("KEYWARD_ACCOUNT_ID", DefaultAccountID), "12-digit id of the account created on first start (KEYWARD_ACCOUNT_ID)")
	fs.StringVar(&c.TLSCert, "tls-cert", env("KEYWARD_TLS_CERT", ""), "TLS certificate file; serve HTTPS when set with --tls-key (KEYWARD_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("KEYWARD_TLS_KEY", ""), "TLS private key file (KEYWARD_TLS_KEY)")
	fs.StringVar(&c.LogLevel, "log-level", env("KEYWARD_LOG_LEVEL", "info"), "debug, info, warn or error (KEYWARD_LOG_LEVEL)")
	skew := DefaultMaxSkew
	if v := getenv("KEYWARD_MAX_SKEW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			c.envErr = fmt.Errorf("KEYWARD_MAX_SKEW: %q is not a duration such as 5m", v)
		}
		skew = d
	}
	fs.DurationVar(&c.MaxSkew, "max-skew", skew, "allowed clock skew of signed requests, at most 15m (KEYWARD_MAX_SKEW)")
	c.bindAuditFlags(fs, getenv)
}

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
)

// Validate checks every field and returns a one-line error naming the flag.
func (c *Config) Validate() error {
	if c.envErr != nil {
		return c.envErr
	}
	if c.MaxSkew <= 0 || c.MaxSkew > 15*time.Minute {
		return fmt.Errorf("--max-skew: %v is out of range; want more than 0 and at most 15m", c.MaxSkew)
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return fmt.Errorf("--listen: %q is not host:port", c.Listen)
	}
	if c.DataDir == "" {
		return errors.New("--data-dir: must not be empty")
	}
	if !regionRE.MatchString(c.Region) {
		return fmt.Errorf("--region: %q is not an AWS region name such as us-east-1", c.Region)
	}
	if !accountRE.MatchString(c.AccountID) {
		return fmt.Errorf("--account-id: %q is not a 12-digit account id", c.AccountID)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key: give both or neither")
	}
	for flagName, path := range map[string]string{"--tls-cert": c.TLSCert, "--tls-key": c.TLSKey} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %v", flagName, err)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	return c.validateAudit()
}
