#!/usr/bin/env node
'use strict'
// A controllable JavaScript SSB peer for interop tests.
//
//   node peer.js --stack db2|classic --port P --data DIR (--seed HEX64 | --keys FILE)
//                [--shs-cap BASE64] [--ebt on|off] [--timeout-ms N] [--hops N]
//
// stdout: one JSON object per line. The first is
//   {"event":"ready","id":"@…","port":P,"stack":"db2","versions":{…}}
// then command answers {"id":N,"ok":…} / {"id":N,"error":"…"} and events
// ({"event":"connect"|"disconnect",…}). Everything else goes to stderr.
// stdin: one JSON command per line, {"id":N,"cmd":"publish",…}. See README.md.

const net = require('net')
const readline = require('readline')
const pull = require('pull-stream')
const { fromSeedHex, fromFile, feedToB64 } = require('./lib/keys')

const MAIN_SHS_CAP = '1KHLiKZvAvjbY1ziZEHMXawbCEIM6qwjCDm3VYRan/s='

// ---- output ----------------------------------------------------------------
// Plugins print with console.log; keep stdout for our JSON lines only.
const writeOut = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
console.log = (...a) => console.error(...a)
console.info = (...a) => console.error(...a)
const log = (msg) => process.stderr.write('[peer] ' + msg + '\n')

function die (msg) {
  process.stderr.write('peer.js: ' + msg + '\n')
  process.exit(2)
}

// ---- arguments ---------------------------------------------------------------
function parseArgs (argv) {
  const o = { stack: 'db2', ebt: 'on', hops: 1 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) die('missing value for ' + a)
      return argv[++i]
    }
    switch (a) {
      case '--stack': o.stack = next(); break
      case '--port': o.port = Number(next()); break
      case '--data': o.data = next(); break
      case '--seed': o.seed = next(); break
      case '--keys': o.keys = next(); break
      case '--shs-cap': o.shsCap = next(); break
      case '--ebt': o.ebt = next(); break
      case '--timeout-ms': o.timeoutMs = Number(next()); break
      case '--hops': o.hops = Number(next()); break
      case '-h': case '--help':
        process.stderr.write('usage: peer.js --stack db2|classic --port P --data DIR (--seed HEX64 | --keys FILE) [--shs-cap BASE64] [--ebt on|off] [--timeout-ms N] [--hops N]\n')
        process.exit(0)
        break
      default: die('unknown argument ' + a)
    }
  }
  if (o.stack !== 'db2' && o.stack !== 'classic') die('--stack must be db2 or classic')
  if (!Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) die('--port must be 1..65535')
  if (!o.data) die('--data DIR is required')
  if (!o.seed === !o.keys) die('give exactly one of --seed and --keys')
  if (o.ebt !== 'on' && o.ebt !== 'off') die('--ebt must be on or off')
  if (o.timeoutMs !== undefined && !(Number.isFinite(o.timeoutMs) && o.timeoutMs >= 0)) die('--timeout-ms must be >= 0')
  if (!Number.isInteger(o.hops) || o.hops < 0) die('--hops must be an integer >= 0')
  o.shsCap = o.shsCap || MAIN_SHS_CAP
  if (Buffer.from(o.shsCap, 'base64').length !== 32) die('--shs-cap must be 32 bytes of base64')
  return o
}

const args = parseArgs(process.argv.slice(2))
const keys = args.seed ? fromSeedHex(args.seed) : fromFile(args.keys)

// secret-stack 6 reads `timers.inactivity` (idle connection timeout) and
// `timers.handshake`. Without a `timers` object the idle timeout is 5 s; with
// one but no `inactivity` it is 600 s; a falsy 0 falls back to those defaults,
// so "never" has to be a negative number.
let timers = null
if (args.timeoutMs !== undefined) {
  timers = { inactivity: args.timeoutMs === 0 ? -1 : args.timeoutMs }
}

// ---- start -----------------------------------------------------------------
function checkPortFree (port, cb) {
  // multiserver swallows listen errors, so find out before starting.
  const srv = net.createServer()
  srv.once('error', (err) => cb(err))
  srv.listen(port, '127.0.0.1', () => srv.close(() => cb(null)))
}

let peer = null
let sbot = null
let priv = null // lib/private.js
const appendWaiters = new Set() // {feed, seq, done}

process.on('uncaughtException', (err) => {
  process.stderr.write('peer.js uncaught: ' + (err && err.stack ? err.stack : err) + '\n')
  process.exit(1)
})

