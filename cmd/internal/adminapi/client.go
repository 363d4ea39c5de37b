// Package adminapi is the client of linkd's admin API that the bench,
// crash-test and demo tools share: JSON in and out, as the admin.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Client calls the admin API of one linkd. It is safe for concurrent use.
type Client struct {
	Base  string       // the admin listener's URL, such as http://127.0.0.1:8081
	Token string       // the admin token
	HTTP  *http.Client // what sends the requests
}

// Call sends in, as JSON unless it is nil, with method to path, and
// decodes the answer into out unless out is nil. An answer outside 2xx is
// an error naming the call, its status and the start of its body.
func (c *Client) Call(ctx context.Context, method, path string,
	in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d: %s", method, path,
			resp.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
