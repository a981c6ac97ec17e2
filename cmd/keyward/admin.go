package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	bberrors "go.etcd.io/bbolt/errors"

	"github.com/keyward/keyward/internal/arn"
	"github.com/keyward/keyward/internal/iam"
	"github.com/keyward/keyward/internal/keystore"
	"github.com/keyward/keyward/internal/server"
	"github.com/keyward/keyward/internal/store/bolt"
)

// File names inside the data directory; they must match internal/server's.
const (
	adminRootKeyFile = "root.key"
	adminStoreFile   = "keyward.db"
)

const adminUsage = `usage: keyward admin <command> [flags]

Administer a stopped server's data directory.

commands:
  create-account   --account-id N [--data-dir D] [--credentials-file F]
                   create an account with one root access key; print the key
                   (or write it to F, mode 0600) in the AWS shared-credentials
                   format. The secret is shown only this once.
  list-principals  [--data-dir D]
                   list accounts, users, roles and access key ids with their
                   status; never secrets.

--data-dir defaults to $KEYWARD_DATA_DIR, then ./keyward-data.
`

// admin runs "keyward admin ...".
func admin(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	switch args[0] {
	case "create-account":
		return adminCreateAccount(args[1:], getenv, stdout, stderr)
	case "list-principals":
		return adminListPrincipals(args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, adminUsage)
		return 0
	}
	fmt.Fprintf(stderr, "keyward admin: unknown command %q\n", args[0])
	fmt.Fprint(stderr, adminUsage)
	return 2
}

func dataDirFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	def := getenv("KEYWARD_DATA_DIR")
	if def == "" {
		def = "./keyward-data"
	}
	return fs.String("data-dir", def, "data directory of a stopped server (env KEYWARD_DATA_DIR)")
}

// regionFlag is the region the server runs in, which decides the partition
// of the ARNs printed (arn:aws-cn:... for the China Regions).
func regionFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	def := getenv("KEYWARD_REGION")
	if def == "" {
		def = server.DefaultRegion
	}
	return fs.String("region", def, "region of the server, for the partition of the ARNs printed (env KEYWARD_REGION)")
}

// openDirectory opens the root key and store of dataDir. With create it
// makes the directory and root key if they are missing, as the server does
// on first start; without it, it refuses a directory that has none.
func openDirectory(dataDir, region string, create bool) (*iam.Directory, func() error, error) {
	root, st, err := openRootAndStore(dataDir, create)
	if errors.Is(err, errStoreLocked) {
		return nil, nil, fmt.Errorf("%w; stop it first", err)
	} else if err != nil {
		return nil, nil, err
	}
	return iam.New(st, root, iam.WithPartition(arn.Partition(region))), st.Close, nil
}

// The ways openRootAndStore finds no data directory to open.
var (
	errNoDataDir   = errors.New("is not a Keyward data directory")
	errStoreLocked = errors.New("a keyward server is probably running on this data directory")
)

// openRootAndStore opens the root key and store of dataDir, as the server
// does. With create it makes the directory and root key if they are
// missing; without it, a directory that has none is errNoDataDir. A store
// a running server holds is errStoreLocked.
func openRootAndStore(dataDir string, create bool) (*keystore.Soft, *bolt.DB, error) {
	keyPath := filepath.Join(dataDir, adminRootKeyFile)
	dbPath := filepath.Join(dataDir, adminStoreFile)
	if create {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("--data-dir: %w", err)
		}
	} else {
		for _, p := range []string{keyPath, dbPath} {
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("--data-dir: %s %w (no %s)", dataDir, errNoDataDir, filepath.Base(p))
			}
		}
	}
	root, _, err := keystore.OpenSoft(keyPath)
	if err != nil {
		return nil, nil, err
	}
	st, err := bolt.Open(dbPath)
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, nil, fmt.Errorf("the store %s is locked: %w", dbPath, errStoreLocked)
	}
	return root, st, err
}

func adminCreateAccount(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keyward admin create-account", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := dataDirFlag(fs, getenv)
	account := fs.String("account-id", "", "12-digit id of the new account")
	credFile := fs.String("credentials-file", "", "write the root access key to this new file (mode 0600) instead of printing it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(*account) != 12 || strings.Trim(*account, "0123456789") != "" {
		fmt.Fprintln(stderr, "keyward admin: --account-id must be 12 digits")
		return 2
	}
	// Create the file first, so that a bad path fails before the account
	// exists and its only copy of the secret is lost.
	var f *os.File
	if *credFile != "" {
		var err error
		f, err = os.OpenFile(*credFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			fmt.Fprintln(stderr, "keyward admin: --credentials-file:", err)
			return 1
		}
	}
	fail := func(err error) int {
		if f != nil {
			f.Close()
			os.Remove(*credFile)
		}
		fmt.Fprintln(stderr, "keyward admin:", err)
		return 1
	}
	dir, closeStore, err := openDirectory(*dataDir, server.DefaultRegion, true)
	if err != nil {
		return fail(err)
	}
	defer closeStore()
	akid, secret, err := dir.CreateAccount(context.Background(), *account, time.Now().UTC())
	if errors.Is(err, iam.ErrAccountExists) {
		return fail(fmt.Errorf("account %s already exists in %s", *account, *dataDir))
	} else if err != nil {
		return fail(err)
	}
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", akid, secret)
	if f == nil {
		fmt.Fprintf(stdout, "# account %s, root access key (the secret is not shown again)\n%s", *account, creds)
		return 0
	}
	_, err = f.WriteString(creds)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The account exists now; say which key the lost secret belongs to.
		fmt.Fprintf(stderr, "keyward admin: account %s created, but writing %s failed: %v; access key %s's secret is lost, delete that key once you have another\n", *account, *credFile, err, akid)
		return 1
	}
	fmt.Fprintf(stdout, "account %s created; root access key %s written to %s\n", *account, akid, *credFile)
	return 0
}

func adminListPrincipals(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keyward admin list-principals", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := dataDirFlag(fs, getenv)
	region := regionFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, closeStore, err := openDirectory(*dataDir, *region, false)
	if err != nil {
		fmt.Fprintln(stderr, "keyward admin:", err)
		return 1
	}
	defer closeStore()
	inv, err := dir.Inventory(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, "keyward admin:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	date := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	keys := func(acct iam.AccountInventory, user string) {
		for _, k := range acct.Keys {
			if strings.EqualFold(k.UserName, user) {
				fmt.Fprintf(tw, "    access key\t%s\t%s\t%s\n", k.ID, k.Status, date(k.Created))
			}
		}
	}
	for _, a := range inv {
		fmt.Fprintf(tw, "account\t%s\t\tcreated %s\n", a.Account.ID, date(a.Account.Created))
		fmt.Fprintf(tw, "  root\t%s\t%s\t\n", iam.RootARN(arn.Partition(*region), a.Account.ID), a.Account.ID)
		keys(a, "")
		for _, u := range a.Users {
			fmt.Fprintf(tw, "  user\t%s\t%s\tcreated %s\n", u.ARN, u.ID, date(u.Created))
			keys(a, u.Name)
		}
		for _, r := range a.Roles {
			fmt.Fprintf(tw, "  role\t%s\t%s\tmax session %ds\n", r.ARN, r.ID, r.MaxSessionDuration)
		}
		if a.Sessions > 0 {
			fmt.Fprintf(tw, "  sessions\t%d unexpired\t\t\n", a.Sessions)
		}
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "keyward admin:", err)
		return 1
	}
	return 0
}
