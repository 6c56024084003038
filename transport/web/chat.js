// The statecast chat page. It speaks protocol v1 like the seed's useSocket
// hook: it connects to /chat (or /chat/{room} for ?room=), identifies itself
// with `connecting`, keeps its id in the cookie wsId so that a reload comes
// back as the same user, and reconnects with a short backoff whenever the
// socket closes with anything but 1000.
//
// Every text that comes from users goes into the page through textContent,
// never as HTML.

const $ = (id) => document.getElementById(id);

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const FIRST_RETRY_MS = 300;
const MAX_RETRY_MS = 5000;
const YEAR_S = 365 * 24 * 60 * 60;

const room = new URLSearchParams(location.search).get('room');
const path = room && ROOM_NAME.test(room) ? `/chat/${room}` : '/chat';
const endpoint = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;

// Counts every event received by name, for tests and curious humans.
window.statecastEvents = {};

let socket = null;
let retryTimer = 0;
let retryMs = FIRST_RETRY_MS;
let users = [];

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

function myId() {
  let id = getCookie('wsId');
  if (!id) {
    id = String(Date.now());
    setCookie('wsId', id);
  }
  return id;
}

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

function showChat(on) {
  $('join-form').hidden = on;
  $('chat').hidden = !on;
  (on ? $('message') : $('name')).focus();
}

function renderUsers() {
  const me = getCookie('wsId');
  const items = users.map(({ id, username }) => {
    const li = document.createElement('li');
    li.dataset.id = id;
    li.textContent = username;
    li.classList.toggle('me', id === me);
    return li;
  });
  $('users').replaceChildren(...items);
}

function renderMessages(list) {
  const box = $('messages').parentElement;
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const me = getCookie('wsId');
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

function handle(msg) {
  window.statecastEvents[msg.event] = (window.statecastEvents[msg.event] || 0) + 1;
  switch (msg.event) {
    case 'connected':
      retryMs = FIRST_RETRY_MS;
      if (msg.id != null) setCookie('wsId', String(msg.id)); // the server may assign one
      users = msg.connectedUserList || [];
      renderUsers();
      renderMessages(msg.messagesList || []);
      showError('');
      setStatus('connected');
      break;
    case 'joined':
      users = users.filter((u) => u.id !== msg.id).concat({ id: msg.id, username: msg.username });
      renderUsers();
      break;
    case 'disconnected':
      users = users.filter((u) => u.id !== msg.id);
      renderUsers();
      break;
    case 'messageWritten':
      renderMessages(msg.messagesList || []);
      break;
    case 'error':
      showError(`${msg.message || 'error'} (${msg.code || 'unknown'})`);
      if (msg.ref === 'connecting') leave(); // refused: let the user pick another name
      break;
  }
}

function connect() {
  clearTimeout(retryTimer);
  const ws = new WebSocket(endpoint);
  socket = ws;
  ws.onopen = () => {
    ws.send(JSON.stringify({ event: 'connecting', id: myId(), username: getCookie('wsName') }));
  };
  ws.onmessage = ({ data }) => {
    if (ws !== socket) return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      console.warn('statecast: ignoring a frame that is not JSON:', data);
      return;
    }
    handle(msg);
  };
  ws.onclose = ({ code }) => {
    if (ws !== socket) return;
    socket = null;
    if (code === 1000) {
      setStatus('offline');
      return;
    }
    setStatus('reconnecting');
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };
}

function join(name) {
  setCookie('wsName', name);
  myId();
  showChat(true);
  setStatus('connecting');
  connect();
}

function leave() {
  clearTimeout(retryTimer);
  retryMs = FIRST_RETRY_MS;
  const ws = socket;
  socket = null;
  if (ws) ws.close(1000, 'leave');
  $('name').value = getCookie('wsName');
  setCookie('wsName', '');
  users = [];
  renderUsers();
  renderMessages([]);
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
  if (!input.value || !socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ event: 'writeMessage', message: input.value, username: getCookie('wsName') }));
  input.value = '';
});

$('leave').addEventListener('click', leave);

$('room').textContent = `#${path === '/chat' ? 'chat' : room}`;
if (getCookie('wsName')) join(getCookie('wsName'));
else showChat(false);
