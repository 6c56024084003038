// statecast client: keeps a Redux-style mirror of one chat room in sync over
// the v2 dialect of the statecast protocol (docs/protocol.md in the
// statecast repository): a snapshot, then RFC 6902 patches with sequence
// numbers, resumed after a reconnect.
//
// An ES module without dependencies or build step; statecast serves it at
// /client.js. It runs in browsers and in Node (pass the `ws` package's
// WebSocket as the WebSocket option).
//
//   import { createClient } from '/client.js';
//   const chat = createClient({ url: 'ws://localhost:3005/chat', username: 'ann' });
//   chat.subscribe(() => render(chat.getState()));
//   chat.send('hello');
//
// The state is the seed's chatSlice:
//   { messages: [...], userList: [...], isConnected, isEstablishingConnection }
// and, while the client is not connected for a reason, connectionError
// (see createClient). It is never modified: every change makes a new
// object, sharing what did not change, so listeners may compare references.
//
// With Redux Toolkit:
//
//   import { configureStore } from '@reduxjs/toolkit';
//   import { statecastReducer, connectStore } from '/client.js';
//   const store = configureStore({ reducer: { chat: statecastReducer } });
//   const chat = connectStore(store, { url, username: 'ann' });
//
// The client keeps its user id and token in storage (localStorage by
// default), so that a reloaded page keeps its identity. It never gives up on
// transient trouble: after a dropped connection, a server restart, a refused
// handshake or a transient refusal (rate_limited, unconfirmed, internal,
// unavailable) it tries again with exponential backoff and jitter, no sooner
// than the server's hint, and resumes from the last change it applied. It
// stops only on a token error or close 1008. Messages are sent with a
// clientId and re-sent (after a reconnect, or a transient refusal) until the
// server acknowledges them: the server applies each clientId once.

export const SUBPROTOCOL = 'statecast.v2';

// ---- RFC 6902 (add, remove, replace) with RFC 6901 JSON Pointers ----

function patchError(message, op) {
  const err = new Error(`statecast: ${message} (${JSON.stringify(op)})`);
  err.name = 'PatchError';
  err.operation = op;
  return err;
}

