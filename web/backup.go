package web

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Backups writes consistent copies of the database.
type Backups interface {
	// WriteBackup calls to once with the copy's size, then writes the
	// copy to the writer it returned.
	WriteBackup(ctx context.Context, to func(size int64) io.Writer) (int64,
		error)
}

// A backup download gets backupGrace plus a second for every backupRate
// bytes, then the server ends it: a stalled client must not hold the
// copy's read transaction open for ever.
const (
	backupRate  = 4 << 20
	backupGrace = time.Minute
)

// backup streams a copy of the database as application/octet-stream
// with its exact length. An error after the first byte cuts the answer
// short of that length, which the client sees.
func (a *Admin) backup(c echo.Context) error {
	if a.Backups == nil {
		return errNotFound
	}
	res := c.Response()
	start := time.Now()
	_, err := a.Backups.WriteBackup(c.Request().Context(),
		func(size int64) io.Writer {
			h := res.Header()
			h.Set(echo.HeaderContentType, echo.MIMEOctetStream)
			h.Set(echo.HeaderContentLength, strconv.FormatInt(size, 10))
			h.Set(echo.HeaderContentDisposition,
				`attachment; filename="linkd.db"`)
			h.Set("Cache-Control", "no-store")
			limit := backupGrace + time.Duration(size/backupRate)*time.Second
			// The server's own write timeout is too short for a big file.
			http.NewResponseController(res).SetWriteDeadline(
				time.Now().Add(limit))
			res.WriteHeader(http.StatusOK)
			return res
		})
	if err != nil && res.Committed {
		a.Log.Warn("backup cut short", "error", err,
			"duration", time.Since(start))
		return nil
	}
	if err != nil {
		return err
	}
	a.Log.Info("backup sent", "duration", time.Since(start))
	return nil
}
