package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// config is everything linkd serve reads from flags and the environment.
type config struct {
	publicAddr   string
	adminAddr    string
	baseURL      string
	db           string
	adminToken   string
	dedupWindow  time.Duration
	timeout      time.Duration
	retryInitial time.Duration
	retryMaxAge  time.Duration
	retention    time.Duration
	allowPrivate bool
	logFormat    string
	missLimit    int
	trustFwd     bool
	corsOrigins  []string

	// baseURLSet is false when the base URL is the default, which then
	// follows the public listener's actual address.
	baseURLSet bool
}

// setting is one flag with its environment variable.
type setting struct {
	flag, env, def, help string
	set                  func(string) error
}

func (c *config) settings() []setting {
	return []setting{
		{"public-addr", "LINKD_PUBLIC_ADDR", "127.0.0.1:8080",
			"redirect listener (the short domain points here)", addr(&c.publicAddr)},
		{"admin-addr", "LINKD_ADMIN_ADDR", "127.0.0.1:8081",
			"admin API listener", addr(&c.adminAddr)},
		{"base-url", "LINKD_BASE_URL", "http://127.0.0.1:8080",
			"prefix of every short URL", baseURL(&c.baseURL)},
		{"db", "LINKD_DB", "./data/linkd.db", "the bbolt database file",
			nonEmpty(&c.db)},
		{"admin-token", "LINKD_ADMIN_TOKEN", "",
			"admin bearer token (default: generated on first start)",
			token(&c.adminToken)},
		{"dedup-window", "LINKD_DEDUP_WINDOW", "30s",
			"click deduplication window per link", duration(&c.dedupWindow)},
		{"webhook-timeout", "LINKD_WEBHOOK_TIMEOUT", "10s",
			"one delivery attempt's limit", duration(&c.timeout)},
		{"retry-initial", "LINKD_RETRY_INITIAL", "5s",
			"first retry delay", duration(&c.retryInitial)},
		{"retry-max-age", "LINKD_RETRY_MAX_AGE", "72h",
			"give a delivery up this long after its event", duration(&c.retryMaxAge)},
		{"retention", "LINKD_RETENTION", "720h",
			"prune finished deliveries, their events and visit logs older than this",
			duration(&c.retention)},
		{"webhook-allow-private", "LINKD_WEBHOOK_ALLOW_PRIVATE", "false",
			"allow webhook endpoints on loopback and private addresses",
			boolean(&c.allowPrivate)},
		{"log-format", "LINKD_LOG_FORMAT", "text", "log format: text or json",
			oneOf(&c.logFormat, "text", "json")},
		{"miss-limit", "LINKD_MISS_LIMIT", "60",
			"requests for unknown codes per client address and minute (0: no limit)",
			count(&c.missLimit)},
		{"trust-forwarded", "LINKD_TRUST_FORWARDED", "false",
			"take the client address from X-Forwarded-For (behind a proxy only)",
			boolean(&c.trustFwd)},
		{"cors-origins", "LINKD_CORS_ORIGINS", "",
			"comma-separated exact origins allowed to call the admin API from a browser",
			origins(&c.corsOrigins)},
	}
}

// parseConfig reads flags from args over environment variables over
// defaults. Errors name the setting at fault in one line.
func parseConfig(args []string, getenv func(string) string,
	stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("linkd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	given := make(map[string]*flagValue)
	for _, s := range c.settings() {
		v := &flagValue{isBool: s.def == "false" || s.def == "true"}
		given[s.flag] = v
		fs.Var(v, s.flag, fmt.Sprintf("%s (env %s, default %q)",
			s.help, s.env, s.def))
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range c.settings() {
		v, from := s.def, ""
		if e := getenv(s.env); e != "" {
			v, from = e, s.env
		}
		if set[s.flag] {
			v, from = given[s.flag].s, "--"+s.flag
		}
		if s.flag == "base-url" {
			c.baseURLSet = from != ""
		}
		if err := s.set(v); err != nil {
			if from == "" {
				from = "--" + s.flag
			}
			return nil, fmt.Errorf("bad configuration: %s: %v", from, err)
		}
	}
	return c, nil
}

// flagValue holds a flag's text until parseConfig checks it.
type flagValue struct {
	s      string
	isBool bool
}

func (v *flagValue) String() string     { return v.s }
func (v *flagValue) Set(s string) error { v.s = s; return nil }
func (v *flagValue) IsBoolFlag() bool   { return v.isBool }

func addr(dst *string) func(string) error {
	return func(v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("%q is not host:port", v)
		}
		*dst = v
		return nil
	}
}

func baseURL(dst *string) func(string) error {
	return func(v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
			u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
			strings.Trim(u.Path, "/") != "" {
			return fmt.Errorf("%q is not an http(s) origin such as https://link.akti.fyi", v)
		}
		*dst = strings.TrimSuffix(v, "/")
		return nil
	}
}

func nonEmpty(dst *string) func(string) error {
	return func(v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		*dst = v
		return nil
	}
}

func token(dst *string) func(string) error {
	return func(v string) error {
		if v != "" && len(v) < 16 {
			return errors.New("must be at least 16 characters")
		}
		*dst = v
		return nil
	}
}

func duration(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration such as 30s", v)
		}
		*dst = d
		return nil
	}
}

func boolean(dst *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*dst = b
		return nil
	}
}

func count(dst *int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a whole number of 0 or more", v)
		}
		*dst = n
		return nil
	}
}

func origins(dst *[]string) func(string) error {
	return func(v string) error {
		*dst = nil
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o == "" {
				continue
			}
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
				u.Host == "" || u.Path != "" || u.RawQuery != "" {
				return fmt.Errorf("%q is not an origin such as https://app.example.com", o)
			}
			*dst = append(*dst, o)
		}
		return nil
	}
}

func oneOf(dst *string, options ...string) func(string) error {
	return func(v string) error {
		for _, o := range options {
			if v == o {
				*dst = v
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(options, ", "))
	}
}
