// seedclient.mjs runs the seed document's JavaScript chat clients (the
// clients the project grew from, unchanged in their logic) against a chat server:
//
//   - the `useSocket` React hook ("Хук для подключения сокета"), as a plain
//     function whose React state is kept in local variables;
//   - the Redux `chatMiddleware` with its `Socket` helper class and the
//     `chatSlice`, wired into a real `configureStore`.
//
// The seed code is copied as the seed writes it, with only what it needs to
// run outside a browser and a React app (each change is marked "seed:"):
// the URL is a parameter instead of a literal, the browser globals it reads
// (`WebSocket`, `name`, `event`) are provided, and its free variables
// (`username`, `createAction`, SOCKET_CONNECT/SOCKET_DISCONNECT) are bound.
// Its JSON.parse of every frame has no try/catch, as in the seed: a frame that
// is not JSON throws out of the socket's listener and crashes this script.
//
// Usage: node seedclient.mjs [--grace-ms MS] [--origin ORIGIN] [--timeout-ms MS] ws://HOST:PORT/chat
//
// The room must be empty and without history (a fresh server). On success
// the only thing written to stdout is one line of JSON (the summary) and the
// exit code is 0; any failed expectation exits 1, an uncaught exception (a
// seed client crashing) 2, the global timeout 3. The seed's console.log
// output goes to stderr.

import { WebSocket as NodeWebSocket } from 'ws'
import { configureStore, createSlice, createAction } from '@reduxjs/toolkit'

// ---------------------------------------------------------------- harness

const opts = { graceMs: 1000, origin: 'http://localhost:3000', timeoutMs: 20000, url: '' }
{
    const argv = process.argv.slice(2)
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]
        if (a === '--grace-ms') opts.graceMs = Number(argv[++i])
        else if (a === '--origin') opts.origin = argv[++i]
        else if (a === '--timeout-ms') opts.timeoutMs = Number(argv[++i])
        else if (!a.startsWith('--') && !opts.url) opts.url = a
        else usage(`unexpected argument ${a}`)
    }
    if (!opts.url) usage('missing server URL')
    if (!(opts.graceMs > 0)) usage('--grace-ms must be a positive number')
    if (!(opts.timeoutMs > 0)) usage('--timeout-ms must be a positive number')
}

function usage(msg) {
    process.stderr.write(`seedclient: ${msg}\nusage: node seedclient.mjs [--grace-ms MS] [--origin ORIGIN] [--timeout-ms MS] ws://HOST:PORT/chat\n`)
    process.exit(64)
}

const started = performance.now()
const now = () => Math.round(performance.now() - started)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// stdout is for the summary alone; the seed's console.log goes to stderr.
const writeStdout = (s) => process.stdout.write(s)
console.log = (...args) => console.error(`[${String(now()).padStart(5)}ms]`, ...args)

let step = 'start'
const fail = (msg) => {
    process.stderr.write(`seedclient: FAIL at step "${step}": ${msg}\n`)
    process.exit(1)
}
process.on('uncaughtException', (err) => {
    process.stderr.write(`seedclient: FAIL at step "${step}": uncaught exception (a seed client crashed): ${err && err.stack || err}\n`)
    process.exit(2)
})
process.on('unhandledRejection', (err) => {
    process.stderr.write(`seedclient: FAIL at step "${step}": unhandled rejection: ${err && err.stack || err}\n`)
    process.exit(2)
})
setTimeout(() => {
    process.stderr.write(`seedclient: FAIL at step "${step}": global timeout of ${opts.timeoutMs} ms\n`)
    process.exit(3)
}, opts.timeoutMs).unref()

// The browser's WebSocket, as the seed code uses it (`new WebSocket(url)`),
// from the ws package. It sends an Origin like a page served by the React
// dev server would, and keeps every frame it receives so the summary can
// check them all. Its listener is added first, before the seed's own.
const allSockets = []
class BrowserWebSocket extends NodeWebSocket {
    constructor(url, protocols) {
        super(url, protocols, opts.origin ? { origin: opts.origin } : {})
        this.frames = []
        this.openedAt = now()
        allSockets.push(this)
        this.addEventListener('message', ({ data }) => { this.frames.push(data) })
    }
}
globalThis.WebSocket = BrowserWebSocket
// seed: the middleware's console.log reads `name`, which is window.name in a browser.
globalThis.name = ''

