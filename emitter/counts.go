package emitter

import (
	"errors"
	"sync/atomic"
	"syscall"
)

// Outcome classes of an attempt, as Counts reports them.
const (
	Outcome2xx = iota
	Outcome3xx
	Outcome4xx
	Outcome5xx
	OutcomeTimeout
	OutcomeRefused
	OutcomeError
	numOutcomes
)

// OutcomeNames names the outcome classes, indexed by their constant.
var OutcomeNames = [numOutcomes]string{"2xx", "3xx", "4xx", "5xx",
	"timeout", "refused", "error"}

// Counts are the Dispatcher's running totals since start.
type Counts struct {
	Attempts  [numOutcomes]int64
	Retries   int64 // attempts that failed and were scheduled again
	Dead      int64 // deliveries given up
	Disabled  int64 // endpoints the emitter disabled
	Delivered int64 // deliveries that succeeded
}

type counters struct {
	attempts  [numOutcomes]atomic.Int64
	retries   atomic.Int64
	dead      atomic.Int64
	disabled  atomic.Int64
	delivered atomic.Int64
}

// Counts returns the running totals. It is safe for concurrent use.
func (d *Dispatcher) Counts() Counts {
	var c Counts
	for i := range c.Attempts {
		c.Attempts[i] = d.counts.attempts[i].Load()
	}
	c.Retries = d.counts.retries.Load()
	c.Dead = d.counts.dead.Load()
	c.Disabled = d.counts.disabled.Load()
	c.Delivered = d.counts.delivered.Load()
	return c
}

// count adds one attempt with res and the delivery's state after it.
func (c *counters) count(res result, next Delivery, disabled bool) {
	c.attempts[outcomeOf(res)].Add(1)
	switch next.Status {
	case Succeeded:
		c.delivered.Add(1)
	case Dead:
		c.dead.Add(1)
	default:
		c.retries.Add(1)
	}
	if disabled {
		c.disabled.Add(1)
	}
}

func outcomeOf(res result) int {
	switch {
	case res.status >= 200 && res.status < 300 && res.err == nil:
		return Outcome2xx
	case res.status >= 300 && res.status < 400:
		return Outcome3xx
	case res.status >= 400 && res.status < 500:
		return Outcome4xx
	case res.status >= 500:
		return Outcome5xx
	case res.err != nil && res.err.Error() == "timeout":
		return OutcomeTimeout
	case errors.Is(res.err, ErrForbiddenAddress),
		errors.Is(res.err, syscall.ECONNREFUSED):
		return OutcomeRefused
	}
	return OutcomeError
}
