package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/akti/linkd/emitter"
)

// receiver is the webhook endpoint, up only after the kill. It verifies
// every delivery the way a consumer does and records event ids by the
// code of the short URL clicked.
type receiver struct {
	secret string
	srv    *http.Server

	mu         sync.Mutex
	ids        map[string]map[string]int // code → event id → deliveries
	unverified int
}

func newReceiver(secret string) *receiver {
	return &receiver{secret: secret, ids: make(map[string]map[string]int)}
}

func (rc *receiver) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go rc.srv.Serve(ln)
	return nil
}

func (rc *receiver) close() { rc.srv.Close() }

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	err = emitter.Verify(rc.secret, r.Header, body, time.Now(), emitter.DefaultTolerance)
	if err != nil {
		rc.unverified++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev struct {
		Data struct {
			ShortURL string `json:"shortUrl"`
		} `json:"data"`
	}
	json.Unmarshal(body, &ev)
	code := ev.Data.ShortURL[strings.LastIndexByte(ev.Data.ShortURL, '/')+1:]
	if rc.ids[code] == nil {
		rc.ids[code] = make(map[string]int)
	}
	rc.ids[code][r.Header.Get(emitter.HeaderID)]++
	w.WriteHeader(http.StatusNoContent)
}

// hasAll reports whether every answered code's event arrived.
func (rc *receiver) hasAll(_ string, answered []string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, code := range answered {
		if len(rc.ids[code]) == 0 {
			return false
		}
	}
	return true
}

// judge counts the round's outcome.
func (rc *receiver) judge(_ string, answered []string) tally {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t := tally{answered: len(answered), unverified: rc.unverified}
	for _, code := range answered {
		switch ids := rc.ids[code]; {
		case len(ids) == 0:
			t.lost++
		case len(ids) > 1:
			t.split++
			t.delivered++
		default:
			t.delivered++
		}
	}
	for _, ids := range rc.ids {
		for _, n := range ids {
			t.duplicates += n - 1
		}
	}
	return t
}