checkPortFree(args.port, (err) => {
  if (err) die('port ' + args.port + ' is not free on 127.0.0.1: ' + err.message)
  const opts = {
    keys,
    dir: args.data,
    port: args.port,
    shsCap: args.shsCap,
    ebt: args.ebt === 'on',
    timers,
    hops: args.hops,
    log
  }
  peer = args.stack === 'db2' ? require('./lib/stack-db2')(opts) : require('./lib/stack-classic')(opts)
  sbot = peer.sbot
  priv = require('./lib/private')({ peer, sbot, keys })

  sbot.on('rpc:connect', (rpc, isClient) => {
    if (rpc.id === sbot.id) return
    writeOut({ event: 'connect', peer: rpc.id, initiator: !!isClient })
    rpc.once('closed', () => writeOut({ event: 'disconnect', peer: rpc.id }))
  })

  // Report incoming replication calls (who called, with which arguments).
  const watchCall = (fnObj, method) => {
    if (!fnObj || typeof fnObj.hook !== 'function') return
    fnObj.hook(function (fn, callArgs) {
      if (this && this.id && this.id !== sbot.id) {
        writeOut({ event: 'call', peer: this.id, method, args: Array.from(callArgs) })
      }
      return fn.apply(this, callArgs)
    })
  }
  watchCall(sbot.createHistoryStream, 'createHistoryStream')
  if (sbot.ebt) {
    watchCall(sbot.ebt.replicate, 'ebt.replicate')
    watchCall(sbot.ebt.replicateFormat, 'ebt.replicateFormat')
  }

  peer.onAppend((author, seq) => {
    for (const w of appendWaiters) {
      if (w.feed === author && seq >= w.seq) w.done(null)
    }
  })

  let listening = false
  let dbReady = false
  const maybeReady = () => {
    if (!listening || !dbReady) return
    writeOut({
      event: 'ready',
      id: sbot.id,
      port: args.port,
      stack: peer.name,
      ebt: args.ebt === 'on',
      replication: peer.replicationMethod,
      address: sbot.getAddress('device'),
      versions: peer.versions
    })
    startCommands()
  }
  sbot.once('multiserver:listening', () => { listening = true; maybeReady() })
  peer.onReady((err) => {
    if (err) die('stack failed to start: ' + err.message)
    // remember our newest timestamp (for publish's monotonic_ts after a restart)
    latest(sbot.id, (err, seq) => {
      if (err || !seq) return setReady()
      peer.getAt(sbot.id, seq, (err, msg) => {
        if (!err && msg) lastPublishedTs = msg.value.timestamp
        setReady()
      })
    })
  })
  function setReady () {
    dbReady = true
    maybeReady()
  }
})

// ---- commands ------------------------------------------------------------
function errInfo (err) {
  if (!err) return null
  if (typeof err !== 'object') return { name: 'Error', message: String(err) }
  return { name: err.name || 'Error', message: err.message || String(err) }
}

function connectedRpc (key) {
  const list = (sbot.peers && sbot.peers[key]) || []
  const open = list.filter((r) => !r.closed)
  return open.length ? open[open.length - 1] : null
}

function latest (feed, cb) {
  peer.feedSeq(feed, cb)
}

function waitFor (feed, seq, timeoutMs, cb) {
  const t0 = Date.now()
  let finished = false
  const w = { feed, seq, done: null }
  const timer = setTimeout(() => finish(new Error('timeout: ' + feed + ' not at seq ' + seq + ' after ' + timeoutMs + ' ms')), timeoutMs)
  function finish (err) {
    if (finished) return
    // the state may be ahead of the store for an instant; confirm with feedSeq
    if (!err) {
      return latest(feed, (e, s) => {
        if (finished) return
        if (!e && s >= seq) done(null, s)
      })
    }
    done(err)
  }
  function done (err, s) {
    if (finished) return
    finished = true
    clearTimeout(timer)
    appendWaiters.delete(w)
    if (err) cb(err)
    else cb(null, { ms: Date.now() - t0, seq: s })
  }
  w.done = finish
  appendWaiters.add(w)
  latest(feed, (err, s) => {
    if (err) return done(err)
    if (s >= seq) done(null, s)
  })
}

function randomText (size) {
  const words = ['scuttle', 'butt', 'gossip', 'feed', 'peer', 'log', 'sea', 'crab', 'pub', 'hop']
  let s = ''
  while (s.length < size) s += words[(Math.random() * words.length) | 0] + ' '
  return s.slice(0, size)
}

