package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/akti/linkd/emitter"
)

// listen receives webhooks, verifies each the way a consumer does, and
// prints one JSON line per verified event. Unverified deliveries are
// answered 401 and reported on stderr.
func listen(ctx context.Context, args []string, getenv func(string) string,
	stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("linkd listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("secret", getenv("LINKD_LISTEN_SECRET"),
		"the endpoint's whsec_ secret (env LINKD_LISTEN_SECRET)")
	addr := fs.String("addr", "127.0.0.1:9090", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		return errors.New("bad configuration: --secret is required")
	}
	if _, err := emitter.Signature(*secret, "x", 0, nil); err != nil {
		return fmt.Errorf("bad configuration: --secret: %v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "listening for webhooks on http://%s\n", ln.Addr())
	srv := &http.Server{
		Handler:           verifyingHandler(*secret, stdout, stderr),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// received is one printed line of linkd listen.
type received struct {
	ID    string          `json:"id"`
	Event json.RawMessage `json:"event"`
}

func verifyingHandler(secret string, stdout, stderr io.Writer) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		err = emitter.Verify(secret, r.Header, body, time.Now(),
			emitter.DefaultTolerance)
		if err != nil {
			fmt.Fprintf(stderr, "refused delivery: %v\n", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if !json.Valid(body) {
			http.Error(w, "body is not JSON", http.StatusBadRequest)
			return
		}
		mu.Lock()
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		err = enc.Encode(received{r.Header.Get(emitter.HeaderID),
			json.RawMessage(body)})
		mu.Unlock()
		if err != nil {
			http.Error(w, "cannot print", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
