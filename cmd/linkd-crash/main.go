// Command linkd-crash proves that no answered tap loses its event: it
// taps fresh links at a steady rate against a linkd child process whose
// webhook endpoint is down, kills the child with SIGKILL at a random
// moment, restarts it, brings the endpoint up, and checks that every tap
// answered with a 302 before the kill produced exactly one event id,
// delivered at least once and correctly signed, that the restarted linkd
// counts each of those taps' links one click and one event (their
// counters come back from the click journal), and that `linkd check`
// passes on the database. It repeats that for -rounds rounds.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "linkd-crash:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	linkd  string
	rounds int
	rate   int
	maxRun time.Duration
	wait   time.Duration
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var c config
	fs := flag.NewFlagSet("linkd-crash", flag.ContinueOnError)
	fs.StringVar(&c.linkd, "linkd", "bin/linkd", "the linkd binary")
	fs.IntVar(&c.rounds, "rounds", 20, "kills to survive")
	fs.IntVar(&c.rate, "rate", 400, "taps per second")
	fs.DurationVar(&c.maxRun, "max-run", 2*time.Second,
		"the kill comes at a random moment up to this long into the taps")
	fs.DurationVar(&c.wait, "wait", 60*time.Second,
		"how long the restarted linkd may take to deliver everything")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "linkd-crash")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var total tally
	for i := range c.rounds {
		db := filepath.Join(dir, fmt.Sprintf("round%02d.db", i))
		killAfter := time.Duration(rand.Int64N(int64(c.maxRun)-int64(c.maxRun)/10)) +
			c.maxRun/10
		r, err := round(ctx, c, db, killAfter)
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		fmt.Fprintf(out, "round %2d: killed after %v: %s\n", i+1,
			killAfter.Round(time.Millisecond), r)
		total.add(r)
	}
	fmt.Fprintf(out, "total over %d kills: %s\n", c.rounds, total)
	if total.lost > 0 || total.split > 0 || total.unverified > 0 ||
		total.badChecks > 0 || total.miscounted > 0 {
		return fmt.Errorf("%d events lost, %d taps with more than one event id, "+
			"%d unverified deliveries, %d failed checks, %d miscounted taps",
			total.lost, total.split, total.unverified, total.badChecks,
			total.miscounted)
	}
	return nil
}

// tally counts one or more rounds' outcomes.
type tally struct {
	answered   int // taps answered with a 302 before the kill
	delivered  int // of those, taps whose event arrived
	lost       int // answered taps whose event never arrived
	split      int // answered taps that arrived under more than one id
	duplicates int // deliveries of an id already delivered (allowed)
	unverified int // deliveries whose signature did not verify
	badChecks  int // rounds whose database failed linkd check
	miscounted int // answered taps whose link does not count one event
}

func (t *tally) add(o tally) {
	t.answered += o.answered
	t.delivered += o.delivered
	t.lost += o.lost
	t.split += o.split
	t.duplicates += o.duplicates
	t.unverified += o.unverified
	t.badChecks += o.badChecks
	t.miscounted += o.miscounted
}

func (t tally) String() string {
	return fmt.Sprintf("%d taps answered, %d events delivered, %d lost, "+
		"%d split ids, %d repeat deliveries, %d unverified, %d failed checks, "+
		"%d miscounted", t.answered, t.delivered, t.lost, t.split, t.duplicates,
		t.unverified, t.badChecks, t.miscounted)
}