let lastPublishedTs = 0
function publishMany (n, type, size, monotonic, cb) {
  // classic (ssb-db) answers a publish only after the write is flushed, so
  // keep a window of publishes in flight; db2 takes them one at a time.
  const window = peer.name === 'classic' ? 64 : 1
  let started = 0
  let finished = 0
  let last = null
  let failed = false
  const t0 = Date.now()
  // monotonic_ts (db2): strictly increasing declared timestamps that stay at
  // or below the arrival time, which is what ssb-db2's createHistoryStream
  // sorts by (jitdb: min(arrival, declared)).
  let nextTs = 0
  if (monotonic) nextTs = Math.max(lastPublishedTs + 1, t0 - n)
  if (n <= 0) return latest(sbot.id, (err, seq) => cb(err, { seq, n: 0, ms: 0 }))
  function one (i) {
    const content = { type, text: randomText(size) + ' #' + i }
    let ts
    if (monotonic) {
      ts = nextTs++
      lastPublishedTs = ts
    }
    peer.publish(content, (err, res) => {
      if (failed) return
      if (err) { failed = true; return cb(err) }
      if (res.ts > lastPublishedTs) lastPublishedTs = res.ts
      finished++
      if (!last || res.seq > last.seq) last = res
      if (finished === n) return cb(null, { seq: last.seq, key: last.key, n, ms: Date.now() - t0 })
      if (started < n) setImmediate(one, started++)
    }, ts)
  }
  while (started < Math.min(window, n)) one(started++)
}

function publishContact (content, feed, cb) {
  peer.publish(content, (err, res) => {
    if (err) return cb(err)
    if (res.ts > lastPublishedTs) lastPublishedTs = res.ts
    cb(null, res)
  })
}

// After a contact message, wait for the stack's own friends->replication
// path to act on it (up to 5 s); only then fall back to asking directly.
function ensureReplication (feed, want, cb) {
  const t0 = Date.now()
  ;(function poll () {
    peer.isReplicating(feed, (err, on) => {
      if (err) return cb(err)
      if (on === want) return cb(null, { replicating: on, via: 'ssb-friends', ms: Date.now() - t0 })
      if (Date.now() - t0 > 5000) {
        peer.forceReplicate(feed, want)
        return cb(null, { replicating: want, via: 'explicit (ssb-friends did not act within 5 s)', ms: Date.now() - t0 })
      }
      setTimeout(poll, 20)
    })
  })()
}

function isFeedId (f) {
  return typeof f === 'string' && /^@[A-Za-z0-9+/]{43}=\.ed25519$/.test(f)
}

function isBlobId (b) {
  return typeof b === 'string' && /^&[A-Za-z0-9+/]{43}=\.sha256$/.test(b)
}

