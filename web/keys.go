package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/store"
)

// KeyPrefix starts every campaign key, so a leaked one is recognisable.
const KeyPrefix = "lkd_key_"

// Keys stores campaign keys.
type Keys interface {
	PutKey(ctx context.Context, k *store.Key) error
	KeyByHash(ctx context.Context, h []byte) (*store.Key, error)
	Keys(ctx context.Context) ([]*store.Key, error)
	DeleteKey(ctx context.Context, id string) error
}

// caller is who made a request: the admin, or a campaign key.
type caller struct {
	admin     bool
	campaigns []string
}

// allows reports whether the caller may see campaign's resources.
func (c *caller) allows(campaign string) bool {
	if c.admin {
		return true
	}
	for _, id := range c.campaigns {
		if id == campaign {
			return true
		}
	}
	return false
}

const callerKey = "linkd.caller"

func callerOf(c echo.Context) *caller { return c.Get(callerKey).(*caller) }

// authenticate identifies the bearer of the request's token: the admin
// token (compared in constant time) or a stored campaign key.
func (a *Admin) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, token, _ := strings.Cut(
			c.Request().Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return errUnauthorized
		}
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], a.AdminTokenHash) == 1 {
			c.Set(callerKey, &caller{admin: true})
			return next(c)
		}
		if !strings.HasPrefix(token, KeyPrefix) {
			return errUnauthorized
		}
		k, err := a.Keys.KeyByHash(c.Request().Context(), sum[:])
		if errors.Is(err, store.ErrKeyNotFound) {
			return errUnauthorized
		}
		if err != nil {
			return err
		}
		c.Set(callerKey, &caller{campaigns: k.Campaigns})
		return next(c)
	}
}

// adminOnly refuses campaign keys.
func adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !callerOf(c).admin {
			return errForbidden
		}
		return next(c)
	}
}

type keyView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Campaigns []string  `json:"campaigns"`
	Key       string    `json:"key,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

func (a *Admin) createKey(c echo.Context) error {
	var req struct {
		Name      string   `json:"name"`
		Campaigns []string `json:"campaigns"`
	}
	if err := decode(c, maxBody, &req); err != nil {
		return err
	}
	if req.Name == "" || len(req.Name) > 128 {
		return shortener.Invalid("invalid_name", "name",
			"name must be 1 to 128 bytes")
	}
	if len(req.Campaigns) == 0 {
		return shortener.Invalid("missing_field", "campaigns",
			"campaigns must list at least one campaign id")
	}
	for _, id := range req.Campaigns {
		if err := shortener.ValidateCampaignID("campaigns", id); err != nil {
			return err
		}
	}
	secret := KeyPrefix + rand.Text()
	sum := sha256.Sum256([]byte(secret))
	now := a.Now().UTC().Truncate(time.Millisecond)
	k := &store.Key{ID: a.ids.New("key_", now), Name: req.Name,
		Campaigns: req.Campaigns, Hash: sum[:], CreatedAt: now}
	if err := a.Keys.PutKey(c.Request().Context(), k); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, keyView{k.ID, k.Name, k.Campaigns,
		secret, k.CreatedAt})
}

func (a *Admin) listKeys(c echo.Context) error {
	ks, err := a.Keys.Keys(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]keyView, len(ks))
	for i, k := range ks {
		out[i] = keyView{ID: k.ID, Name: k.Name, Campaigns: k.Campaigns,
			CreatedAt: k.CreatedAt}
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": out})
}

func (a *Admin) deleteKey(c echo.Context) error {
	err := a.Keys.DeleteKey(c.Request().Context(), c.Param("id"))
	if errors.Is(err, store.ErrKeyNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
