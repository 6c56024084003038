// v2client.mjs runs statecast's client.js, as the server serves it at
// /client.js, under Node with Redux Toolkit: a configureStore store (with
// its default development checks: immutability and serializability) mounts
// statecastReducer under `chat`, and connectStore keeps it in sync with a
// room while the script chats in it with a second client.
//
//   - rtk (the store) and peer join; both write; the store holds every
//     message once, in order, and equals the client's own state and the
//     peer's;
//   - rtk's socket is killed; peer writes and rtk queues a message while it
//     is away; rtk reconnects with backoff, resumes (no second snapshot),
//     and its queued message is sent once;
//   - rtk's socket is killed right after a send, before the ack: the
//     message is re-sent after the resume and the server applies it once;
//   - a new client with rtk's storage (a reload) keeps rtk's id.
//
// Usage: node v2client.mjs [--timeout-ms MS] http://HOST:PORT ws://HOST:PORT/chat/ROOM
//
// The room must be empty. On success the only thing written to stdout is one
// line of JSON (the summary) and the exit code is 0; a failed expectation
// exits 1, an uncaught exception 2, the global timeout 3.

import { WebSocket } from 'ws'
import { configureStore } from '@reduxjs/toolkit'

const opts = { timeoutMs: 20000, http: '', ws: '' }
{
    const argv = process.argv.slice(2)
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]
        if (a === '--timeout-ms') opts.timeoutMs = Number(argv[++i])
        else if (!a.startsWith('--') && !opts.http) opts.http = a
        else if (!a.startsWith('--') && !opts.ws) opts.ws = a
        else usage(`unexpected argument ${a}`)
    }
    if (!opts.http || !opts.ws) usage('missing server URLs')
}

function usage(msg) {
    process.stderr.write(`v2client: ${msg}\nusage: node v2client.mjs [--timeout-ms MS] http://HOST:PORT ws://HOST:PORT/chat/ROOM\n`)
    process.exit(64)
}

let step = 'start'
const fail = (msg) => {
    process.stderr.write(`v2client: FAIL at step "${step}": ${msg}\n`)
    process.exit(1)
}
process.on('uncaughtException', (err) => {
    process.stderr.write(`v2client: FAIL at step "${step}": uncaught exception: ${(err && err.stack) || err}\n`)
    process.exit(2)
})
process.on('unhandledRejection', (err) => {
    process.stderr.write(`v2client: FAIL at step "${step}": unhandled rejection: ${(err && err.stack) || err}\n`)
    process.exit(2)
})
setTimeout(() => {
    process.stderr.write(`v2client: FAIL at step "${step}": global timeout of ${opts.timeoutMs} ms\n`)
    process.exit(3)
}, opts.timeoutMs).unref()
console.log = (...args) => console.error(...args)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const show = (v) => JSON.stringify(v)
const expect = (ok, msg) => {
    if (!ok) fail(msg)
}

async function waitFor(what, pred, ms = 8000) {
    const deadline = Date.now() + ms
    for (;;) {
        const v = pred()
        if (v) return v
        if (Date.now() > deadline) fail(`timed out waiting for ${what}`)
        await sleep(10)
    }
}

// client.js as the server serves it: an ES module without imports, loaded
// from a data: URL.
step = 'load client.js'
const res = await fetch(new URL('/client.js', opts.http))
expect(res.ok, `GET /client.js: ${res.status}`)
expect(/javascript/.test(res.headers.get('content-type') || ''), `GET /client.js: content-type ${res.headers.get('content-type')}`)
const source = await res.text()
const { connectStore, createClient, statecastReducer, statecastActions, applyPatch } = await import(
    'data:text/javascript;charset=utf-8,' + encodeURIComponent(source)
)

// A tiny Web Storage.
function memoryStorage() {
    const m = new Map()
    return {
        getItem: (k) => (m.has(k) ? m.get(k) : null),
        setItem: (k, v) => void m.set(k, String(v)),
        removeItem: (k) => void m.delete(k),
        dump: () => Object.fromEntries(m),
    }
}

// ws's WebSocket, remembering every socket and counting frames by event.
const sockets = []
const frames = {}
class Tracked extends WebSocket {
    constructor(url, protocols) {
        super(url, protocols)
        sockets.push(this)
        this.on('message', (data, binary) => {
            if (binary) fail('binary frame')
            const ev = JSON.parse(String(data)).event
            frames[ev] = (frames[ev] || 0) + 1
        })
    }
}

// ---- the store

step = 'configureStore'
const actionsSeen = {}
let drops = 0 // status actions that took the store offline
const store = configureStore({
    reducer: { chat: statecastReducer },
    middleware: (getDefault) =>
        getDefault().concat(() => (next) => (action) => {
            actionsSeen[action.type] = (actionsSeen[action.type] || 0) + 1
            if (action.type === 'statecast/status' && action.payload.isConnected === false) drops++
            return next(action)
        }),
})
expect(show(store.getState().chat) === show({ messages: [], userList: [], isConnected: false, isEstablishingConnection: false }),
    `initial store state ${show(store.getState().chat)}`)
expect(statecastActions.snapshot.type === 'statecast/snapshot' && statecastActions.patch.match({ type: 'statecast/patch' }),
    'action creators')

const rtkStorage = memoryStorage()
const errors = []
const rtk = connectStore(store, {
    url: opts.ws, username: 'rtk', WebSocket: Tracked, storage: rtkStorage,
    minDelayMs: 50, maxDelayMs: 400, onError: (e) => errors.push(e),
})
const peer = createClient({ url: opts.ws, username: 'peer', WebSocket, storage: memoryStorage(), onError: (e) => errors.push(e) })
const chat = () => store.getState().chat
const texts = (st) => st.messages.map((m) => m.message)