const handlers = {
  whoami (c, cb) {
    cb(null, { id: sbot.id })
  },

  publish (c, cb) {
    const n = c.n === undefined ? 1 : c.n
    if (!Number.isInteger(n) || n < 0) return cb(new Error('n must be an integer >= 0'))
    publishMany(n, c.type || 'post', c.size === undefined ? 32 : c.size, !!c.monotonic_ts, cb)
  },

  follow (c, cb) {
    if (!isFeedId(c.feed)) return cb(new Error('feed must be an @….ed25519 id'))
    publishContact({ type: 'contact', contact: c.feed, following: true }, c.feed, (err, res) => {
      if (err) return cb(err)
      ensureReplication(c.feed, true, (err, r) => cb(err, Object.assign({ seq: res.seq, key: res.key }, r)))
    })
  },

  unfollow (c, cb) {
    if (!isFeedId(c.feed)) return cb(new Error('feed must be an @….ed25519 id'))
    publishContact({ type: 'contact', contact: c.feed, following: false }, c.feed, (err, res) => {
      if (err) return cb(err)
      ensureReplication(c.feed, false, (err, r) => cb(err, Object.assign({ seq: res.seq, key: res.key }, r)))
    })
  },

  block (c, cb) {
    if (!isFeedId(c.feed)) return cb(new Error('feed must be an @….ed25519 id'))
    publishContact({ type: 'contact', contact: c.feed, blocking: true }, c.feed, (err, res) => {
      if (err) return cb(err)
      // give the friends index a moment, then report what the stack does
      setTimeout(() => {
        peer.isReplicating(c.feed, (err, on) => {
          if (err) return cb(err)
          cb(null, { seq: res.seq, key: res.key, replicating: on })
        })
      }, 300)
    })
  },

  replicate (c, cb) {
    if (!isFeedId(c.feed)) return cb(new Error('feed must be an @….ed25519 id'))
    peer.setReplicate(c.feed, c.on !== false)
    cb(null, { feed: c.feed, on: c.on !== false })
  },

  connect (c, cb) {
    if (!isFeedId(c.key)) return cb(new Error('key must be an @….ed25519 id'))
    const existing = connectedRpc(c.key)
    if (existing) return cb(null, { key: c.key, already: true, ms: 0 })
    const addr = 'net:' + (c.host || '127.0.0.1') + ':' + c.port + '~shs:' + feedToB64(c.key)
    const t0 = Date.now()
    sbot.connect(addr, (err, rpc) => {
      if (err) return cb(err)
      cb(null, { key: rpc.id, address: addr, ms: Date.now() - t0 })
    })
  },

  disconnect (c, cb) {
    const list = ((sbot.peers && sbot.peers[c.key]) || []).slice()
    if (!list.length) return cb(null, { closed: 0 })
    let pending = list.length
    for (const rpc of list) {
      rpc.close(true, () => {
        if (--pending === 0) cb(null, { closed: list.length })
      })
    }
  },

  peers (c, cb) {
    const out = []
    for (const id in sbot.peers) {
      for (const rpc of sbot.peers[id]) if (!rpc.closed) out.push(id)
    }
    cb(null, { peers: out })
  },

  latest (c, cb) {
    if (!isFeedId(c.feed)) return cb(new Error('feed must be an @….ed25519 id'))
    latest(c.feed, (err, seq) => cb(err, { seq }))
  },

  wait (c, cb) {
    if (!isFeedId(c.feed)) return cb(new Error('feed must be an @….ed25519 id'))
    waitFor(c.feed, c.seq, c.timeout_ms || 30000, cb)
  },

  get (c, cb) {
    if (!isFeedId(c.feed)) return cb(new Error('feed must be an @….ed25519 id'))
    // indexes trail the log a little: retry for up to 3 s
    const t0 = Date.now()
    ;(function attempt () {
      peer.getAt(c.feed, c.seq, (err, msg) => {
        if (!err && msg) return cb(null, msg)
        if (Date.now() - t0 > 3000) return cb(err || new Error('not found'))
        setTimeout(attempt, 50)
      })
    })()
  },

  ebtStatus (c, cb) {
    cb(null, peer.ebtStatus(c.feed || sbot.id))
  },

  blobAdd (c, cb) {
    const data = Buffer.from(c.data_b64 || '', 'base64')
    pull(pull.values([data]), sbot.blobs.add((err, blob) => {
      if (err) return cb(err)
      cb(null, { blob, size: data.length })
    }))
  },

  blobHas (c, cb) {
    if (!isBlobId(c.blob)) return cb(new Error('blob must be a &….sha256 id'))
    sbot.blobs.has(c.blob, (err, has) => cb(err, { has: !!has }))
  },

  blobWant (c, cb) {
    if (!isBlobId(c.blob)) return cb(new Error('blob must be a &….sha256 id'))
    const t0 = Date.now()
    let finished = false
    const timer = setTimeout(() => {
      if (finished) return
      finished = true
      cb(new Error('timeout: blob ' + c.blob + ' not received after ' + (c.timeout_ms || 30000) + ' ms'))
    }, c.timeout_ms || 30000)
    sbot.blobs.want(c.blob, (err) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      if (err) return cb(err)
      const ms = Date.now() - t0
      sbot.blobs.size(c.blob, (err, size) => cb(err, { ms, size }))
    })
  },

  blobGet (c, cb) {
    if (!isBlobId(c.blob)) return cb(new Error('blob must be a &….sha256 id'))
    pull(sbot.blobs.get(c.blob), pull.collect((err, bufs) => {
      if (err) return cb(err)
      cb(null, { data_b64: Buffer.concat(bufs).toString('base64') })
    }))
  },

  // Call a muxrpc method on a connected peer. The remote's own errors are part
  // of the answer ({values|result, error}), not a failure of the command.
  remote (c, cb) {
    const rpc = connectedRpc(c.key)
    if (!rpc) return cb(new Error('not connected to ' + c.key))
    const name = Array.isArray(c.method) ? c.method : String(c.method).split('.')
    const type = c.type || 'async'
    const callArgs = c.args || []
    const timeoutMs = c.timeout_ms || 30000
    if (type === 'source') {
      const values = []
      let finished = false
      let timer = null
      let source
      try {
        source = rpc.stream.remoteCall('source', name, callArgs, () => {})
      } catch (err) {
        return cb(null, { values, error: errInfo(err) })
      }
      const drain = pull.drain((v) => {
        values.push(v)
        if (c.limit && values.length >= c.limit) return false
      }, (err) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        cb(null, { values, error: err && err !== true ? errInfo(err) : null, ended: true })
      })
      timer = setTimeout(() => {
        if (finished) return
        finished = true
        drain.abort()
        cb(null, { values, error: null, ended: false, timed_out: true })
      }, timeoutMs)
      pull(source, drain)
    } else if (type === 'async' || type === 'sync') {
      let finished = false
      const timer = setTimeout(() => {
        if (finished) return
        finished = true
        cb(null, { result: null, error: { name: 'Timeout', message: 'no answer after ' + timeoutMs + ' ms' } })
      }, timeoutMs)
      try {
        rpc.stream.remoteCall(type, name, callArgs, (err, result) => {
          if (finished) return
          finished = true
          clearTimeout(timer)
          cb(null, { result: err ? null : (result === undefined ? null : result), error: errInfo(err) })
        })
      } catch (err) {
        finished = true
        clearTimeout(timer)
        cb(null, { result: null, error: errInfo(err) })
      }
    } else {
      cb(new Error('type must be source, async or sync'))
    }
  },

  stop (c, cb) {
    stopAndExit(cb)
  },

  // private messages (lib/private.js)
  publishBox2 (c, cb) { priv.publishBox2(c, trackTs(cb)) },
  unboxBox2 (c, cb) { priv.unboxBox2(c, cb) },
  publishBox1 (c, cb) { priv.publishBox1(c, trackTs(cb)) },
  unboxBox1 (c, cb) { priv.unboxBox1(c, cb) },
  addGroup (c, cb) { priv.addGroup(c, cb) }
}