function parsePointer(path, op) {
  if (path === '') return [];
  if (typeof path !== 'string' || path[0] !== '/') throw patchError('bad JSON Pointer', op);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function arrayIndex(arr, token, adding, op) {
  if (adding && token === '-') return arr.length;
  if (!ARRAY_INDEX.test(token)) throw patchError('bad array index', op);
  const i = Number(token);
  if (i > arr.length || (!adding && i === arr.length)) throw patchError('array index out of bounds', op);
  return i;
}

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// update returns a copy of node with op applied at tokens[i:], copying only
// the containers on the path.
function update(node, tokens, i, op) {
  const token = tokens[i];
  const last = i === tokens.length - 1;
  if (Array.isArray(node)) {
    const idx = arrayIndex(node, token, last && op.op === 'add', op);
    const copy = node.slice();
    if (!last) copy[idx] = update(node[idx], tokens, i + 1, op);
    else if (op.op === 'add') copy.splice(idx, 0, op.value);
    else if (op.op === 'remove') copy.splice(idx, 1);
    else copy[idx] = op.value;
    return copy;
  }
  if (node === null || typeof node !== 'object') throw patchError('path not found', op);
  if (!last) {
    if (!hasOwn(node, token)) throw patchError('path not found', op);
    return { ...node, [token]: update(node[token], tokens, i + 1, op) };
  }
  if (op.op !== 'add' && !hasOwn(node, token)) throw patchError('path not found', op);
  if (op.op === 'remove') {
    const { [token]: _removed, ...rest } = node;
    return rest;
  }
  return { ...node, [token]: op.value };
}

// applyPatch returns doc with the RFC 6902 operations applied in order
// (add, remove and replace; others throw). doc is not modified: the result
// shares every part the operations did not touch. An invalid operation
// throws an Error named PatchError, and nothing is applied.
export function applyPatch(doc, ops) {
  if (!Array.isArray(ops)) throw patchError('a patch must be an array', ops);
  let out = doc;
  for (const op of ops) {
    if (op === null || typeof op !== 'object') throw patchError('bad operation', op);
    if (op.op !== 'add' && op.op !== 'remove' && op.op !== 'replace') {
      throw patchError(`unsupported operation ${JSON.stringify(op.op)}`, op);
    }
    if (op.op !== 'remove' && !hasOwn(op, 'value')) throw patchError('operation without a value', op);
    const tokens = parsePointer(op.path, op);
    if (tokens.length === 0) {
      if (op.op === 'remove') throw patchError('cannot remove the whole document', op);
      out = op.value;
    } else {
      out = update(out, tokens, 0, op);
    }
  }
  return out;
}

// ---- Redux: actions and reducer ----

export const initialState = Object.freeze({
  messages: Object.freeze([]),
  userList: Object.freeze([]),
  isConnected: false,
  isEstablishingConnection: false,
});

// createAction makes an action creator in the style of Redux Toolkit's:
// callable, with .type and .match.
function createAction(type) {
  const creator = (payload) => ({ type, payload });
  creator.type = type;
  creator.toString = () => type;
  creator.match = (action) => action != null && action.type === type;
  return creator;
}

// snapshot({seq, state}): the room's whole state.
export const snapshot = createAction('statecast/snapshot');
// patch({seq, ops}): one change (or several merged), RFC 6902 operations.
export const patch = createAction('statecast/patch');
// status({isConnected, isEstablishingConnection, connectionError}): the
// socket's status, and why the client is not connected (no
// connectionError: no reason to tell).
export const status = createAction('statecast/status');

export const statecastActions = Object.freeze({ snapshot, patch, status });

// statecastReducer reduces the actions above into the chat state. Mount it
// under any key of a Redux store; connectStore dispatches its actions.
export function statecastReducer(state = initialState, action) {
  switch (action && action.type) {
    case snapshot.type: {
      const s = action.payload.state || {};
      return {
        messages: s.messages || [],
        userList: s.userList || [],
        isConnected: s.isConnected !== false,
        isEstablishingConnection: !!s.isEstablishingConnection,
      };
    }
    case patch.type:
      return applyPatch(state, action.payload.ops);
    case status.type: {
      const { isConnected, isEstablishingConnection } = action.payload;
      const connectionError = action.payload.connectionError || undefined;
      if (
        state.isConnected === isConnected &&
        state.isEstablishingConnection === isEstablishingConnection &&
        state.connectionError === connectionError
      ) {
        return state;
      }
      const { connectionError: _old, ...rest } = state;
      const next = { ...rest, isConnected, isEstablishingConnection };
      if (connectionError) next.connectionError = connectionError;
      return next;
    }
    default:
      return state;
  }
}

// ---- the client ----

function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => void m.set(k, String(v)),
    removeItem: (k) => void m.delete(k),
  };
}

function defaultStorage() {
  try {
    if (globalThis.localStorage) return globalThis.localStorage;
  } catch {
    // localStorage may throw (disabled cookies, sandboxed frames)
  }
  return memoryStorage();
}