// A browser profile: its cookies survive a page reload.
const newBrowser = () => {
    const jar = new Map()
    return { getCookie: (k) => jar.get(k), setCookie: (k, v) => { jar.set(k, v) } }
}

// --------------------------------------------------- seed: useSocket hook

// seed: the hook's React state becomes local variables; `useEffect(..., [])`
// runs once, when the function is called (the page mounts). The effect's
// closure sees the first render's `myWsId`, as in React. The URL and the
// cookie functions are parameters. `ws` is also returned so the page can
// close it on unload, as a browser does.
export const useSocket = ({ url, username, onConnected, onJoined, onDisconnected, onMessageWritten }, { getCookie, setCookie }) => {
    let ws; const setWs = (s) => { ws = s }                                  // useState<undefined | WebSocket>()
    const myWsId = getCookie('wsId'); let myWsIdState = myWsId             // useState(getCookie('wsId'))
    const setMyWsId = (id) => { myWsIdState = id }

    ;(() => {                                                               // useEffect(() => {
        const createWs = () => {
            let reconnectInterval
            const socket = new WebSocket(url)

            setWs(socket)

            socket.onopen = () => {
                const id = myWsId || String(Date.now())

                if (!myWsId) {
                    setMyWsId(id)
                    setCookie('wsId', id)
                }

                const connectData = {
                    id,
                    username,
                    event: 'connecting',
                }
                socket.send(JSON.stringify(connectData))
            }

            socket.onmessage = ({ data }) => {
                const resData = JSON.parse(data)
                const { event, id, username, messagesList, connectedUserList = [] } = resData

                switch (event) {
                    case 'connected':
                        clearInterval(reconnectInterval)
                        onConnected({ connectedUserList, messagesList })
                        break;
                    case 'joined':
                        onJoined({ id, username })
                        break;
                    case 'disconnected':
                        onDisconnected({ disconnectedId: id })
                        break;
                    case 'messageWritten':
                        onMessageWritten({ messagesList })
                        break;
                }


            }

            socket.onclose = (event) => {
                if (!event.wasClean) {

                    reconnectInterval = setTimeout(() => {
                        createWs()
                    }, 300)

                }
            }

        }
        createWs()
    })()                                                                    // }, [])

    const sendMessage = (data) => {
        ws.send(JSON.stringify({ event: 'writeMessage', ...data }))
    }

    return { sendMessage, get myWsId() { return myWsIdState }, get ws() { return ws } }
}

// ------------------------------------------- seed: Socket helper class

class Socket {
    constructor() {
        this.socket = null
    }

    connect(url) {
        if (!this.socket) {
            this.socket = new WebSocket(url)
        }
    }

    disconnect() {
        if (this.socket) {
            this.socket.close()
            this.socket = null
        }
    }

    send(message) {
        if (this.socket) {
            this.socket.send(JSON.stringify(message))
        }
    }

    on(eventName, callback) {
        if (this.socket) {
            this.socket.addEventListener(eventName, callback)
        }
    }
}

// ----------------------------------------------------- seed: chatSlice

const initialState = {
    messages: [],
    isEstablishingConnection: false,
    isConnected: false,
    userList: []
};

const chatSlice = createSlice({
    name: 'chat',
    initialState,
    reducers: {
        startConnecting: (state => {
            state.isEstablishingConnection = true;
        }),
        connectionEstablished: (state => {
            state.isConnected = true;
            state.isEstablishingConnection = true;
        }),
        includeUserToChat: ((state, action) => {
            state.userList.push(action.payload)
        }),
        excludeUserFromChat: ((state, action) => {
            state.userList = state.userList.filter((item) => item.id !== action.payload.disconnectedId)
        }),
        writeMesaageList: ((state, action) => {
            state.messages = action.payload
        }),
    },
});

const chatActions = chatSlice.actions;

// ---------------------------------------------------- seed: middleware

// seed: from '@common-const'
const SOCKET_CONNECT = 'socket/connect'
const SOCKET_DISCONNECT = 'socket/disconnect'

