#!/usr/bin/env node
'use strict'
// A real TCP peer over secret-handshake's network API (createServer/createClient,
// handshake + box-stream duplex), for interop tests on 127.0.0.1.
//
//   node tcp-peer.js server --seed HEX32 --network-key HEX32
//     listens on 127.0.0.1:0, prints {"port":N,"public":"<hex>"}, accepts ONE
//     connection, authorises any client, echoes every byte back over the encrypted
//     stream; when the client says goodbye it says goodbye too, prints
//     {"ok":true,"remote_public":"<hex>"} and exits 0.
//
//   node tcp-peer.js client --seed HEX32 --network-key HEX32 \
//       --connect 127.0.0.1:PORT --server-public HEX32 --payload HEX
//     connects, handshakes, writes the payload, reads back as many bytes, checks
//     they are equal, says goodbye, waits for the server's goodbye, prints
//     {"ok":true} and exits 0.
//
// Any error: a message on stderr and a non-zero exit. Both modes give up after 20 s.

const net = require('net')
const pull = require('pull-stream')
const toPull = require('stream-to-pull-stream')
const shs = require('secret-handshake')

const SELF_TIMEOUT_MS = 20000
const HANDSHAKE_TIMEOUT_MS = 10000

function fail (message, code) {
  process.stderr.write('tcp-peer: ' + message + '\n')
  process.exit(code || 1)
}

function succeed (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n', () => process.exit(0))
}

function parseArgs (argv) {
  const mode = argv[0]
  const opts = {}
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) fail('unexpected argument ' + JSON.stringify(a), 2)
    if (i + 1 >= argv.length) fail('missing value for ' + a, 2)
    opts[a.slice(2)] = argv[++i]
  }
  return { mode, opts }
}

function hexOpt (opts, name, length) {
  const v = opts[name]
  if (typeof v !== 'string') fail('missing --' + name, 2)
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(v)) fail('--' + name + ' is not hex', 2)
  const buf = Buffer.from(v, 'hex')
  if (length != null && buf.length !== length) fail('--' + name + ' must be ' + length + ' bytes', 2)
  return buf
}

function errText (err) {
  return err && err.message ? err.message : String(err)
}

// ---------------------------------------------------------------------------

function runServer (opts) {
  const keys = shs.toKeys(hexOpt(opts, 'seed', 32))
  const netKey = hexOpt(opts, 'network-key', 32)
  const createStream = shs.createServer(keys, (remotePub, cb) => cb(null, true), netKey, HANDSHAKE_TIMEOUT_MS)

  // allowHalfOpen: the client's FIN follows its goodbye; our echoed goodbye
  // still has to go out after that.
  const server = net.createServer({ allowHalfOpen: true }, socket => {
    server.close() // one connection only
    socket.on('error', err => fail('socket error: ' + errText(err)))
    const wire = toPull.duplex(socket)
    let remote = null
    let cleanEnd = false

    const hs = createStream((err, secure) => {
      if (err) return fail('handshake failed: ' + errText(err))
      remote = secure.remote
      // echo: what the box-stream source yields goes back into the box-stream sink;
      // when the source ends (goodbye received) the sink ends (goodbye sent).
      pull(
        secure.source,
        pull.through(null, end => {
          if (end && end !== true) fail('receiving failed: ' + errText(end))
          cleanEnd = true
        }),
        secure.sink
      )
    })
    pull(wire.source, hs.sink)
    pull(hs.source, wire.sink)

    let reported = false
    const report = () => {
      if (reported) return
      reported = true
      if (!cleanEnd || !remote) fail('connection closed before a clean end of the session')
      succeed({ ok: true, remote_public: remote.toString('hex') })
    }
    socket.on('close', report)
    // our side is flushed; don't hang if the client keeps its side open
    socket.on('finish', () => setTimeout(report, 2000).unref())
  })
  server.on('error', err => fail('listen error: ' + errText(err)))
  server.listen(0, '127.0.0.1', () => {
    const port = server.address().port
    process.stdout.write(JSON.stringify({ port, public: keys.publicKey.toString('hex') }) + '\n')
  })
}

// ---------------------------------------------------------------------------

// A source that yields `first`, then waits until finish() is called and ends.
function holdOpenSource (first) {
  let sent = false; let finished = false; let waiting = null
  function source (abort, cb) {
    if (abort) return cb(abort)
    if (!sent) { sent = true; return cb(null, first) }
    if (finished) return cb(true)
    waiting = cb
  }
  source.finish = () => {
    finished = true
    if (waiting) { const cb = waiting; waiting = null; cb(true) }
  }
  return source
}

function runClient (opts) {
  const keys = shs.toKeys(hexOpt(opts, 'seed', 32))
  const netKey = hexOpt(opts, 'network-key', 32)
  const serverPub = hexOpt(opts, 'server-public', 32)
  const payload = hexOpt(opts, 'payload')
  const target = opts.connect
  const m = typeof target === 'string' && /^(.+):(\d+)$/.exec(target)
  if (!m) fail('--connect must be HOST:PORT', 2)
  const host = m[1]; const port = Number(m[2])

  const socket = net.connect({ host, port, allowHalfOpen: true })
  socket.on('error', err => fail('socket error: ' + errText(err)))
  const wire = toPull.duplex(socket)

  const hs = shs.createClient(keys, netKey, HANDSHAKE_TIMEOUT_MS)(serverPub, (err, secure) => {
    if (err) return fail('handshake failed: ' + errText(err))
    if (!secure.remote.equals(serverPub)) fail('handshake gave another remote key')

    const out = holdOpenSource(payload)
    pull(out, secure.sink)

    const received = []
    let got = 0
    if (payload.length === 0) out.finish()
    pull(secure.source, pull.drain(data => {
      received.push(data)
      got += data.length
      if (got > payload.length) fail('received ' + got + ' bytes, more than the ' + payload.length + ' sent')
      if (got === payload.length) {
        if (!Buffer.concat(received).equals(payload)) fail('echoed bytes differ from the payload')
        out.finish() // goodbye
      }
    }, end => {
      if (end && end !== true) fail('receiving failed: ' + errText(end))
      if (got !== payload.length) fail('session ended after ' + got + ' of ' + payload.length + ' bytes')
      // the server's goodbye arrived after the whole echo
      succeed({ ok: true })
    }))
  })
  pull(wire.source, hs.sink)
  pull(hs.source, wire.sink)
}

// ---------------------------------------------------------------------------

function main () {
  setTimeout(() => fail('gave up after ' + SELF_TIMEOUT_MS / 1000 + ' s', 3), SELF_TIMEOUT_MS)
  const { mode, opts } = parseArgs(process.argv.slice(2))
  if (mode === 'server') runServer(opts)
  else if (mode === 'client') runClient(opts)
  else fail('usage: tcp-peer.js server|client --seed HEX32 --network-key HEX32 [...]', 2)
}

main()
