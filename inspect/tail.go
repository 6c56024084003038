package inspect

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// heartbeat is how often an idle tail sends a comment, so that proxies
// keep it open.
const heartbeat = 15 * time.Second

// tail streams the actions after ?after= as server-sent events, one
// "action" event per action (an Entry), as they are applied, until the
// client goes away. Filters are those of /api/actions.
func (h *Handler) tail(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	after, err := uintParam(v.Get("after"))
	if err != nil {
		fail(w, err, http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		fail(w, apiError("streaming unsupported"), http.StatusInternalServerError)
		return
	}
	q := Query{Room: v.Get("room"), Type: v.Get("type"), User: v.Get("user"), Text: v.Get("text"), Limit: 500}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": tail\n\n")
	flusher.Flush()
	ctx := r.Context()
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	for {
		last, changed := h.eng.feed.wait()
		for after < last {
			q.After = after
			p, err := h.eng.listForward(ctx, q, Page{Actions: []Entry{}})
			if err != nil || p.Newer <= after {
				break // the log does not show it yet; the next change or beat retries
			}
			for _, e := range p.Actions {
				b, _ := json.Marshal(e)
				fmt.Fprintf(w, "id: %d\nevent: action\ndata: %s\n\n", e.Seq, b)
			}
			fmt.Fprintf(w, "event: last\ndata: %d\n\n", p.Newer)
			flusher.Flush()
			after = p.Newer
		}
		var retry <-chan time.Time
		if after < last {
			retry = time.After(reopenAtLeast)
		}
		select {
		case <-ctx.Done():
			return
		case <-h.eng.bg.Done(): // the handler closed
			return
		case <-changed:
		case <-retry:
		case <-beat.C:
			fmt.Fprint(w, ": beat\n\n")
			flusher.Flush()
		}
	}
}
