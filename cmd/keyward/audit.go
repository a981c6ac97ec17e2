package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/server"
)

func auditUsage(w io.Writer) {
	fmt.Fprint(w, `usage: keyward audit <command> [flags]

commands:
  verify   check the audit log's hash chain, digests and signatures, and
           that it reaches the last record the server's store remembers
           as durable (skipped with --no-mark, or while a server runs)
           keyward audit verify [--data-dir D] [--dir D] [--public-key F] [--no-mark]
  query    print audit records
           keyward audit query [--start T] [--end T] [--key K] [--principal P]
                               [--event-name N] [--error-code C] [--output json|table]

--dir defaults to <data-dir>/audit and --public-key to
<data-dir>/audit-signing-key.pub.pem; times are RFC 3339 (2024-05-01T00:00:00Z).
`)
}

func auditCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		auditUsage(stderr)
		return 2
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], getenv, stdout, stderr)
	case "query":
		return auditQuery(args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		auditUsage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "keyward audit: unknown command %q\n", args[0])
		auditUsage(stderr)
		return 2
	}
}

// auditDirs binds --data-dir and --dir; after parsing, auditDir returns the
// audit directory they name.
func auditDirs(fs *flag.FlagSet, getenv func(string) string) (dataDir *string, auditDir func() string) {
	dataDir = fs.String("data-dir", cmp.Or(getenv("KEYWARD_DATA_DIR"), server.DefaultDataDir), "the server's data directory (KEYWARD_DATA_DIR)")
	dir := fs.String("dir", getenv("KEYWARD_AUDIT_DIR"), "the audit directory (KEYWARD_AUDIT_DIR; default <data-dir>/audit)")
	return dataDir, func() string { return cmp.Or(*dir, server.DefaultAuditDir(*dataDir)) }
}

