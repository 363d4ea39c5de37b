package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/labstack/echo/v4"
)

// dashboardFiles are the dashboard's static assets: plain HTML, CSS and
// ES modules, served as they are (no build step).
//
//go:embed dashboard
var dashboardFiles embed.FS

// dashboardCSP allows the dashboard's own files and the API on the same
// origin, images from blob: (the QR code) and data:, and nothing inline.
const dashboardCSP = "default-src 'self'; img-src 'self' blob: data:; " +
	"script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// assetTypes are the content types of the dashboard's files by extension;
// a file of another kind is not served.
var assetTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one embedded file, read once at mount.
type asset struct {
	name        string
	contentType string
	etag        string
	body        []byte
}

// mountDashboard serves the web dashboard: index.html at / and every
// other asset at its own path. Unknown paths stay the API's JSON 404.
func (a *Admin) mountDashboard(e *echo.Echo) {
	assets, err := loadAssets(dashboardFiles, "dashboard")
	if err != nil {
		// The files are compiled in; failing to read them is a build bug.
		panic("web: dashboard assets: " + err.Error())
	}
	for _, as := range assets {
		route := "/" + as.name
		if as.name == "index.html" {
			route = "/"
		}
		e.GET(route, serveAsset(as))
		e.HEAD(route, serveAsset(as))
	}
}

// loadAssets reads the files under dir of fsys that have a known type.
func loadAssets(fsys fs.FS, dir string) ([]asset, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []asset
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := assetTypes[path.Ext(name)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		out = append(out, asset{name: name, contentType: ct, body: body,
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`})
		return nil
	})
	return out, err
}

// serveAsset answers with the asset; the ETag lets a browser revalidate
// its copy cheaply, since no-cache makes it ask every time.
func serveAsset(as asset) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Type", as.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", as.etag)
		h.Set("Content-Security-Policy", dashboardCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		http.ServeContent(c.Response(), c.Request(), as.name, time.Time{},
			bytes.NewReader(as.body))
		return nil
	}
}
