package inspect

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"
	"github.com/statecast/statecast/store"
	"github.com/statecast/statecast/store/chat"
)

//go:embed web
var webFiles embed.FS

// Config configures a Handler.
type Config struct {
	// Source is the action log to inspect.
	Source Source
	// History is the server's (server.Config.History): the window of
	// messages is part of the state. Defaults to chat.DefaultHistory.
	History int
	// Token is the admin token. Empty: only loopback clients get in.
	Token string
	// Store, when set, is the running server's store: the live tail
	// learns of new actions from it. Nil: the inspector follows the log
	// (offline, or beside a server in another process).
	Store *store.Store[chat.State]
	// Logger reports background failures. Defaults to none.
	Logger zerolog.Logger
}

// Handler serves the inspector: the page at /inspect/ and its JSON API at
// /inspect/api/ (docs/inspector.md). It only reads. Every route needs the
// admin token or a loopback client. Close it to stop its goroutine.
type Handler struct {
	eng   *engine
	token string
	mux   http.Handler
}

// New opens cfg.Source and starts indexing it in the background.
func New(ctx context.Context, cfg Config) (*Handler, error) {
	eng, err := newEngine(ctx, cfg.Source, cfg.History, cfg.Store, cfg.Logger)
	if err != nil {
		return nil, err
	}
	h := &Handler{eng: eng, token: cfg.Token}
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFiles, "web")
	mux.Handle("GET /inspect/static/", http.StripPrefix("/inspect/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /inspect/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("GET /inspect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/inspect/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /inspect/api/info", h.info)
	mux.HandleFunc("GET /inspect/api/actions", h.actions)
	mux.HandleFunc("GET /inspect/api/state", h.state)
	mux.HandleFunc("GET /inspect/api/change", h.change)
	mux.HandleFunc("GET /inspect/api/seq", h.seq)
	mux.HandleFunc("GET /inspect/api/tail", h.tail)
	h.mux = h.guard(mux)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close ends the live tails, stops following the log and releases it. A
// server closes it before waiting for its connections to end: a tail
// never ends on its own. Calls after the first do nothing.
func (h *Handler) Close() error {
	return h.eng.close()
}

func (h *Handler) info(w http.ResponseWriter, r *http.Request) {
	from, last, err := h.eng.bounds(r.Context())
	if err != nil {
		fail(w, err, http.StatusInternalServerError)
		return
	}
	tip, _ := h.eng.idx.tipState()
	reply(w, map[string]any{"start": from, "last": last, "indexed": tip.seq, "live": h.eng.live})
}

func (h *Handler) actions(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := Query{Room: v.Get("room"), Type: v.Get("type"), User: v.Get("user"), Text: v.Get("text")}
	var err error
	if q.After, err = uintParam(v.Get("after")); err == nil {
		if q.Before, err = uintParam(v.Get("before")); err == nil {
			var n uint64
			n, err = uintParam(v.Get("limit"))
			q.Limit = int(min(n, 500))
		}
	}
	if err != nil {
		fail(w, err, http.StatusBadRequest)
		return
	}
	p, err := h.eng.list(r.Context(), q)
	if err != nil {
		fail(w, err, http.StatusInternalServerError)
		return
	}
	reply(w, p)
}

func (h *Handler) state(w http.ResponseWriter, r *http.Request) {
	seq, err := seqParam(r, h.eng)
	if err != nil {
		fail(w, err, http.StatusBadRequest)
		return
	}
	s, at, err := h.eng.stateAt(r.Context(), seq)
	if err != nil {
		fail(w, err, http.StatusNotFound)
		return
	}
	reply(w, map[string]any{"seq": at, "rooms": roomViews(s, r.URL.Query().Get("room"))})
}

func (h *Handler) change(w http.ResponseWriter, r *http.Request) {
	seq, err := uintParam(r.URL.Query().Get("seq"))
	if err != nil || seq == 0 {
		fail(w, errBadSeq, http.StatusBadRequest)
		return
	}
	a, prev, next, err := h.eng.step(r.Context(), seq)
	if err != nil {
		fail(w, err, http.StatusNotFound)
		return
	}
	reply(w, map[string]any{"entry": entryOf(a), "action": a, "outcome": a.Outcome,
		"diffs": diffViews(chat.Diffs(prev, next, a))})
}

func (h *Handler) seq(w http.ResponseWriter, r *http.Request) {
	t, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get("time"))
	if err != nil {
		fail(w, errBadTime, http.StatusBadRequest)
		return
	}
	seq, err := h.eng.seqAt(r.Context(), t)
	if err != nil {
		fail(w, err, http.StatusInternalServerError)
		return
	}
	reply(w, map[string]any{"seq": seq})
}

type apiError string

func (e apiError) Error() string { return string(e) }

const (
	errBadSeq  = apiError("seq: want a positive integer")
	errBadTime = apiError("time: want RFC 3339, like 2026-11-25T18:00:00Z")
)

// seqParam returns the ?seq= of r, or the log's last seq without one.
func seqParam(r *http.Request, e *engine) (uint64, error) {
	s := r.URL.Query().Get("seq")
	if s == "" {
		_, last, err := e.bounds(r.Context())
		return last, err
	}
	return strconv.ParseUint(s, 10, 64)
}

func uintParam(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, apiError("want a non-negative integer, got " + strconv.Quote(s))
	}
	return n, nil
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, err error, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