// A private publish takes a timestamp from the clock: keep publish's
// monotonic_ts start after it.
function trackTs (cb) {
  return (err, res) => {
    if (!err && res && res.ts > lastPublishedTs) lastPublishedTs = res.ts
    cb(err, res)
  }
}

// Commands that write; `stop` lets them finish first (up to 5 s).
const WRITES = new Set(['publish', 'follow', 'unfollow', 'block', 'blobAdd', 'publishBox2', 'publishBox1', 'addGroup'])
let writesInFlight = 0

let stopping = false
function stopAndExit (cb) {
  if (stopping) return
  stopping = true
  const t0 = Date.now()
  ;(function waitWrites () {
    if (writesInFlight > 0 && Date.now() - t0 < 5000) return setTimeout(waitWrites, 10)
    closeAndExit(cb)
  })()
}

function closeAndExit (cb) {
  const force = setTimeout(() => {
    log('close did not finish in 5 s, exiting anyway')
    if (cb) cb(null, { stopped: true, forced: true })
    setImmediate(() => process.exit(0))
  }, 5000)
  // end open connections first: net.Server.close waits for them otherwise
  for (const id in sbot.peers) {
    for (const rpc of sbot.peers[id].slice()) {
      try { rpc.close(true, () => {}) } catch (e) {}
    }
  }
  sbot.close((err) => {
    clearTimeout(force)
    if (err) log('close: ' + (err.message || err))
    if (cb) cb(null, { stopped: true })
    process.stdout.write('', () => process.exit(0))
  })
}

function startCommands () {
  const rl = readline.createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    line = line.trim()
    if (!line) return
    let c
    try {
      c = JSON.parse(line)
    } catch (e) {
      writeOut({ id: null, error: 'bad JSON: ' + e.message })
      return
    }
    const id = c.id === undefined ? null : c.id
    const h = handlers[c.cmd]
    if (!h) return writeOut({ id, error: 'unknown cmd: ' + c.cmd })
    if (stopping && c.cmd !== 'stop') return writeOut({ id, error: 'stopping' })
    const isWrite = WRITES.has(c.cmd)
    if (isWrite) writesInFlight++
    let answered = false
    const answer = (err, ok) => {
      if (answered) return
      answered = true
      if (isWrite) writesInFlight--
      if (err) writeOut({ id, error: err.message || String(err) })
      else writeOut({ id, ok: ok === undefined ? null : ok })
    }
    try {
      h(c, answer)
    } catch (err) {
      answer(err)
    }
  })
  // stdin closed: the controlling test is gone, stop.
  rl.on('close', () => stopAndExit(null))
}
