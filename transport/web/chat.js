// The statecast chat page. It speaks protocol v2 through client.js: it
// connects to /chat (or /chat/{room} for ?room=), mirrors the room's state
// (a snapshot, then patches), and renders it. client.js keeps the user id
// and its token in localStorage, so that a reload comes back as the same
// user, and reconnects with backoff whenever the socket closes or the
// server refuses it for now, resuming from the last change it saw; the page
// shows why it is not connected, and when it tries again. The page also
// keeps the id in the cookie wsId, as the seed's clients do.
//
// Every text that comes from users goes into the page through textContent,
// never as HTML.

import { createClient } from './client.js';

const $ = (id) => document.getElementById(id);

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const FIRST_RETRY_MS = 300;
const MAX_RETRY_MS = 5000;
const YEAR_S = 365 * 24 * 60 * 60;
// A `connecting` refused with these cannot be helped by another name.
const TOKEN_ERRORS = new Set(['token_missing', 'token_invalid', 'token_expired']);

const room = new URLSearchParams(location.search).get('room');
const path = room && ROOM_NAME.test(room) ? `/chat/${room}` : '/chat';
const endpoint = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;

// Counts every event received by name, for tests and curious humans.
window.statecastEvents = {};

let client = null;
let rendered = { messages: null, userList: null, status: null, me: null };
let countdown = null; // re-renders the connection line while a retry is due

function getCookie(name) {
  for (const part of document.cookie.split('; ')) {
    const [key, ...rest] = part.split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return '';
}

function setCookie(name, value) {
  const age = value ? YEAR_S : 0;
  document.cookie = `${name}=${encodeURIComponent(value)}; path=/; max-age=${age}; samesite=strict`;
}

// The page's status: offline, connecting, connected, reconnecting or
// stopped (the client gave up; the connection line says why).
function setStatus(state) {
  const status = $('status');
  status.dataset.state = state;
  status.textContent = state;
  $('send').disabled = state !== 'connected';
}

function showError(text) {
  const error = $('error');
  error.textContent = text;
  error.hidden = !text;
}

function codeLabel(err) {
  if (err.code === 'socket_closed') return `close ${err.closeCode}`;
  if (err.code === 'handshake_refused') return `HTTP ${err.httpStatus}`;
  return err.code;
}

// reasonText says why the client is not connected, and when it tries again.
function reasonText(status, err) {
  if (!err || status === 'connected' || status === 'closed') return '';
  const why = `${err.message || 'no reason given'} (${codeLabel(err)})`;
  if (status === 'stopped') return `Disconnected: ${why}.`;
  const wait = err.retryAt ? Math.ceil((err.retryAt - Date.now()) / 1000) : 0;
  return wait > 0 ? `Reconnecting in ${wait} s: ${why}.` : `Reconnecting: ${why}.`;
}

// showConnection shows the connection line, and keeps it current while a
// retry is due.
function showConnection(status, err) {
  const line = $('connection');
  const text = reasonText(status, err);
  if (line.textContent !== text) line.textContent = text;
  line.hidden = !text;
  line.dataset.state = status;
  line.dataset.code = (err && err.code) || '';
  const due = status === 'reconnecting' && err && err.retryAt > Date.now();
  if (due && !countdown) countdown = setInterval(render, 250);
  if (!due && countdown) {
    clearInterval(countdown);
    countdown = null;
  }
}

function showChat(on) {
  $('join-form').hidden = on;
  $('chat').hidden = !on;
  (on ? $('message') : $('name')).focus();
}

function renderUsers(users, me) {
  const items = users.map(({ id, username }) => {
    const li = document.createElement('li');
    li.dataset.id = id;
    li.textContent = username;
    li.classList.toggle('me', id === me);
    return li;
  });
  $('users').replaceChildren(...items);
}

function renderMessages(list, me) {
  const box = $('messages').parentElement;
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const items = list.map((m) => {
    const li = document.createElement('li');
    const author = document.createElement('span');
    const text = document.createElement('span');
    author.className = 'author';
    author.textContent = m.username;
    text.className = 'text';
    text.textContent = m.message;
    li.append(author, text);
    if (m.at) {
      const time = document.createElement('time');
      time.dateTime = m.at;
      time.textContent = new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      li.append(time);
    }
    li.classList.toggle('mine', m.userId === me);
    return li;
  });
  $('messages').replaceChildren(...items);
  if (atBottom) box.scrollTop = box.scrollHeight;
}

// render shows the client's state; the state is immutable, so unchanged
// parts keep their identity and are not redrawn.
function render() {
  if (!client) return;
  const state = client.getState();
  const me = client.id || '';
  if (me && me !== getCookie('wsId')) setCookie('wsId', me);
  if (state.userList !== rendered.userList || me !== rendered.me) renderUsers(state.userList, me);
  if (state.messages !== rendered.messages || me !== rendered.me) renderMessages(state.messages, me);
  const status = { idle: 'connecting', closed: 'offline' }[client.status] || client.status;
  if (status !== rendered.status) setStatus(status);
  if (status === 'connected') showError('');
  showConnection(client.status, client.connectionError);
  rendered = { messages: state.messages, userList: state.userList, status, me };
}

function join(name) {
  setCookie('wsName', name);
  showChat(true);
  setStatus('connecting');
  let stored = null;
  try {
    stored = localStorage.getItem('statecast.id');
  } catch {
    // no localStorage: client.js keeps the identity in memory
  }
  client = createClient({
    url: endpoint,
    username: name,
    // client.js keeps the id; an id only in the cookie (an older page's) is
    // claimed too.
    id: stored || getCookie('wsId') || undefined,
    minDelayMs: FIRST_RETRY_MS,
    maxDelayMs: MAX_RETRY_MS,
    onEvent: (msg) => {
      window.statecastEvents[msg.event] = (window.statecastEvents[msg.event] || 0) + 1;
    },
    onError: (err) => {
      // A token error stops the client: the connection line shows it.
      if (err.ref === 'connecting' && TOKEN_ERRORS.has(err.code)) return;
      showError(`${err.message || 'error'} (${err.code || 'unknown'})`);
      if (err.ref === 'connecting') leave(); // refused: let the user pick another name
    },
  });
  client.subscribe(render);
  window.statecastClient = client;
  render();
}

function leave() {
  const c = client;
  client = null;
  if (c) c.close();
  $('name').value = getCookie('wsName');
  setCookie('wsName', '');
  renderUsers([], '');
  renderMessages([], '');
  rendered = { messages: null, userList: null, status: null, me: null };
  showConnection('closed', null);
  setStatus('offline');
  showChat(false);
}

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  if (name) join(name);
});

$('message-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('message');
  if (!input.value || !client || client.status !== 'connected') return;
  client.send(input.value);
  input.value = '';
});

$('leave').addEventListener('click', leave);

$('room').textContent = `#${path === '/chat' ? 'chat' : room}`;
if (getCookie('wsName')) join(getCookie('wsName'));
else showChat(false);
