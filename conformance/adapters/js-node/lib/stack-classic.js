'use strict'
// The "classic" stack: ssb-server 16 (secret-stack 6 + ssb-db 20) with the
// plugins ssb-server's own `start` command loads for replication: ssb-replicate
// (legacy createHistoryStream replication), ssb-friends 4 (whose glue asks
// ssb-replicate for every feed within `friends.hops`), ssb-blobs 1 and, with
// --ebt on, ssb-ebt 5. Every module is resolved the way ssb-server resolves
// it, so the versions are the ones ssb-server 16 itself would run.

const path = require('path')
const { createRequire } = require('module')
const pull = require('pull-stream')

const serverRequire = createRequire(require.resolve('ssb-server/package.json'))

function version (name) {
  try {
    return serverRequire(name + '/package.json').version
  } catch (e) {
    return null
  }
}

module.exports = function createClassic (opts) {
  const { keys, dir, port, shsCap, ebt, timers, hops } = opts

  // ssb-server's index: secret-stack with the main caps, .use(ssb-db)
  let create = serverRequire('./')
    .use(serverRequire('ssb-replicate'))
    .use(serverRequire('ssb-friends'))
    .use(serverRequire('ssb-blobs'))
  if (ebt) create = create.use(serverRequire('ssb-ebt'))

  const config = {
    path: dir,
    keys,
    caps: { shs: shsCap },
    friends: { hops },
    connections: {
      incoming: {
        net: [{ scope: ['device', 'local'], host: '127.0.0.1', port, transform: 'shs' }]
      },
      outgoing: { net: [{ transform: 'shs' }] }
    }
  }
  if (timers) config.timers = timers

  const sbot = create(config)

  const versions = {
    'ssb-server': version('ssb-server'),
    'secret-stack': version('secret-stack'),
    'ssb-db': version('ssb-db'),
    'ssb-replicate': version('ssb-replicate'),
    'ssb-friends': version('ssb-friends'),
    'ssb-blobs': version('ssb-blobs'),
    'ssb-validate': createRequire(serverRequire.resolve('ssb-db/package.json'))('ssb-validate/package.json').version,
    muxrpc: version('muxrpc'),
    multiserver: version('multiserver'),
    'ssb-keys': version('ssb-keys')
  }
  if (ebt) {
    versions['ssb-ebt'] = version('ssb-ebt')
    versions['epidemic-broadcast-trees'] = createRequire(serverRequire.resolve('ssb-ebt/package.json'))('epidemic-broadcast-trees/package.json').version
  }

  function requestedList (cb) {
    pull(sbot.replicate.upto({ live: false }), pull.collect(cb))
  }

  return {
    name: 'classic',
    sbot,
    versions,
    replicationMethod: ebt ? 'ebt, legacy createHistoryStream as fallback' : 'legacy createHistoryStream (ssb-replicate)',

    onReady (cb) {
      // ssb-replicate ignores connections made before ssb-db is ready
      const t0 = Date.now()
      ;(function poll () {
        if (sbot.ready()) return sbot.getFeedState(sbot.id, (err) => cb(err))
        if (Date.now() - t0 > 30000) return cb(new Error('ssb-db not ready after 30 s'))
        setTimeout(poll, 20)
      })()
    },

    // ssb-db gives strictly increasing timestamps itself (monotonic-timestamp,
    // fractional ms) and takes none from the caller.
    publish (content, cb) {
      sbot.publish(content, (err, msg) => {
        if (err) return cb(err)
        cb(null, { key: msg.key, seq: msg.value.sequence, ts: msg.value.timestamp })
      })
    },

    feedSeq (feed, cb) {
      sbot.getFeedState(feed, (err, st) => {
        if (err) return cb(err)
        cb(null, st && st.sequence ? st.sequence : 0)
      })
    },

    onAppend (fn) {
      sbot.post((msg) => {
        if (msg && msg.value) fn(msg.value.author, msg.value.sequence)
      })
    },

    getAt (feed, seq, cb) {
      sbot.getAtSequence([feed, seq], (err, msg) => {
        if (err) return cb(err)
        cb(null, { key: msg.key, value: msg.value })
      })
    },

    // ssb-ebt 5 hooks replicate.request, so this reaches EBT too when it is on
    setReplicate (feed, on) {
      sbot.replicate.request(feed, !!on)
    },

    isReplicating (feed, cb) {
      requestedList((err, list) => {
        if (err) return cb(err)
        cb(null, list.some((u) => u.id === feed))
      })
    },

    forceReplicate (feed, on) {
      sbot.replicate.request(feed, !!on)
    },

    ebtStatus (feed) {
      return sbot.ebt ? sbot.ebt.peerStatus(feed) : null
    },

    dataPaths: { db: path.join(dir, 'flume'), blobs: path.join(dir, 'blobs') }
  }
}
