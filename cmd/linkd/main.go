// Command linkd is the link service of an SMS lead platform: it creates
// per-lead short links, redirects taps on them, and delivers signed
// webhooks about links sent, delivered and clicked.
//
// Usage:
//
//	linkd serve [flags]     run the service
//	linkd listen [flags]    receive, verify and print webhooks
//	linkd backup [flags]    copy the database to a file
//	linkd check [flags]     verify a database file
//	linkd version           print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt,
		syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkd:", err)
		os.Exit(1)
	}
}

const usage = `usage: linkd <command> [flags]   (no command: serve)

commands:
  serve     run the service (linkd serve -h lists its flags)
  listen    receive webhooks on a local port, verify and print them
  backup    copy the database, from a running linkd or a stopped file, to --out
  check     verify a stopped database file (--db) and print what is wrong
  version   print the version
`

// run executes the command named by args[0].
func run(ctx context.Context, args []string, getenv func(string) string,
	stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "listen":
		return listen(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return backup(ctx, args[1:], getenv, stdout, stderr)
	case "check":
		return check(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "linkd", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
