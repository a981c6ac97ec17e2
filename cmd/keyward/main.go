// Command keyward runs the Keyward key management server and its tools.
//
//	keyward server [flags]   run the AWS-KMS-compatible server
//	keyward admin ...        create accounts, list principals (on a stopped server's data dir)
//	keyward audit verify     check the audit log; keyward audit query: print it
//	keyward version          print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/keyward/keyward/internal/server"
)

const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "server":
		return serve(args[1:], getenv, stderr)
	case "admin":
		return admin(args[1:], getenv, stdout, stderr)
	case "audit":
		return auditCmd(args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "keyward", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "keyward: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: keyward <command> [flags]

commands:
  server    run the AWS-KMS-compatible server (keyward server -h for flags)
  admin     bootstrap accounts and list principals (keyward admin help)
  audit     verify or query the audit log (keyward audit help)
  version   print the version
`)
}

func serve(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("keyward server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	cfg.BindFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "keyward:", err)
		return 2
	}
	var level slog.Level
	level.UnmarshalText([]byte(strings.ToLower(cfg.LogLevel)))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Open(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "keyward:", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		srv.Close()
		fmt.Fprintf(stderr, "keyward: --listen: %v\n", err)
		return 1
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		srv.Close()
		fmt.Fprintln(stderr, "keyward:", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "keyward: shutdown:", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