// seed: `username` (a free variable in the seed) and the URL (the literal
// 'wss://example.com') are parameters; the close listener takes its `event`
// (window.event in a browser).
export const chatMiddleware = (socket, { url, username }) => (params) => (next) => (action) => {
    const { dispatch, getState } = params
    const { type } = action
    let reconnectInterval

    switch (type) {
        case SOCKET_CONNECT:
            socket.connect(url)

            socket.on('open', () => {
                dispatch(chatActions.startConnecting());
                const id = String(Date.now())

                const connectData = {
                    id,
                    username,
                    event: 'connecting',
                }
                socket.send(connectData)
            })

            socket.on('message', ({ data }) => {
                const resData = JSON.parse(data)
                const { event, id, username, messagesList } = resData

                switch (event) {
                    case 'connected':
                        clearInterval(reconnectInterval)
                        dispatch(chatActions.connectionEstablished());
                        console.log(`you was connected to chat`)
                        break;
                    case 'joined': // 👉🏼 Получаем с broadcast бека событие подключения нового юзера
                        dispatch(chatActions.includeUserToChat({ id, username }));
                        console.log(`user ${name} was joined to chat`)
                        break;
                    case 'disconnected': // 👉🏼 Получаем с broadcast бека событие отключенных юзеров
                        dispatch(chatActions.excludeUserFromChat({ disconnectedId: id }));
                        console.log(`user with id ${id} was disconnected from chat`)
                        break;
                    case 'messageWritten': // 👉🏼 Перезаписываем пропс с сообщениями, актуальными данными с бека
                        dispatch(chatActions.writeMesaageList(messagesList));
                        console.log(`message list was updated`)
                        break;
                }

            })

            socket.on('close', (event) => {

                if (!event.wasClean) {

                    reconnectInterval = setTimeout(() => {
                        const creatChatWS = createAction(SOCKET_CONNECT)
                        dispatch(creatChatWS());
                    }, 300)

                }
            })

            break
        case SOCKET_DISCONNECT:
            socket.disconnect()
            break

        default:
            break
    }

    return next(action)
}

// --------------------------------------------------------------- clients

// A Redux app: the store with the chat slice and the seed middleware, plus
// a recorder of every action (with its time) for the checks.
function reduxApp(username) {
    const socket = new Socket()
    const actions = []
    const recorder = () => (next) => (action) => {
        actions.push({ t: now(), type: action.type, payload: action.payload })
        return next(action)
    }
    const store = configureStore({
        reducer: { chat: chatSlice.reducer },
        middleware: (getDefaultMiddleware) => getDefaultMiddleware().concat(recorder, chatMiddleware(socket, { url: opts.url, username })),
    })
    return {
        kind: 'redux', username, socket, store, actions,
        connect: () => store.dispatch(createAction(SOCKET_CONNECT)()),
        disconnect: () => store.dispatch(createAction(SOCKET_DISCONNECT)()),
        // the middleware has no action for writing; the app sends through its Socket.
        write: (message) => socket.send({ event: 'writeMessage', username, message }),
        chat: () => store.getState().chat,
        // joined/disconnected as the store saw them
        presence: (since = 0) => actions.filter((a) => a.t >= since && (a.type === chatActions.includeUserToChat.type || a.type === chatActions.excludeUserFromChat.type))
            .map((a) => a.type === chatActions.includeUserToChat.type ? { event: 'joined', id: a.payload.id, t: a.t } : { event: 'disconnected', id: a.payload.disconnectedId, t: a.t }),
        written: () => actions.filter((a) => a.type === chatActions.writeMesaageList.type).map((a) => a.payload),
    }
}

// A page using the hook, keeping its state from the callbacks as a React
// component would.
function hookPage(browser, username) {
    const page = { kind: 'hook', username, events: [], userList: [], messages: [] }
    const rec = (event, data) => page.events.push({ t: now(), event, ...data })
    page.hook = useSocket({
        url: opts.url,
        username,
        onConnected: ({ connectedUserList, messagesList }) => {
            rec('connected', { connectedUserList, messagesList })
            page.userList = connectedUserList
            page.messages = messagesList
        },
        onJoined: ({ id, username }) => {
            rec('joined', { id, username })
            page.userList = [...page.userList, { id, username }]
        },
        onDisconnected: ({ disconnectedId }) => {
            rec('disconnected', { id: disconnectedId })
            page.userList = page.userList.filter((u) => u.id !== disconnectedId)
        },
        onMessageWritten: ({ messagesList }) => {
            rec('messageWritten', { messagesList })
            page.messages = messagesList
        },
    }, browser)
    page.write = (message, asName = username) => page.hook.sendMessage({ username: asName, message })
    // a browser closes the page's socket with 1001 on unload
    page.unload = () => page.hook.ws.close(1001)
    page.presence = (since = 0) => page.events.filter((e) => e.t >= since && (e.event === 'joined' || e.event === 'disconnected'))
    page.written = () => page.events.filter((e) => e.event === 'messageWritten').map((e) => e.messagesList)
    page.connects = () => page.events.filter((e) => e.event === 'connected')
    return page
}

