'use strict'
// The "db2" stack: secret-stack 6 + ssb-db2 6 (+ its compat plugins) +
// ssb-friends 5 + ssb-ebt 9 + ssb-blobs 2.
//
// ssb-db2 has no replication scheduler of its own and ssb-friends 5 only keeps
// the social graph, so this module carries a small one: it reads ssb-friends'
// hopStream and calls ssb-ebt's request()/block() for feeds within `hops`
// (what ssb-replication-scheduler does, without its meta-feed parts).

const path = require('path')
const pull = require('pull-stream')

function version (name) {
  return require(name + '/package.json').version
}

module.exports = function createDb2 (opts) {
  const { keys, dir, port, shsCap, ebt, timers, hops, log } = opts

  let create = require('secret-stack')({ caps: { shs: shsCap } })
    .use(require('ssb-db2'))
    .use(require('ssb-db2/compat/db')) // publish, whoami, add, get, createWriteStream
    .use(require('ssb-db2/compat/ebt')) // getVectorClock, getAtSequence(NativeMsg), add
    .use(require('ssb-db2/compat/history-stream')) // createHistoryStream (anonymous allowed)
    .use(require('ssb-db2/compat/log-stream')) // createLogStream
    .use(require('ssb-db2/compat/feedstate')) // getFeedState
    .use(require('ssb-friends'))
  if (ebt) create = create.use(require('ssb-ebt'))
  create = create.use(require('ssb-blobs'))

  const config = {
    path: dir,
    keys,
    caps: { shs: shsCap },
    friends: { hops, hookAuth: true },
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
    'secret-stack': version('secret-stack'),
    'ssb-db2': version('ssb-db2'),
    'ssb-friends': version('ssb-friends'),
    'ssb-blobs': version('ssb-blobs'),
    muxrpc: version('muxrpc'),
    multiserver: version('multiserver'),
    'secret-handshake': version('secret-handshake'),
    'ssb-keys': version('ssb-keys')
  }
  if (ebt) {
    versions['ssb-ebt'] = version('ssb-ebt')
    versions['epidemic-broadcast-trees'] = version('epidemic-broadcast-trees')
  }

  // ---- replication scheduling ------------------------------------------------
  const explicit = new Map() // feed -> bool, from the `replicate` command
  const graphHops = new Map() // feed -> hops, from ssb-friends
  const requested = new Map() // feed -> bool, what we last told ssb-ebt
  const blocked = new Set()

  function apply (feed) {
    const h = graphHops.get(feed)
    const isBlocked = h === -1
    let want
    if (explicit.has(feed)) want = explicit.get(feed)
    else want = h !== undefined && h >= 0 && h <= hops
    if (isBlocked && !explicit.get(feed)) want = false
    requested.set(feed, want)
    if (!sbot.ebt) return
    sbot.ebt.request(feed, want)
    if (isBlocked && !blocked.has(feed)) {
      blocked.add(feed)
      sbot.ebt.block(sbot.id, feed, true)
    } else if (!isBlocked && blocked.has(feed)) {
      blocked.delete(feed)
      sbot.ebt.block(sbot.id, feed, false)
    }
  }

  if (sbot.ebt) sbot.ebt.request(sbot.id, true)
  requested.set(sbot.id, true)

  pull(
    sbot.friends.hopStream({ old: true, live: true }),
    pull.drain((update) => {
      for (const feed in update) {
        graphHops.set(feed, update[feed])
        apply(feed)
      }
    }, (err) => {
      if (err && err !== true) log('friends hopStream ended: ' + (err.message || err))
    })
  )

  return {
    name: 'db2',
    sbot,
    versions,
    replicationMethod: ebt ? 'ebt' : 'none (serves createHistoryStream only)',

    onReady (cb) {
      // getFeedState waits for ssb-db2's in-memory feed state to be loaded
      sbot.getFeedState(sbot.id, (err) => cb(err))
    },

    // `timestamp` (optional) overrides the declared timestamp, which ssb-db2
    // otherwise takes from Date.now().
    publish (content, cb, timestamp) {
      const opts = { content, keys, feedFormat: 'classic', encoding: 'js' }
      if (timestamp) opts.timestamp = timestamp
      sbot.db.create(opts, (err, kvt) => {
        if (err) return cb(err)
        cb(null, { key: kvt.key, seq: kvt.value.sequence, ts: kvt.value.timestamp })
      })
    },

    feedSeq (feed, cb) {
      sbot.getFeedState(feed, (err, st) => {
        if (err) return cb(err)
        cb(null, st && st.sequence ? st.sequence : 0)
      })
    },

    onAppend (fn) {
      sbot.db.onMsgAdded((ev) => {
        if (ev && ev.kvt && ev.kvt.value) fn(ev.kvt.value.author, ev.kvt.value.sequence)
      })
    },

    getAt (feed, seq, cb) {
      sbot.getAtSequence([feed, seq], (err, kvt) => {
        if (err) return cb(err)
        cb(null, { key: kvt.key, value: kvt.value })
      })
    },

    // replicate {feed, on}
    setReplicate (feed, on) {
      explicit.set(feed, !!on)
      apply(feed)
    },

    // true when the scheduler has told ssb-ebt to replicate the feed
    isReplicating (feed, cb) {
      cb(null, requested.get(feed) === true)
    },

    // When ssb-friends did not bring the contact into the graph in time
    forceReplicate (feed, on) {
      explicit.set(feed, !!on)
      apply(feed)
    },

    ebtStatus (feed) {
      return sbot.ebt ? sbot.ebt.peerStatus(feed) : null
    },

    dataPaths: { db: path.join(dir, 'db2'), blobs: path.join(dir, 'blobs') }
  }
}
