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
// It is never modified: every change makes a new object, sharing what did
// not change, so listeners may compare references.
//
// With Redux Toolkit:
//
//   import { configureStore } from '@reduxjs/toolkit';
//   import { statecastReducer, connectStore } from '/client.js';
//   const store = configureStore({ reducer: { chat: statecastReducer } });
//   const chat = connectStore(store, { url, username: 'ann' });
//
// The client keeps its user id and token in storage (localStorage by
// default), so that a reloaded page keeps its identity; after a dropped
// connection it reconnects with exponential backoff and jitter and resumes
// from the last change it applied. Messages are sent with a clientId and
// re-sent after a reconnect until the server acknowledges them: the server
// applies each clientId once.

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
// status({isConnected, isEstablishingConnection}): the socket's status.
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
      if (state.isConnected === isConnected && state.isEstablishingConnection === isEstablishingConnection) {
        return state;
      }
      return { ...state, isConnected, isEstablishingConnection };
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

function safely(fn, ...args) {
  try {
    fn(...args);
  } catch (err) {
    console.error('statecast: a listener threw', err);
  }
}

// createClient connects to a statecast room (url: its ws:// or wss:// URL)
// as username and keeps the room's state in sync. Options:
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
//   onEvent(frame)     called with every frame from the server
//   onError(error)     called with `error` frames and with messages the
//                      server refused: {code, message, ref, clientId, text}
//   minDelayMs, maxDelayMs   reconnect backoff (default 300 ms .. 10 s),
//                      doubled per attempt, with jitter
//   connect            false: do not connect until client.connect()
//
// The client returned has getState(), subscribe(listener) (listeners are
// called after every change of the state or of client.status, Redux style,
// without arguments; it returns the function that unsubscribes), send(text)
// (returns the message's clientId), close(), connect(), and the read-only
// properties id, token, seq, status ('idle', 'connecting', 'connected',
// 'reconnecting', 'closed') and pending (messages not yet acknowledged).
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
  let socket = null;
  let attempt = 0;
  let retryTimer = null;
  let stopped = false;
  let pending = []; // {clientId, message}, oldest first
  let inflight = []; // clientIds sent on this socket, not yet answered
  const listeners = new Set();

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
    if (next !== state) {
      state = next;
      return true;
    }
    return false;
  }

  function setStatus(s) {
    const isConnected = s === 'connected';
    const isEstablishingConnection = (s === 'connecting' || s === 'reconnecting') && !!socket;
    let changed = false;
    if (state.isConnected !== isConnected || state.isEstablishingConnection !== isEstablishingConnection) {
      changed = reduce(status({ isConnected, isEstablishingConnection }));
    }
    if (changed || s !== clientStatus) {
      clientStatus = s;
      notify();
    }
  }

  function transmit(p) {
    if (!socket || clientStatus !== 'connected') return;
    try {
      socket.send(JSON.stringify({ event: 'writeMessage', message: p.message, clientId: p.clientId }));
      inflight.push(p.clientId);
    } catch {
      // the socket is closing; the message is re-sent after the reconnect
    }
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
        inflight = inflight.filter((c) => c !== msg.clientId);
        const before = pending.length;
        pending = pending.filter((p) => p.clientId !== msg.clientId);
        if (pending.length !== before) notify();
        break;
      }
      case 'error': {
        if (msg.ref === 'connecting') {
          // Refused (a bad name, auth): retrying would not help.
          report({ code: msg.code, message: msg.message, ref: msg.ref });
          stop('closed');
          break;
        }
        if (msg.ref === 'writeMessage' && inflight.length > 0) {
          // Each writeMessage gets an ack or an error, in order.
          const clientId = inflight.shift();
          const p = pending.find((x) => x.clientId === clientId);
          if (msg.code === 'rate_limited') {
            // Try again after a pause, with everything after it.
            if (ws === socket) {
              inflight = [];
              clearTimeout(retryTimer);
              retryTimer = setTimeout(() => {
                if (ws === socket) pending.forEach(transmit);
              }, 1000);
            }
          } else if (p) {
            pending = pending.filter((x) => x !== p);
            report({ code: msg.code, message: msg.message, ref: msg.ref, clientId, text: p.message });
            notify();
          }
          break;
        }
        report({ code: msg.code, message: msg.message, ref: msg.ref });
        break;
      }
      default:
        break;
    }
  }

  function report(err) {
    if (onError) safely(onError, err);
  }

  function established() {
    attempt = 0;
    inflight = [];
    setStatus('connected');
    notify();
    pending.forEach(transmit);
  }

  function open() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (stopped) return;
    let ws;
    try {
      ws = new WS(url, [SUBPROTOCOL]);
    } catch (err) {
      console.error('statecast: cannot open a socket', err);
      scheduleReconnect();
      return;
    }
    socket = ws;
    inflight = [];
    setStatus(seq == null && clientStatus !== 'reconnecting' ? 'connecting' : 'reconnecting');
    ws.onopen = () => {
      if (ws !== socket) return;
      if (ws.protocol !== SUBPROTOCOL) {
        report({ code: 'not_v2', message: 'the server does not speak statecast.v2' });
        stop('closed');
        return;
      }
      const hello = { event: 'connecting', username };
      if (id) hello.id = id;
      if (token) hello.token = token;
      if (token && seq != null) hello.lastSeq = seq;
      ws.send(JSON.stringify(hello));
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
      if (ev && ev.code === 1000) {
        // The server ended the session on purpose.
        stop('closed');
        return;
      }
      scheduleReconnect();
    };
    ws.onerror = () => {}; // a close follows
  }

  function scheduleReconnect() {
    if (stopped) return;
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** attempt);
    attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    setStatus('reconnecting');
    clearTimeout(retryTimer);
    retryTimer = setTimeout(open, delay);
  }

  // resync drops the mirror and reconnects: the server answers with a
  // snapshot.
  function resync() {
    seq = null;
    const ws = socket;
    socket = null;
    if (ws) {
      try {
        ws.close(4000, 'resync');
      } catch {
        // already closed
      }
    }
    if (!stopped) open();
  }

  function stop(finalStatus) {
    stopped = true;
    clearTimeout(retryTimer);
    retryTimer = null;
    const ws = socket;
    socket = null;
    if (ws) {
      try {
        ws.close(1000, 'bye');
      } catch {
        // already closed
      }
    }
    setStatus(finalStatus);
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
      transmit(p);
      notify();
      return p.clientId;
    },
    connect() {
      if (socket || retryTimer) return;
      stopped = false;
      attempt = 0;
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
