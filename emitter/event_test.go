package emitter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oklog/ulid/v2"
)

// eventTime is the fixed time of the golden events.
var eventTime = time.Date(2024, 1, 28, 12, 0, 5, 0, time.UTC)

const (
	goldenCampaign = "abc456xyz"
	goldenClickURL = "https://example.com/offer?utm=sms&x=<1>&y=>2"
	goldenShortURL = "https://link.akti.fyi/abc123"
	goldenSentURL  = "link.akti.fyi/abc123?a=1&b=<2>"
	goldenMessage  = "Hi \"Ann\" 🎉 your <offer> & more: " +
		"https://link.akti.fyi/abc123\nReply STOP"
)

// readGolden returns testdata/name without its trailing newline.
func readGolden(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

func TestEventGoldenBodies(t *testing.T) {
	withID := Lead{Phone: "+1234567890", ExternalLeadID: "abc123"}
	withoutID := Lead{Phone: "+1234567890"}
	click := func(l Lead) Event {
		return ClickEvent("evt_1", goldenCampaign, l, goldenClickURL,
			goldenShortURL, eventTime)
	}
	sent := func(l Lead) Event {
		return SentEvent("evt_1", goldenCampaign, l, goldenSentURL,
			eventTime)
	}
	delivered := func(typ string) func(Lead) Event {
		return func(l Lead) Event {
			return DeliveredEvent("evt_1", typ, goldenCampaign, l,
				goldenMessage, eventTime)
		}
	}
	tests := []struct {
		golden string
		typ    string
		make   func(Lead) Event
		lead   Lead
	}{
		{"link_clicked.json", LinkClicked, click, withID},
		{"link_clicked_no_lead.json", LinkClicked, click, withoutID},
		{"link_sent.json", LinkSent, sent, withID},
		{"link_sent_no_lead.json", LinkSent, sent, withoutID},
		{"link_delivered.json", LinkDelivered, delivered(LinkDelivered),
			withID},
		{"link_delivered_no_lead.json", LinkDelivered,
			delivered(LinkDelivered), withoutID},
		{"message_delivered.json", MessageDelivered,
			delivered(MessageDelivered), withID},
		{"message_delivered_no_lead.json", MessageDelivered,
			delivered(MessageDelivered), withoutID},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.golden, ".json"), func(t *testing.T) {
			ev := tt.make(tt.lead)
			want := readGolden(t, tt.golden)
			if diff := cmp.Diff(string(want), string(ev.Body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			wantEv := Event{ID: "evt_1", Type: tt.typ,
				CampaignID: goldenCampaign, Time: eventTime, Body: ev.Body}
			if diff := cmp.Diff(wantEv, ev); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventBodyDecodes(t *testing.T) {
	lead := Lead{Phone: "+1234567890"}
	ev := DeliveredEvent("evt_1", MessageDelivered, goldenCampaign, lead,
		goldenMessage, eventTime)
	var got struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(ev.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"phone": lead.Phone, "message": goldenMessage}
	if diff := cmp.Diff(want, got.Data); diff != "" {
		t.Errorf("decoded data (-want +got):\n%s", diff)
	}
}

func TestEventTimeIsUTCMilliseconds(t *testing.T) {
	zone := time.FixedZone("CEST", 2*60*60)
	at := time.Date(2024, 1, 28, 14, 0, 5, 999_999_999, zone)
	ev := SentEvent("evt_1", "c", Lead{Phone: "+1234567890"}, "x", at)

	want := time.Date(2024, 1, 28, 12, 0, 5, 999_000_000, time.UTC)
	if !ev.Time.Equal(want) || ev.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v", ev.Time, want)
	}
	var body struct {
		Metadata struct {
			EventTime string `json:"eventTime"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(ev.Body, &body); err != nil {
		t.Fatal(err)
	}
	if got, want := body.Metadata.EventTime,
		"2024-01-28T12:00:05.999Z"; got != want {
		t.Errorf("eventTime = %q, want %q", got, want)
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"whole second", eventTime, "2024-01-28T12:00:05.000Z"},
		{"milliseconds", eventTime.Add(7 * time.Millisecond),
			"2024-01-28T12:00:05.007Z"},
		{"sub-millisecond dropped", eventTime.Add(7*time.Millisecond +
			999*time.Microsecond), "2024-01-28T12:00:05.007Z"},
		{"other zone", eventTime.In(time.FixedZone("X", -5*60*60)),
			"2024-01-28T12:00:05.000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatTime(tt.in); got != tt.want {
				t.Errorf("FormatTime(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	g := NewIDs()
	const n = 1000
	ids := make([]string, n)
	for i := range ids {
		// Pairs share a millisecond, so both the monotonic counter and
		// the clock order them.
		ids[i] = g.New("evt_", eventTime.Add(time.Duration(i/2)*
			time.Millisecond))
	}

	seen := make(map[string]bool, n)
	for i, id := range ids {
		if len(id) != 30 || !strings.HasPrefix(id, "evt_") {
			t.Fatalf("id %d = %q, want evt_ and 26 characters", i, id)
		}
		u, err := ulid.ParseStrict(id[len("evt_"):])
		if err != nil {
			t.Fatalf("id %d = %q: %v", i, id, err)
		}
		wantMS := eventTime.Add(time.Duration(i/2) * time.Millisecond)
		if got := ulid.Time(u.Time()); !got.Equal(wantMS) {
			t.Errorf("id %d time = %v, want %v", i, got, wantMS)
		}
		if seen[id] {
			t.Errorf("id %d = %q repeats", i, id)
		}
		seen[id] = true
	}
	if !sort.StringsAreSorted(ids) {
		t.Error("consecutive ids are not in sorted order")
	}
}

func TestIDsPrefix(t *testing.T) {
	id := NewIDs().New("wh_", eventTime)
	if len(id) != len("wh_")+26 || !strings.HasPrefix(id, "wh_") {
		t.Errorf("New(wh_) = %q", id)
	}
}
