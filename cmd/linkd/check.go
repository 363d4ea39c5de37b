package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/akti/linkd/store"
)

// check verifies a stopped linkd's database file. It prints a one-line
// summary starting with "ok:", or else each problem on a line of its own,
// and then fails.
func check(ctx context.Context, args []string, getenv func(string) string,
	stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("linkd check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("db", envOr(getenv, "LINKD_DB", "./data/linkd.db"),
		"the database file (env LINKD_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	db, err := store.OpenReadOnly(*path)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s is in use by a running linkd: check a copy "+
			"(linkd backup --out FILE, then linkd check --db FILE)", *path)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := db.Check(ctx)
	if err != nil {
		return fmt.Errorf("check %s: %w", *path, err)
	}
	if r.OK() {
		fmt.Fprintln(stdout, r)
		return nil
	}
	for _, p := range r.Problems {
		fmt.Fprintln(stdout, p)
	}
	if r.Omitted > 0 {
		fmt.Fprintf(stdout, "and %d more problems\n", r.Omitted)
	}
	return fmt.Errorf("check %s: %s", *path, r)
}