step = 'join'
await waitFor('rtk connected', () => chat().isConnected && rtk.status === 'connected')
await waitFor('peer connected', () => peer.status === 'connected')
await waitFor('rtk sees peer', () => chat().userList.length === 2)
expect(typeof rtk.id === 'string' && rtk.id && rtk.id !== peer.id, `ids ${rtk.id} ${peer.id}`)
expect(rtkStorage.getItem('statecast.id') === rtk.id && rtkStorage.getItem('statecast.token') === rtk.token, `storage ${show(rtkStorage.dump())}`)
expect(chat().isEstablishingConnection === false, 'isEstablishingConnection after the snapshot')

step = 'chat'
rtk.send('one')
await waitFor('one', () => texts(chat()).includes('one'))
peer.send('two')
await waitFor('two', () => texts(chat()).includes('two'))
rtk.send('three')
await waitFor('three, acknowledged', () => texts(chat()).length === 3 && rtk.pending.length === 0)
expect(show(texts(chat())) === show(['one', 'two', 'three']), `messages ${show(texts(chat()))}`)
expect(chat() === rtk.getState() || show(chat()) === show(rtk.getState()), 'store and client differ')
await waitFor('peer has three', () => peer.getState().messages.length === 3)
expect(show(peer.getState()) === show(chat()), `peer ${show(peer.getState())} store ${show(chat())}`)

step = 'drop and resume'
const before = { snapshot: frames.snapshot, resumed: frames.resumed || 0 }
const seqBefore = rtk.seq
const dropsBefore = drops
sockets.at(-1).terminate()
// The store goes offline and the client may be back within one poll, so
// wait for the status action rather than for a state that may not last.
await waitFor('rtk to notice the drop', () => drops > dropsBefore)
rtk.send('six (queued while away)')
expect(rtk.pending.length === 1, `pending ${show(rtk.pending)}`)
peer.send('four')
peer.send('five')
// rtk may be back, and 'six' in, before the peer's two arrive: they can
// come in one merged patch, so wait for them rather than for a count.
await waitFor('peer has four and five', () => ['four', 'five'].every((t) => texts(peer.getState()).includes(t)) && peer.pending.length === 0)
await waitFor('rtk to resume', () => rtk.status === 'connected' && (frames.resumed || 0) === before.resumed + 1)
await waitFor('six, acknowledged', () => texts(chat()).length === 6 && rtk.pending.length === 0)
expect(frames.snapshot === before.snapshot, `a resume sent a snapshot: frames ${show(frames)}`)
expect(rtk.seq > seqBefore, `seq ${rtk.seq} after ${seqBefore}`)
const got = texts(chat())
expect(show(got.slice(0, 3)) === show(['one', 'two', 'three']) && show([...got.slice(3)].sort()) === show(['five', 'four', 'six (queued while away)']) &&
    got.indexOf('four') < got.indexOf('five'), `messages ${show(got)}`)

step = 'drop before the ack'
const sent = rtk.send('seven')
sockets.at(-1).terminate()
await waitFor('seven, acknowledged after the resume', () => rtk.status === 'connected' && rtk.pending.length === 0 && texts(chat()).includes('seven'))
await sleep(100)
expect(texts(chat()).filter((t) => t === 'seven').length === 1, `seven twice: ${show(texts(chat()))}`)
expect(chat().messages.find((m) => m.message === 'seven').clientId === sent, 'clientId of seven')
await waitFor('peer has seven', () => peer.getState().messages.length === 7)
expect(show(peer.getState().messages) === show(chat().messages), 'peer and store messages differ')

step = 'reload'
const id = rtk.id
rtk.close()
expect(rtk.status === 'closed', `status after close: ${rtk.status}`)
await waitFor('the store to see the close', () => !chat().isConnected)
const store2 = configureStore({ reducer: { chat: statecastReducer } })
const rtk2 = connectStore(store2, { url: opts.ws, username: 'rtk', WebSocket: Tracked, storage: rtkStorage })
await waitFor('the reloaded client', () => store2.getState().chat.isConnected)
expect(rtk2.id === id, `reloaded id ${rtk2.id}, want ${id}`)
expect(show(store2.getState().chat.messages) === show(chat().messages), 'reloaded messages')

step = 'applyPatch'
const doc = { a: [1, 2], b: { 'x/y': 1, '~': 2 } }
const out = applyPatch(doc, [
    { op: 'add', path: '/a/-', value: 3 },
    { op: 'remove', path: '/a/0' },
    { op: 'replace', path: '/b/x~1y', value: 5 },
    { op: 'remove', path: '/b/~0' },
    { op: 'add', path: '/c', value: null },
])
expect(show(out) === show({ a: [2, 3], b: { 'x/y': 5 }, c: null }), `applyPatch ${show(out)}`)
expect(show(doc) === show({ a: [1, 2], b: { 'x/y': 1, '~': 2 } }), 'applyPatch changed its input')
for (const bad of [[{ op: 'remove', path: '/a/2' }], [{ op: 'add', path: '/a/01', value: 0 }], [{ op: 'move', from: '/a', path: '/d' }], [{ op: 'replace', path: '/zz', value: 1 }]]) {
    let threw = false
    try {
        applyPatch(doc, bad)
    } catch (e) {
        threw = e.name === 'PatchError'
    }
    expect(threw, `applyPatch accepted ${show(bad)}`)
}

const summary = {
    ok: true,
    id,
    peer: peer.id,
    frames,
    actions: actionsSeen,
    errors,
    chat: store2.getState().chat,
}
rtk2.close()
peer.close()
await sleep(50)
process.stdout.write(JSON.stringify(summary) + '\n')
process.exit(0)
