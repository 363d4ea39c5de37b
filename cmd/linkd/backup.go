package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/akti/linkd/store"
)

// backup writes a consistent copy of the database to --out: by default
// from a running linkd through its admin API, with --db from a stopped
// database file. The copy is written beside --out, synced and renamed
// over it, so --out is always either the old file or a whole new one.
func backup(ctx context.Context, args []string, getenv func(string) string,
	stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("linkd backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the backup file to write (required)")
	dbPath := fs.String("db", "",
		"copy this database file of a stopped linkd instead")
	adminURL := fs.String("admin-url", envOr(getenv, "LINKD_ADMIN_URL",
		"http://127.0.0.1:8081"),
		"a running linkd's admin API (env LINKD_ADMIN_URL)")
	token := fs.String("admin-token", getenv("LINKD_ADMIN_TOKEN"),
		"its admin token (env LINKD_ADMIN_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return errors.New("bad configuration: --out is required")
	}
	remote := false
	fs.Visit(func(f *flag.Flag) { remote = remote || f.Name == "admin-url" })
	if remote && *dbPath != "" {
		return errors.New("bad configuration: give --db or --admin-url, " +
			"not both")
	}

	var n int64
	var err error
	if *dbPath != "" {
		n, err = backupFile(ctx, *dbPath, *out)
	} else {
		n, err = backupRemote(ctx, *adminURL, *token, *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d bytes to %s\n", n, *out)
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// backupFile copies the stopped database at path to out.
func backupFile(ctx context.Context, path, out string) (int64, error) {
	if sameFile(path, out) {
		return 0, errors.New("bad configuration: --out is the database " +
			"file itself")
	}
	db, err := store.OpenReadOnly(path)
	if errors.Is(err, store.ErrLocked) {
		return 0, fmt.Errorf("%s is in use by a running linkd: back it up "+
			"through its admin API with --admin-url and --admin-token "+
			"instead of --db", path)
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return writeAtomically(out, func(f *os.File) (int64, error) {
		return db.WriteBackup(ctx, func(int64) io.Writer { return f })
	})
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}

// backupRemote copies the database of the linkd whose admin API is at
// base to out.
func backupRemote(ctx context.Context, base, token, out string) (int64,
	error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" {
		return 0, fmt.Errorf("bad configuration: --admin-url: %q is not "+
			"an http(s) URL such as http://127.0.0.1:8081", base)
	}
	if token == "" {
		return 0, errors.New("bad configuration: --admin-token (or " +
			"LINKD_ADMIN_TOKEN) is required, or --db for a stopped file")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(base, "/")+"/api/v1/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// The first byte comes within 30 s; the copy takes as long as it needs.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Second
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w (for a stopped linkd, use --db)", err)
	}
	defer resp.Body.Close()
	if err := backupAnswer(resp); err != nil {
		return 0, err
	}
	return writeAtomically(out, func(f *os.File) (int64, error) {
		n, err := io.Copy(f, resp.Body)
		if err == nil && n != resp.ContentLength {
			err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
		}
		return n, err
	})
}

// backupAnswer returns an error unless resp carries a database.
func backupAnswer(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string }
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("admin API answered %s", resp.Status)
		}
		return fmt.Errorf("admin API answered %s: %s", resp.Status,
			e.Error.Message)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/octet-stream" {
		return fmt.Errorf("admin API answered %q, not a database", ct)
	}
	if resp.ContentLength <= 0 {
		return errors.New("admin API answered without a length")
	}
	return nil
}

// writeAtomically writes out through write into out.tmp, syncs it and
// renames it over out, then syncs the folder. On an error it removes
// out.tmp and leaves out as it was.
func writeAtomically(out string, write func(*os.File) (int64, error)) (
	int64, error) {
	tmp := out + ".tmp"
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("write %s: %w", out, err)
	}
	dir, err := os.Open(filepath.Dir(out))
	if err != nil {
		return 0, err
	}
	defer dir.Close()
	return n, dir.Sync()
}