func auditVerify(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keyward audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir, auditDir := auditDirs(fs, getenv)
	pubFile := fs.String("public-key", "", "PEM public key of the audit signing key (default <data-dir>/audit-signing-key.pub.pem)")
	noMark := fs.Bool("no-mark", false, "do not check the trail against the last durable record in <data-dir>'s store (for a copy that is meant to be older)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keyward audit verify: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	d := auditDir()
	pf := cmp.Or(*pubFile, server.AuditPublicKeyFile(*dataDir))
	pub, err := readPublicKey(pf)
	if err != nil {
		fmt.Fprintf(stderr, "keyward audit verify: --public-key: %v\n", err)
		return 2
	}
	var mark audit.Mark
	markLine := "not checked (--no-mark)"
	if !*noMark {
		m, err := storeMark(*dataDir)
		switch {
		case errors.Is(err, errMarkUnreadable):
			markLine = "not checked: " + err.Error()
		case err != nil:
			fmt.Fprintf(stderr, "keyward audit verify: %v\n", err)
			return 1
		case m.LogID == "":
			markLine = "not checked: the store remembers none"
		default:
			mark = m
			markLine = fmt.Sprintf("the server's store says record %d of log %s was durable", m.Seq, m.LogID)
		}
	}
	rep, err := audit.VerifyMark(d, pub, mark)
	if err != nil {
		fmt.Fprintf(stderr, "keyward audit verify: %v\n", err)
		return 1
	}
	printReport(stdout, d, rep, markLine)
	if !rep.OK() {
		return 1
	}
	return 0
}

// errMarkUnreadable wraps the reasons storeMark could not read a store,
// as opposed to a store whose mark is not the server's.
var errMarkUnreadable = errors.New("no store to read")

// storeMark reads the last record dataDir's store remembers the audit trail
// made durable (server.DurableMark), as the server checks it at start.
func storeMark(dataDir string) (audit.Mark, error) {
	root, st, err := openRootAndStore(dataDir, false)
	switch {
	case errors.Is(err, errNoDataDir):
		return audit.Mark{}, fmt.Errorf("%w: %v", errMarkUnreadable, err)
	case errors.Is(err, errStoreLocked):
		return audit.Mark{}, fmt.Errorf("%w: %v; a running server checks its trail against the mark when it starts", errMarkUnreadable, err)
	case err != nil:
		return audit.Mark{}, err
	}
	defer st.Close()
	return server.DurableMark(context.Background(), st, root)
}

func printReport(w io.Writer, dir string, rep *audit.Report, markLine string) {
	if rep.OK() {
		fmt.Fprintf(w, "audit log %s: OK\n", dir)
	} else {
		fmt.Fprintf(w, "audit log %s: FAILED, %d problem(s)\n", dir, len(rep.Problems))
	}
	if rep.Records > 0 {
		fmt.Fprintf(w, "  records   %d to %d (%d) in %d file(s)\n", rep.FirstSeq, rep.LastSeq, rep.Records, rep.Files)
	} else {
		fmt.Fprintf(w, "  records   none, in %d file(s)\n", rep.Files)
	}
	fmt.Fprintf(w, "  digests   %d with a valid signature\n", rep.Digests)
	switch {
	case rep.SignedSeq == 0:
		fmt.Fprintf(w, "  signed    no record is covered by a signed digest yet\n")
	default:
		fmt.Fprintf(w, "  signed    records up to %d are covered by signed digests\n", rep.SignedSeq)
	}
	if len(rep.Pending) > 0 {
		fmt.Fprintf(w, "  pending   %s: written after the newest digest, protected by the hash chain only until the next one\n", strings.Join(rep.Pending, ", "))
	}
	fmt.Fprintf(w, "  mark      %s\n", markLine)
	if rep.TornTail != "" {
		fmt.Fprintf(w, "  torn tail %s: a write in flight, or a crash the server repairs when it starts\n", rep.TornTail)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  PROBLEM   %s\n", p)
	}
}

func readPublicKey(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s: no PEM PUBLIC KEY block", path)
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return pub, nil
}

func auditQuery(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keyward audit query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	_, auditDir := auditDirs(fs, getenv)
	start := fs.String("start", "", "only records at or after this time (RFC 3339)")
	end := fs.String("end", "", "only records at or before this time (RFC 3339)")
	var f audit.Filter
	fs.StringVar(&f.KeyID, "key", "", "only records about this key (key id or key ARN)")
	fs.StringVar(&f.Principal, "principal", "", "only records of this principal (ARN or principal id)")
	fs.StringVar(&f.EventName, "event-name", "", "only records of this operation, e.g. Decrypt")
	fs.StringVar(&f.ErrorCode, "error-code", "", "only records of requests that failed with this error, e.g. AccessDeniedException")
	output := fs.String("output", "table", "json (one CloudTrail record per line) or table")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "keyward audit query: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	for _, t := range []struct {
		name string
		s    string
		dst  *time.Time
	}{{"--start", *start, &f.Start}, {"--end", *end, &f.End}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.s)
		if err != nil {
			fmt.Fprintf(stderr, "keyward audit query: %s: %q is not an RFC 3339 time such as 2024-05-01T00:00:00Z\n", t.name, t.s)
			return 2
		}
		*t.dst = v
	}
	if *output != "json" && *output != "table" {
		fmt.Fprintf(stderr, "keyward audit query: --output: %q is not json or table\n", *output)
		return 2
	}
	d := auditDir()

	var emit func(*audit.Event) error
	var flush func() error
	switch *output {
	case "json":
		enc := json.NewEncoder(stdout)
		emit = func(e *audit.Event) error { return enc.Encode(e) }
		flush = func() error { return nil }
	case "table":
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tSOURCE\tEVENT\tPRINCIPAL\tKEY\tRESULT\tSOURCE IP")
		n := 0
		emit = func(e *audit.Event) error {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.EventTime.UTC().Format(time.RFC3339),
				strings.TrimSuffix(e.EventSource, ".amazonaws.com"), e.EventName, principal(e), keyColumn(e),
				cmp.Or(e.ErrorCode, "OK"), e.SourceIPAddress)
			// Flush now and then: columns align within each block, and
			// output streams.
			if n++; n%200 == 0 {
				return tw.Flush()
			}
			return nil
		}
		flush = tw.Flush
	}
	var werr error
	err := audit.Query(d, f, func(e *audit.Event) bool {
		werr = emit(e)
		return werr == nil
	})
	if ferr := flush(); werr == nil {
		werr = ferr
	}
	if err != nil {
		fmt.Fprintf(stderr, "keyward audit query: %v\n", err)
		return 1
	}
	if werr != nil && !errors.Is(werr, os.ErrClosed) {
		fmt.Fprintf(stderr, "keyward audit query: %v\n", werr)
		return 1
	}
	return 0
}

// principal is who made a request, for the table.
func principal(e *audit.Event) string {
	u := &e.UserIdentity
	switch {
	case u.ARN != "":
		return u.ARN
	case u.InvokedBy != "":
		return u.InvokedBy
	case u.AccessKeyID != "":
		return "unauthenticated " + u.AccessKeyID
	}
	return "unauthenticated"
}

// keyColumn lists the keys of a record by key id.
func keyColumn(e *audit.Event) string {
	var ids []string
	for _, r := range e.Resources {
		ids = append(ids, r.ARN[strings.LastIndexByte(r.ARN, '/')+1:])
	}
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ",")
}
