package store

import (
	"context"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OpenReadOnly opens the existing database at path for reading only, as
// backup and check do with a stopped linkd's file. It changes nothing in
// the file, not even an older schema version. Like Open it waits at most
// a second for a running linkd's lock and then returns ErrLocked; a file
// from a newer linkd returns ErrNewerSchema.
func OpenReadOnly(path string) (*DB, error) {
	opts := &bolt.Options{Timeout: time.Second, ReadOnly: true,
		FreelistType: bolt.FreelistMapType}
	b, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, openError(path, err)
	}
	err = b.View(func(tx *bolt.Tx) error {
		if got := schemaVersion(tx); got > SchemaVersion {
			return fmt.Errorf("%w (version %d, this build reads %d)",
				ErrNewerSchema, got, SchemaVersion)
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &DB{bolt: b}, nil
}

// WriteBackup writes a consistent copy of the whole database, as of one
// moment, to the writer that to returns; it calls to once, with the
// copy's size in bytes, before writing. It returns the bytes written.
// Other transactions go on meanwhile: the copy is made in a read
// transaction, which stays open until the writer has taken every byte.
//
// Limitations: while that transaction is open, bbolt reuses no page freed
// after it began, so the file may grow, and a write that has to enlarge
// the memory map waits for the copy to end (and readers queue behind that
// write). A slow writer therefore slows linkd; copy to a local disk or a
// nearby host.
func (db *DB) WriteBackup(ctx context.Context,
	to func(size int64) io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		w := to(tx.Size())
		var err error
		n, err = tx.WriteTo(writerFunc(func(p []byte) (int, error) {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			return w.Write(p)
		}))
		return err
	})
	return n, err
}

// writerFunc is a function that is an io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