let counter = 0;
function newClientId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  counter += 1;
  return `${Date.now().toString(36)}-${counter.toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// connectDevTools connects to the Redux DevTools extension, when the page
// has it, and returns its connection (send(action, state)), else null.
function connectDevTools(name) {
  const ext = typeof window !== 'undefined' ? window.__REDUX_DEVTOOLS_EXTENSION__ : undefined;
  if (!ext || typeof ext.connect !== 'function') return null;
  try {
    const devtools = ext.connect({ name });
    devtools.init(initialState);
    return devtools;
  } catch (err) {
    console.error('statecast: Redux DevTools did not connect', err);
    return null;
  }
}

function safely(fn, ...args) {
  try {
    fn(...args);
  } catch (err) {
    console.error('statecast: a listener threw', err);
  }
}

// ---- retries ----

// Error codes that refuse an action only for now. A refused `connecting` is
// sent again (after `unavailable`, on a new socket); a refused write is
// re-sent with the same clientId, except after `internal` (the write was
// not applied, and the same message would likely fail the same way).
const TRANSIENT = new Set(['rate_limited', 'unconfirmed', 'internal', 'unavailable']);
const WRITE_RETRIED = new Set(['rate_limited', 'unconfirmed', 'unavailable']);

// At most MAX_IN_FLIGHT writes wait for their answers at once; for SLOW_MS
// after a transient refusal, one, each at least the refusals' longest
// retryAfter after the previous answer: the server closes a socket refused
// more than 10 times within 10 s.
const MAX_IN_FLIGHT = 8;
const SLOW_MS = 10000;

// Close 1008 (a token error, repeated abuse) ends the session: the same
// frames would be refused the same way. Every other close is retried.
const CLOSE_POLICY = 1008;

const CLOSE_TEXT = {
  1000: 'the server closed the connection',
  1001: 'the server is going away (restarting or shutting down)',
  1006: 'the connection was lost, or the server could not be reached',
  1008: 'the server refused the connection (policy)',
  1011: 'the server failed',
  1012: 'the server is restarting',
  1013: 'the server is busy; try again later',
};

// retryAfterMs reads an HTTP Retry-After header (seconds, or a date) as
// milliseconds from now; undefined if there is none.
function retryAfterMs(header) {
  if (header == null || header === '') return undefined;
  const s = Number(header);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

// errorOf is the reason an `error` frame gives.
function errorOf(msg) {
  const err = { code: msg.code, message: msg.message, ref: msg.ref };
  if (msg.retryAfter > 0) err.retryAfter = msg.retryAfter;
  return err;
}

// closeError is the reason a close gives.
function closeError(ev) {
  const code = (ev && ev.code) || 1006;
  const message = (ev && ev.reason) || CLOSE_TEXT[code] || `the connection closed (${code})`;
  return { code: 'socket_closed', closeCode: code, message };
}

// watchHandshake makes a refused handshake visible where the WebSocket
// shows it (the `ws` package in Node: its status and Retry-After; a
// browser sees only a close 1006): it calls refused with the reason, then
// ends the attempt.
function watchHandshake(ws, refused) {
  if (typeof ws.on !== 'function') return;
  ws.on('unexpected-response', (req, res) => {
    const code = res.statusCode;
    const err = {
      code: 'handshake_refused',
      httpStatus: code,
      message: `the server refused the connection (HTTP ${code})`,
    };
    const wait = retryAfterMs(res.headers && res.headers['retry-after']);
    if (wait !== undefined) err.retryAfter = wait;
    refused(err);
    if (typeof res.resume === 'function') res.resume();
    ws.terminate();
  });
}

// socketURL returns url with a ws: or wss: scheme: a ws: or wss: URL as
// it is; anything else resolved against the page, wss: if the page was
// loaded over https:.
function socketURL(url) {
  if (/^wss?:/i.test(url) || typeof location === 'undefined') return url;
  const u = new URL(url, location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

// createClient connects to a statecast room (url: its ws:// or wss:// URL;
// in a page also a path such as '/chat/lobby', or an http(s) URL, which
// becomes wss: on a page loaded over https:, else ws:) as username and
// keeps the room's state in sync. Options:
//
//   url, username      required
//   id, token          the user id to claim and its token; default: the
//                      ones kept in storage (none: the server makes an id)
//   storage            where the id and token are kept: an object with
//                      getItem/setItem/removeItem (default localStorage, or
//                      memory where there is none); storageKey prefixes the
//                      keys (default 'statecast')
//   WebSocket          the WebSocket class (default globalThis.WebSocket)
//   dispatch           called with every action the client reduces (see
//                      connectStore)
//   devToolsName       the name under which the Redux DevTools extension,
//                      when the page has it, shows the synced state, with
//                      every snapshot, patch and ack as an action (default
//                      'statecast ' + url)
//   onEvent(frame)     called with every frame from the server
//   onError(error)     called with `error` frames and with messages the
//                      server refused: {code, message, ref, clientId, text};
//                      not with the refusals the client retries itself
//   minDelayMs, maxDelayMs   the backoff (default 300 ms .. 10 s): an
//                      attempt waits a random time up to a base that
//                      doubles per attempt (full jitter); after a server's
//                      hint (retryAfter, Retry-After), the hint plus a
//                      random time up to the hint
//   connect            false: do not connect until client.connect()
//
// The client returned has getState(), subscribe(listener) (listeners are
// called after every change of the state or of client.status, Redux style,
// without arguments; it returns the function that unsubscribes), send(text)
// (returns the message's clientId), close(), connect(), and the read-only
// properties id, token, seq, pending (messages not yet acknowledged),
// status and connectionError. status is 'idle', 'connecting', 'connected',
// 'reconnecting' (a retry is due at connectionError.retryAt), 'stopped'
// (the client gave up: a token error, close 1008, or a `connecting` that
// would be refused the same way) or 'closed' (by close()). connectionError
// is null while connected or closed, else why the client is not:
// {code, message} with ref and retryAfter (ms) for an `error` frame,
// closeCode for a close (code 'socket_closed'), httpStatus for a refused
// handshake (code 'handshake_refused'), and retryAt (a Date.now() time)
// while a retry is due. The state carries it too.
export function createClient(options) {
  const {
    url,
    username,
    storage = defaultStorage(),
    storageKey = 'statecast',
    WebSocket: WS = globalThis.WebSocket,
    dispatch: externalDispatch,
    onEvent,
    onError,
    minDelayMs = 300,
    maxDelayMs = 10000,
  } = options || {};
  if (!url) throw new Error('statecast: createClient needs a url');
  if (!username) throw new Error('statecast: createClient needs a username');
  if (typeof WS !== 'function') throw new Error('statecast: no WebSocket; pass one as the WebSocket option');

  const idKey = `${storageKey}.id`;
  const tokenKey = `${storageKey}.token`;
  const read = (k) => {
    try {
      return storage.getItem(k) || undefined;
    } catch {
      return undefined;
    }
  };
  const write = (k, v) => {
    try {
      if (v) storage.setItem(k, v);
      else storage.removeItem(k);
    } catch {
      // storage full or disabled: the identity lasts as long as the page
    }
  };

  let id = options.id != null ? String(options.id) : read(idKey);
  let token = options.token || (id === read(idKey) ? read(tokenKey) : undefined);

  let state = initialState;
  let seq = null; // the seq of the last change applied; null: no mirror
  let clientStatus = 'idle';
  let connectionError = null; // see createClient
  let socket = null;
  let attempt = 0; // attempts to connect since the last success
  let retryTimer = null; // the next attempt: a new socket, or `connecting` again
  let stopped = false;
  let pending = []; // {clientId, message}, oldest first
  let inflight = []; // clientIds sent on this socket, not yet answered, in order
  let writeTimer = null; // after a transient refusal, writes wait for it
  let writeAttempt = 0; // transient write refusals since the last ack
  let slowUntil = 0; // until then, one write at a time, pace ms apart (see SLOW_MS)
  let pace = 0;
  const listeners = new Set();
  // With the Redux DevTools extension, every snapshot, patch and ack shows
  // there as a named action, with the synced state after it.
  const devtools = connectDevTools(options.devToolsName || `statecast ${url}`);
  const toDevTools = (action) => devtools && safely(() => devtools.send(action, state));

  function notify() {
    for (const l of [...listeners]) safely(l);
  }

  // reduce applies an action to the client's state and hands it to the
  // external dispatch; it throws when a patch does not apply.
  function reduce(action) {
    const next = statecastReducer(state, action);
    if (externalDispatch) {
      try {
        externalDispatch(action);
      } catch (err) {
        // A store that missed earlier actions: resync it with a snapshot.
        console.error('statecast: the store refused an action; resyncing', err);
        queueMicrotask(() => resync());
      }
    }
    const changed = next !== state;
    state = next;
    if (action.type !== status.type) toDevTools({ type: action.type, seq: action.payload && action.payload.seq });
    return changed;
  }

  // setStatus sets the status and connectionError (err; by default the one
  // there is), and notifies the listeners if either changed.
  function setStatus(s, err = connectionError) {
    const isConnected = s === 'connected';
    const isEstablishingConnection = (s === 'connecting' || s === 'reconnecting') && !!socket;
    let changed = false;
    if (
      state.isConnected !== isConnected ||
      state.isEstablishingConnection !== isEstablishingConnection ||
      state.connectionError !== (err || undefined)
    ) {
      const payload = { isConnected, isEstablishingConnection };
      if (err) payload.connectionError = err;
      changed = reduce(status(payload));
    }
    if (changed || s !== clientStatus || err !== connectionError) {
      clientStatus = s;
      connectionError = err;
      notify();
    }
  }

  // backoff is the wait before attempt n, in whole ms: with the server's
  // hint (ms), the hint plus a random time up to the hint; else a random
  // time up to minDelayMs doubled n times, at most maxDelayMs.
  function backoff(n, hintMs) {
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** n);
    return Math.ceil(hintMs > 0 ? hintMs + Math.random() * Math.min(base, hintMs) : Math.random() * base);
  }

  function transmit(p) {
    try {
      socket.send(JSON.stringify({ event: 'writeMessage', message: p.message, clientId: p.clientId }));
      inflight.push(p.clientId);
    } catch {
      // the socket is closing; the message is re-sent after the reconnect
    }
  }

  // flush sends the pending messages not in flight on this socket, as many
  // as the window allows (see MAX_IN_FLIGHT), unless the writes wait.
  function flush() {
    if (!socket || clientStatus !== 'connected' || writeTimer) return;
    const window = Date.now() < slowUntil ? 1 : MAX_IN_FLIGHT;
    for (const p of pending) {
      if (inflight.length >= window) return;
      if (!inflight.includes(p.clientId)) transmit(p);
    }
  }

  // holdWrites lets no write out for ms, then flushes.
  function holdWrites(ms) {
    clearTimeout(writeTimer);
    writeTimer = setTimeout(() => {
      writeTimer = null;
      flush();
    }, ms);
  }

  function remember(newId, newToken) {
    if (newId != null && String(newId) !== id) {
      id = String(newId);
      write(idKey, id);
    }
    if (newToken && newToken !== token) {
      token = newToken;
      write(tokenKey, token);
    }
  }

  function handle(ws, msg) {
    switch (msg.event) {
      case 'snapshot': {
        const oldId = id;
        remember(msg.id, msg.token);
        seq = msg.seq;
        reduce(snapshot({ seq: msg.seq, state: msg.state }));
        // Messages already in the room need no re-sending (the server would
        // dedupe them, but not under a new id).
        const done = new Set();
        for (const m of state.messages) {
          if (m && m.clientId && (m.userId === oldId || m.userId === id)) done.add(m.clientId);
        }
        pending = pending.filter((p) => !done.has(p.clientId));
        established();
        break;
      }
      case 'resumed':
        remember(msg.id, msg.token);
        established();
        break;
      case 'patch':
        if (seq == null || msg.seq <= seq) break; // not for this mirror, or seen
        try {
          reduce(patch({ seq: msg.seq, ops: msg.ops }));
        } catch (err) {
          console.error('statecast: a patch did not apply; resyncing', err);
          resync();
          return;
        }
        seq = msg.seq;
        notify();
        break;
      case 'ack': {
        toDevTools({ type: 'statecast/ack', clientId: msg.clientId, seq: msg.seq });
        inflight = inflight.filter((c) => c !== msg.clientId);
        const before = pending.length;
        pending = pending.filter((p) => p.clientId !== msg.clientId);
        writeAttempt = 0;
        if (pending.length !== before) notify();
        if (writeTimer) break; // a refusal's wait
        if (Date.now() < slowUntil && pending.length > inflight.length) holdWrites(pace);
        else flush();
        break;
      }
      case 'error':
        if (msg.ref === 'connecting') refused(ws, msg);
        else if (msg.ref === 'writeMessage' && inflight.length > 0) writeRefused(msg);
        else report(errorOf(msg));
        break;
      default:
        break;
    }
  }

  // refused handles a refused `connecting`: a transient refusal is retried,
  // on this socket (after `unavailable`, on a new one); any other stops
  // the client (a token error, or a frame refused the same way again).
  function refused(ws, msg) {
    const err = errorOf(msg);
    if (!TRANSIENT.has(msg.code)) {
      report(err);
      stop('stopped', err);
      return;
    }
    if (msg.code === 'unavailable') {
      drop(1000, 'retrying');
      scheduleReconnect(err, msg.retryAfter);
      return;
    }
    const delay = backoff(attempt++, msg.retryAfter);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (ws === socket && !stopped) hello(ws);
    }, delay);
    setStatus('reconnecting', { ...err, retryAt: Date.now() + delay });
  }

  // writeRefused handles the answer to the oldest write in flight (each
  // write gets an ack or an error, in order): after a transient refusal
  // the writes wait, then the message is re-sent with its clientId; any
  // other refusal drops it, and reports it.
  function writeRefused(msg) {
    const clientId = inflight.shift();
    const p = pending.find((x) => x.clientId === clientId);
    if (!p) return;
    if (WRITE_RETRIED.has(msg.code)) {
      const now = Date.now();
      pace = Math.max(now < slowUntil ? pace : 0, msg.retryAfter || minDelayMs);
      slowUntil = now + SLOW_MS;
      holdWrites(backoff(writeAttempt++, msg.retryAfter));
      return;
    }
    pending = pending.filter((x) => x !== p);
    report({ ...errorOf(msg), clientId, text: p.message });
    notify();
  }

  function report(err) {
    if (onError) safely(onError, err);
  }

  function established() {
    attempt = 0;
    inflight = [];
    clearTimeout(writeTimer);
    writeTimer = null;
    writeAttempt = 0;
    slowUntil = 0;
    pace = 0;
    setStatus('connected', null);
    notify();
    flush();
  }

  function hello(ws) {
    const frame = { event: 'connecting', username };
    if (id) frame.id = id;
    if (token) frame.token = token;
    if (token && seq != null) frame.lastSeq = seq;
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // closing: its close brings the next attempt
    }
  }

  function open() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (stopped) return;
    let ws;
    try {
      ws = new WS(socketURL(url), [SUBPROTOCOL]);
    } catch (err) {
      // A bad URL, or one the page may not open: no retry would help.
      const reason = { code: 'socket_failed', message: String((err && err.message) || err) };
      report(reason);
      stop('stopped', reason);
      return;
    }
    socket = ws;
    inflight = [];
    let handshake = null; // a refused handshake, where the WebSocket shows it
    watchHandshake(ws, (err) => {
      handshake = err;
    });
    const { retryAt: _due, ...last } = connectionError || {};
    setStatus(seq == null && clientStatus !== 'reconnecting' ? 'connecting' : 'reconnecting', connectionError && last);
    ws.onopen = () => {
      if (ws !== socket) return;
      if (ws.protocol !== SUBPROTOCOL) {
        const reason = { code: 'not_v2', message: 'the server does not speak statecast.v2' };
        report(reason);
        stop('stopped', reason);
        return;
      }
      hello(ws);
    };
    ws.onmessage = (ev) => {
      if (ws !== socket) return;
      let msg;
      try {
        msg = JSON.parse(typeof ev.data === 'string' ? ev.data : String(ev.data));
      } catch {
        console.warn('statecast: ignoring a frame that is not JSON');
        return;
      }
      if (!msg || typeof msg.event !== 'string') return;
      if (onEvent) safely(onEvent, msg);
      handle(ws, msg);
    };
    ws.onclose = (ev) => {
      if (ws !== socket) return;
      socket = null;
      if (stopped) return;
      const err = handshake || closeError(ev);
      if (err.closeCode === CLOSE_POLICY) stop('stopped', err);
      else scheduleReconnect(err, err.retryAfter);
    };
    ws.onerror = () => {}; // a close follows
  }

  function scheduleReconnect(err, hintMs) {
    if (stopped) return;
    const delay = backoff(attempt++, hintMs);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(open, delay);
    setStatus('reconnecting', { ...err, retryAt: Date.now() + delay });
  }

  // drop closes the socket; its close brings no retry.
  function drop(code, why) {
    const ws = socket;
    socket = null;
    if (ws) {
      try {
        ws.close(code, why);
      } catch {
        // already closed
      }
    }
  }

  // resync drops the mirror and reconnects: the server answers with a
  // snapshot.
  function resync() {
    seq = null;
    drop(4000, 'resync');
    if (!stopped) open();
  }

  function stop(finalStatus, err) {
    stopped = true;
    clearTimeout(retryTimer);
    retryTimer = null;
    clearTimeout(writeTimer);
    writeTimer = null;
    drop(1000, 'bye');
    setStatus(finalStatus, err || null);
  }

  const client = {
    getState: () => state,
    subscribe(listener) {
      if (typeof listener !== 'function') throw new Error('statecast: a listener must be a function');
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    // send queues a message and returns its clientId; it is sent now if the
    // socket is connected, else after the reconnect, until acknowledged.
    send(text) {
      const p = { clientId: newClientId(), message: String(text) };
      pending = [...pending, p];
      flush();
      notify();
      return p.clientId;
    },
    connect() {
      if (socket || retryTimer) return;
      stopped = false;
      attempt = 0;
      connectionError = null;
      open();
    },
    close() {
      if (clientStatus === 'closed' && !socket) return;
      stop('closed');
    },
    get id() {
      return id;
    },
    get token() {
      return token;
    },
    get seq() {
      return seq;
    },
    get status() {
      return clientStatus;
    },
    get connectionError() {
      return connectionError;
    },
    get pending() {
      return pending.slice();
    },
  };
  if (options.connect !== false) open();
  return client;
}

// connectStore connects a Redux store (for example Redux Toolkit's
// configureStore, with statecastReducer mounted under some key) to a room:
// it creates a client with options (as createClient) that dispatches
// statecast/snapshot, statecast/patch and statecast/status actions to the
// store, and returns the client (to send, close, and read id and status).
export function connectStore(store, options) {
  if (!store || typeof store.dispatch !== 'function') throw new Error('statecast: connectStore needs a store');
  const outer = options && options.dispatch;
  return createClient({
    ...options,
    dispatch: (action) => {
      store.dispatch(action);
      if (outer) outer(action);
    },
  });
}