async function waitFor(what, pred, ms = 5000) {
    const deadline = performance.now() + ms
    while (!pred()) {
        if (performance.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}`)
        await sleep(5)
    }
}

const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b)
const expect = (cond, msg) => { if (!cond) fail(msg) }
const show = (v) => JSON.stringify(v)
const users = (list) => (list || []).map(({ id, username }) => ({ id, username }))
const byId = (list) => [...users(list)].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
const msgs = (list) => (list || []).map(({ username, message }) => ({ username, message }))
// a fresh Date.now() id: the seed makes ids from the clock, so clients must not connect in the same millisecond
const nextMillisecond = async () => { const t = Date.now(); while (Date.now() <= t + 1) await sleep(1) }

// ---------------------------------------------------------------- scenario

const grace = opts.graceMs
const expected = [] // every message, in order
const summary = { ok: false, url: opts.url, graceMs: grace }

step = 'rita (Redux) connects'
const rita = reduxApp('rita')
rita.connect()
await waitFor('rita\'s store to be connected', () => rita.chat().isConnected)
const ritaConnected = JSON.parse(rita.socket.socket.frames[0])
const ritaId = ritaConnected.id
expect(typeof ritaId === 'string' && ritaId !== '', `rita's connected has no string id: ${show(ritaConnected)}`)
expect(eq(users(ritaConnected.connectedUserList), [{ id: ritaId, username: 'rita' }]),
    `the room is not empty (run against a fresh server) or connectedUserList is wrong: ${show(ritaConnected.connectedUserList)}`)
expect(eq(ritaConnected.messagesList, []), `the room has history (run against a fresh server): ${show(ritaConnected.messagesList)}`)

step = 'ann (hook) connects'
await nextMillisecond()
const browserA = newBrowser()
const ann1 = hookPage(browserA, 'ann')
await waitFor('ann\'s connected', () => ann1.connects().length === 1)
const annId = ann1.hook.myWsId
expect(annId && annId === browserA.getCookie('wsId') && annId !== ritaId, `ann's id ${annId} (cookie ${browserA.getCookie('wsId')}, rita ${ritaId})`)
expect(eq(byId(ann1.connects()[0].connectedUserList), byId([{ id: ritaId, username: 'rita' }, { id: annId, username: 'ann' }])),
    `ann's connectedUserList: ${show(ann1.connects()[0].connectedUserList)}`)
await waitFor('rita to see ann joined', () => rita.chat().userList.length === 1)
expect(eq(rita.chat().userList, [{ id: annId, username: 'ann' }]), `rita's userList after ann joined: ${show(rita.chat().userList)}`)

step = 'bob (hook) connects'
await nextMillisecond()
const browserB = newBrowser()
const bob = hookPage(browserB, 'bob')
await waitFor('bob\'s connected', () => bob.connects().length === 1)
const bobId = bob.hook.myWsId
expect(bobId && bobId !== annId && bobId !== ritaId, `bob's id ${bobId} is not fresh`)
const everyone = [{ id: ritaId, username: 'rita' }, { id: annId, username: 'ann' }, { id: bobId, username: 'bob' }]
expect(eq(byId(bob.connects()[0].connectedUserList), byId(everyone)), `bob's connectedUserList: ${show(bob.connects()[0].connectedUserList)}`)
await waitFor('rita to see bob joined', () => rita.chat().userList.length === 2)
await waitFor('ann to see bob joined', () => ann1.presence().length === 1)
expect(eq(rita.chat().userList, [{ id: annId, username: 'ann' }, { id: bobId, username: 'bob' }]), `rita's userList: ${show(rita.chat().userList)}`)
expect(eq(ann1.presence().map(({ event, id, username }) => ({ event, id, username })), [{ event: 'joined', id: bobId, username: 'bob' }]),
    `ann's presence events: ${show(ann1.presence())}`)

const allSee = async (what, pages, n) => {
    for (const p of pages) {
        await waitFor(`${p.username} to see ${what} (${n} messages)`, () => (p.kind === 'redux' ? p.chat().messages : p.messages).length >= n)
        const got = msgs(p.kind === 'redux' ? p.chat().messages : p.messages)
        expect(eq(got, expected.slice(0, got.length)) && got.length === n, `${p.username}'s messages after ${what}: ${show(got)}, want ${show(expected)}`)
    }
}

step = 'messages'
ann1.write('hello from ann')
expected.push({ username: 'ann', message: 'hello from ann' })
await allSee('ann\'s message', [rita, ann1, bob], 1)
rita.write('hi ann, rita here')
expected.push({ username: 'rita', message: 'hi ann, rita here' })
await allSee('rita\'s message', [rita, ann1, bob], 2)
// a burst, the last one claiming another name: the server must use the session's
bob.write('one'); bob.write('two'); bob.write('three, signed mallory', 'mallory')
expected.push({ username: 'bob', message: 'one' }, { username: 'bob', message: 'two' }, { username: 'bob', message: 'three, signed mallory' })
await allSee('bob\'s burst', [rita, ann1, bob], 5)

step = 'ann reloads her page'
const reloadAt = now()
ann1.unload()
await sleep(Math.min(20, grace / 4))
const ann = hookPage(browserA, 'ann') // the reloaded page: same browser, same cookie
await waitFor('reloaded ann\'s connected', () => ann.connects().length === 1)
expect(ann.hook.myWsId === annId, `the reloaded page has id ${ann.hook.myWsId}, want ${annId}`)
const reloaded = ann.connects()[0]
expect(eq(byId(reloaded.connectedUserList), byId(everyone)), `reloaded ann's connectedUserList: ${show(reloaded.connectedUserList)}`)
expect(eq(msgs(reloaded.messagesList), expected), `reloaded ann's messagesList: ${show(reloaded.messagesList)}`)
await sleep(Math.max(0, reloadAt + grace + 300 - now()))
expect(rita.presence(reloadAt).length === 0, `rita saw joined/disconnected after ann's reload: ${show(rita.presence(reloadAt))}`)
expect(bob.presence(reloadAt).length === 0, `bob saw joined/disconnected after ann's reload: ${show(bob.presence(reloadAt))}`)
expect(ann.presence().length === 0, `reloaded ann saw joined/disconnected: ${show(ann.presence())}`)
summary.reload = { closedAtMs: reloadAt, reconnectedAfterMs: reloaded.t - reloadAt, presenceEventsSeenByOthers: 0 }

step = 'ann writes after the reload'
ann.write('back after reload')
expected.push({ username: 'ann', message: 'back after reload' })
await allSee('ann\'s message after the reload', [rita, ann, bob], expected.length)
expect(ann1.written().length === 5, `ann's old page got messages after it was closed: ${ann1.written().length}`)

step = 'ann\'s connection drops (unclean close; the hook reconnects after 300 ms)'
const dropAt = now()
const droppedSocket = ann.hook.ws
ann.hook.ws.terminate()
await waitFor('ann\'s hook to reconnect by itself', () => ann.connects().length === 2, 5000)
expect(ann.hook.ws !== droppedSocket, 'the hook did not open a new socket')
const again = ann.connects()[1]
const againFrame = JSON.parse(ann.hook.ws.frames[0])
expect(againFrame.event === 'connected' && againFrame.id === annId, `ann's connected after the reconnect: ${show(againFrame)}`)
expect(eq(msgs(again.messagesList), expected), `ann's messagesList after the reconnect: ${show(again.messagesList)}`)
expect(eq(byId(again.connectedUserList), byId(everyone)), `ann's connectedUserList after the reconnect: ${show(again.connectedUserList)}`)
await sleep(Math.max(0, again.t + grace + 300 - now()))
// The hook waits 300 ms before it reconnects; if the grace period ran out
// first, ann left and came back: exactly disconnected then joined, else nothing.
const dropOutcome = {}
for (const p of [rita, bob]) {
    const seen = p.presence(dropAt).map(({ event, id }) => ({ event, id }))
    const seamless = seen.length === 0
    const rejoined = eq(seen, [{ event: 'disconnected', id: annId }, { event: 'joined', id: annId }])
    expect(seamless || rejoined, `${p.username} saw ${show(seen)} after ann's drop: want nothing, or disconnected then joined`)
    dropOutcome[p.username] = seamless ? 'seamless' : 'left-and-rejoined'
}
expect(dropOutcome.rita === dropOutcome.bob, `rita and bob disagree about ann's drop: ${show(dropOutcome)}`)
summary.drop = { reconnectedAfterMs: again.t - dropAt, outcome: dropOutcome.rita }

step = 'bob leaves for good'
const leaveAt = now()
bob.unload()
await waitFor('rita to see bob disconnected', () => rita.presence(leaveAt).length >= 1, grace + 5000)
await waitFor('ann to see bob disconnected', () => ann.presence(leaveAt).length >= 1, grace + 5000)
await sleep(Math.max(grace, 500) + 200)
const leave = {}
for (const p of [rita, ann]) {
    const seen = p.presence(leaveAt)
    expect(eq(seen.map(({ event, id }) => ({ event, id })), [{ event: 'disconnected', id: bobId }]),
        `${p.username} saw ${show(seen)} after bob left: want exactly one disconnected for ${bobId}`)
    const after = seen[0].t - leaveAt
    expect(after >= grace - 5, `${p.username} saw bob's disconnected ${after} ms after he left, before the grace period of ${grace} ms`)
    leave[p.username] = after
}
summary.leave = { disconnectedAfterMs: leave }

step = 'final state'
const chat = rita.chat()
expect(eq(msgs(chat.messages), expected), `rita's store messages: ${show(chat.messages)}, want ${show(expected)}`)
expect(chat.messages.every((m) => typeof m.username === 'string' && typeof m.message === 'string'), `messages without username/message: ${show(chat.messages)}`)
const remaining = [{ id: annId, username: 'ann' }]
expect(eq(byId(chat.userList), byId(remaining)), `rita's store userList: ${show(chat.userList)}, want ${show(remaining)}`)
expect(chat.isConnected === true, `rita's store is not connected: ${show(chat)}`)
expect(eq(msgs(ann.messages), expected), `ann's messages: ${show(ann.messages)}`)
expect(eq(byId(ann.userList), byId([{ id: ritaId, username: 'rita' }, { id: annId, username: 'ann' }])), `ann's userList: ${show(ann.userList)}`)
// every messageWritten carried the whole history, one message more each time (v1 never merges)
for (const [who, lists] of [['rita', rita.written()], ['bob', bob.written()], ['ann (first page)', ann1.written()], ['ann', ann.written()]]) {
    for (let i = 1; i < lists.length; i++) {
        expect(lists[i].length === lists[i - 1].length + 1, `${who}'s messageWritten #${i + 1} has ${lists[i].length} messages after ${lists[i - 1].length}`)
    }
    for (const l of lists) expect(eq(msgs(l), expected.slice(0, l.length)), `${who} got messagesList ${show(l)}`)
}
expect(rita.written().length === expected.length, `rita got ${rita.written().length} messageWritten, want ${expected.length}`)
// every frame on every socket is a JSON object with a v1 event, and each socket got one connected first
const v1 = new Set(['connected', 'joined', 'disconnected', 'messageWritten'])
const frameCounts = {}
for (const s of allSockets) {
    s.frames.forEach((f, i) => {
        let e
        try { e = JSON.parse(f) } catch { fail(`a socket received a frame that is not JSON: ${f}`) }
        expect(e && typeof e === 'object' && !Array.isArray(e) && v1.has(e.event), `unexpected frame: ${f}`)
        expect((i === 0) === (e.event === 'connected'), `socket opened at ${s.openedAt} ms: frame #${i + 1} is ${e.event}`)
        frameCounts[e.event] = (frameCounts[e.event] || 0) + 1
    })
}
// rita, ann's first page, bob, ann's reloaded page, ann's reconnect
expect(allSockets.length === 5, `${allSockets.length} sockets were opened, want 5 (an unexpected reconnect?)`)

step = 'goodbye'
const closed = allSockets.filter((s) => s.readyState !== NodeWebSocket.CLOSED).map((s) => new Promise((resolve) => s.addEventListener('close', resolve)))
rita.disconnect()
ann.unload()
await Promise.all(closed)

Object.assign(summary, {
    ok: true,
    ids: { rita: ritaId, ann: annId, bob: bobId },
    redux: { chat },
    hook: { ann: { userList: ann.userList, messages: ann.messages } },
    sockets: allSockets.length,
    frames: frameCounts,
    elapsedMs: now(),
})
writeStdout(JSON.stringify(summary) + '\n')
process.exit(0)
