#!/usr/bin/env node
'use strict'
// Self test for peer.js: pairs of JS peers (child processes) on free
// 127.0.0.1 ports, replicating to each other over real TCP.
//
//   node selftest.js            # the checks (under 2 minutes)
//   node selftest.js --bench    # also 10,000-message replication A->B, db2/EBT and classic/legacy
//   node selftest.js --verbose  # also copy the peers' stderr
//
// Ends with the line "N passed, N failed"; exits 1 if anything failed.

const { spawn } = require('child_process')
const crypto = require('crypto')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const readline = require('readline')

const BENCH = process.argv.includes('--bench')
const VERBOSE = process.argv.includes('--verbose')
const PEER = path.join(__dirname, 'peer.js')
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'js-node-selftest-'))

let passed = 0
let failed = 0
const timings = {}
const bench = {}
const facts = {}

function check (cond, what, detail) {
  if (cond) {
    passed++
    console.log('ok   ' + what)
  } else {
    failed++
    console.log('FAIL ' + what + (detail !== undefined ? ' — ' + JSON.stringify(detail) : ''))
  }
  return cond
}

function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

let peerCounter = 0
class Peer {
  constructor (name, stack, extra) {
    this.name = name
    this.stack = stack
    this.extra = extra || []
    this.nextId = 1
    this.pending = new Map()
    this.events = []
    this.eventWaiters = []
    this.stderr = []
    this.seed = crypto.randomBytes(32).toString('hex')
  }

  async start () {
    this.port = await freePort()
    this.dir = path.join(tmpRoot, this.name + '-' + (++peerCounter))
    const argv = [PEER, '--stack', this.stack, '--port', String(this.port), '--data', this.dir, '--seed', this.seed, ...this.extra]
    this.proc = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] })
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })))
    readline.createInterface({ input: this.proc.stderr }).on('line', (l) => {
      this.stderr.push(l)
      if (VERBOSE) console.error('[' + this.name + '] ' + l)
    })
    const ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve
      this.exited.then((r) => reject(new Error(this.name + ' exited before ready: ' + JSON.stringify(r) + '\n' + this.stderr.slice(-20).join('\n'))))
    })
    readline.createInterface({ input: this.proc.stdout }).on('line', (l) => this.onLine(l))
    const t0 = Date.now()
    this.ready = await ready
    this.startMs = Date.now() - t0
    this.id = this.ready.id
    return this
  }

  onLine (line) {
    let m
    try {
      m = JSON.parse(line)
    } catch (e) {
      console.log('[' + this.name + '] non-JSON stdout: ' + line)
      failed++
      return
    }
    if (m.event) {
      if (m.event === 'ready') return this.readyResolve(m)
      m.t = Date.now()
      this.events.push(m)
      for (const w of this.eventWaiters.slice()) {
        if (w.pred(m)) {
          this.eventWaiters.splice(this.eventWaiters.indexOf(w), 1)
          w.resolve(m)
        }
      }
      return
    }
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    if ('error' in m) p.reject(new Error(this.name + ' ' + p.cmd + ': ' + m.error))
    else p.resolve(m.ok)
  }

  cmd (cmd, params) {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, cmd })
      this.proc.stdin.write(JSON.stringify(Object.assign({ id, cmd }, params || {})) + '\n')
    })
  }

  waitEvent (pred, timeoutMs) {
    const found = this.events.find(pred)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const w = { pred, resolve }
      this.eventWaiters.push(w)
      setTimeout(() => {
        const i = this.eventWaiters.indexOf(w)
        if (i >= 0) {
          this.eventWaiters.splice(i, 1)
          reject(new Error(this.name + ': event not seen in ' + timeoutMs + ' ms'))
        }
      }, timeoutMs)
    })
  }

  async stop () {
    if (!this.proc || this.proc.exitCode !== null) return
    try {
      await Promise.race([this.cmd('stop'), sleep(8000)])
    } catch (e) {}
    const r = await Promise.race([this.exited, sleep(8000).then(() => null)])
    if (!r) this.proc.kill('SIGKILL')
    return r
  }

  connectTo (other) {
    return this.cmd('connect', { host: '127.0.0.1', port: other.port, key: other.id })
  }
}

// ---- scenarios -------------------------------------------------------------

// `n` messages each way between two peers of the given stacks.
async function replicationBothWays (label, stackA, stackB, extra, n) {
  const A = await new Peer(label + '-A', stackA, extra).start()
  const B = await new Peer(label + '-B', stackB, extra).start()
  const out = { A, B }
  try {
    check(A.id !== B.id, label + ': two peers started (' + A.startMs + ' ms, ' + B.startMs + ' ms)')
    const pubA = await A.cmd('publish', { n, size: 64 })
    check(pubA.seq === n, label + ': A published ' + n + ' (' + pubA.ms + ' ms)', pubA)
    const latA = await A.cmd('latest', { feed: A.id })
    check(latA.seq === n, label + ': latest on A is ' + n, latA)
    await B.connectTo(A)
    const t0 = Date.now()
    const fol = await B.cmd('follow', { feed: A.id })
    check(fol.replicating === true, label + ': B follows A, replication on via ' + fol.via, fol)
    const w = await B.cmd('wait', { feed: A.id, seq: n, timeout_ms: 60000 })
    const ms1 = Date.now() - t0
    check(w.seq >= n, label + ': B has A up to ' + n + ' (' + ms1 + ' ms)', w)
    const [mA, mB] = await Promise.all([A.cmd('get', { feed: A.id, seq: n }), B.cmd('get', { feed: A.id, seq: n })])
    check(mA.key === mB.key && JSON.stringify(mA.value) === JSON.stringify(mB.value), label + ': A\'s message ' + n + ' is identical on B', { a: mA.key, b: mB.key })

    const pubB = await B.cmd('publish', { n, size: 64 })
    check(pubB.seq === n + 1, label + ': B published ' + n + ' after its contact message', pubB)
    const t1 = Date.now()
    const fol2 = await A.cmd('follow', { feed: B.id })
    check(fol2.replicating === true, label + ': A follows B, replication on via ' + fol2.via, fol2)
    const w2 = await A.cmd('wait', { feed: B.id, seq: n + 1, timeout_ms: 60000 })
    const ms2 = Date.now() - t1
    check(w2.seq >= n + 1, label + ': A has B up to ' + (n + 1) + ' (' + ms2 + ' ms)', w2)
    timings[label] = { a_to_b_ms: ms1, b_to_a_ms: ms2, msgs: n }
    out.ms1 = ms1
    out.ms2 = ms2
  } catch (err) {
    check(false, label + ': ' + err.message)
  }
  return out
}

function callsSeen (peer, method) {
  return peer.events.filter((e) => e.event === 'call' && e.method === method)
}

async function scenarioDb2 () {
  const { A, B } = await replicationBothWays('db2-ebt', 'db2', 'db2', ['--timeout-ms', '0'], 1000)
  try {
    // What ssb-ebt 9 sends when it dials: B dialled A.
    const rep = callsSeen(A, 'ebt.replicate')
    check(rep.length >= 1 && rep[0].args[0].version === 3 && rep[0].args[0].format === 'classic',
      'db2-ebt: the dialler called ebt.replicate({version:3, format:"classic"})', rep.map((e) => e.args))
    facts.db2_ebt_replicate_args = rep.length ? rep[0].args : null
    check(callsSeen(A, 'createHistoryStream').length === 0, 'db2-ebt: no createHistoryStream call during EBT replication')

    // blob A -> B
    const data = crypto.randomBytes(200 * 1024)
    const added = await A.cmd('blobAdd', { data_b64: data.toString('base64') })
    check(/^&.{44}\.sha256$/.test(added.blob), 'db2 blob: added ' + added.blob)
    const before = await B.cmd('blobHas', { blob: added.blob })
    check(before.has === false, 'db2 blob: B does not have it yet')
    const want = await B.cmd('blobWant', { blob: added.blob, timeout_ms: 20000 })
    check(want.size === data.length, 'db2 blob: B fetched it with blobWant (' + want.ms + ' ms)', want)
    const got = await B.cmd('blobGet', { blob: added.blob })
    check(Buffer.from(got.data_b64, 'base64').equals(data), 'db2 blob: B\'s copy is byte-identical')
    timings.db2_blob_200k_ms = want.ms

    // B reads A's createHistoryStream over muxrpc
    const seqs = (vals) => vals.map((v) => (v.value ? v.value.sequence : v.sequence))
    const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i)
    const sorted = (xs) => xs.slice().sort((x, y) => x - y)
    const hs = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 990 }] })
    check(!hs.error && JSON.stringify(sorted(seqs(hs.values))) === JSON.stringify(range(990, 1001)) &&
      hs.values.every((v) => v.key && v.value && v.timestamp),
    'db2 remote createHistoryStream seq:990: the 12 stored messages 990..1001, as {key,value,timestamp} by default', { seqs: seqs(hs.values), error: hs.error })
    const hsAll = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id }] })
    const allSeqs = seqs(hsAll.values)
    const outOfOrder = allSeqs.filter((x, i) => i > 0 && x < allSeqs[i - 1]).length
    const hsLim = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 1, limit: 10 }] })
    facts.db2_history_order = {
      note: 'A published 1000 messages in a burst with ssb-db2 timestamps (Date.now(), many equal)',
      full_stream_messages: allSeqs.length,
      full_stream_out_of_order_steps: outOfOrder,
      seq1_limit10_returned: seqs(hsLim.values)
    }
    check(allSeqs.length === 1001 && JSON.stringify(sorted(allSeqs)) === JSON.stringify(range(1, 1001)),
      'db2 remote createHistoryStream (no seq): all 1001 messages (' + outOfOrder + ' steps out of sequence order)')
    check(hsLim.values.length === 10, 'db2 remote createHistoryStream limit:10: 10 messages, seqs ' + JSON.stringify(seqs(hsLim.values)))
    const first = await A.cmd('get', { feed: A.id, seq: 1 })
    const m1 = hsAll.values.find((v) => v.value.sequence === 1)
    check(m1 && m1.key === first.key, 'db2 remote createHistoryStream: key matches A\'s own')
    const hsk = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 995, keys: false }] })
    check(!hsk.error && JSON.stringify(sorted(seqs(hsk.values))) === JSON.stringify(range(995, 1001)) && !hsk.values[0].key,
      'db2 remote createHistoryStream keys:false: bare values 995..1001', { seqs: seqs(hsk.values), error: hsk.error })
    // with strictly increasing declared timestamps at or below arrival, the order is right
    const mono = await A.cmd('publish', { n: 50, monotonic_ts: true })
    const hsm = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 1002, limit: 20 }] })
    check(mono.seq === 1051 && JSON.stringify(seqs(hsm.values)) === JSON.stringify(range(1002, 1021)),
      'db2 publish monotonic_ts: createHistoryStream seq:1002 limit:20 gives exactly 1002..1021 in order', seqs(hsm.values))
    const t0 = Date.now()
    const hsl = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 1050, live: true }], timeout_ms: 3000 })
    facts.db2_history_live = { ended: hsl.ended, values: hsl.values.length, ms: Date.now() - t0 }
    check(hsl.ended === true && hsl.values.length === 2, 'db2 remote createHistoryStream live:true: ignored, the stream ends after the stored messages', facts.db2_history_live)
    const hso = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 1040, old: false, live: true }], timeout_ms: 3000 })
    check(hso.ended === true && hso.values.length === 12, 'db2 remote createHistoryStream old:false: ignored too, stored messages come anyway', { n: hso.values.length, ended: hso.ended })
    const hs0 = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 0, limit: 1 }] })
    check(hs0.values.length === 1 && hs0.values[0].value.sequence === 1, 'db2 remote createHistoryStream seq:0 starts at 1')

    // Which methods does an ordinary (non-master) caller get?
    const who = await B.cmd('remote', { key: A.id, method: ['whoami'], type: 'sync', args: [] })
    facts.db2_whoami_remote = who
    check(who.error !== null, 'db2: whoami from a remote peer is refused (' + (who.error && who.error.message) + ')', who)
    const lat = await B.cmd('remote', { key: A.id, method: ['getFeedState'], type: 'async', args: [A.id] })
    check(lat.error !== null, 'db2: getFeedState from a remote peer is refused', lat)
    const clk = await B.cmd('remote', { key: A.id, method: ['ebt', 'clock'], type: 'async', args: [] })
    check(!clk.error && clk.result[A.id] === 1051, 'db2: ebt.clock is open to remote peers and shows A at 1051', clk)

    // block: the scheduler stops replicating a blocked feed
    const blk = await B.cmd('block', { feed: A.id })
    check(blk.replicating === false, 'db2: after B blocks A, B no longer replicates A', blk)
  } catch (err) {
    check(false, 'db2 extra checks: ' + err.message)
  }
  await Promise.all([A.stop(), B.stop()])
}

async function scenarioClassic () {
  const { A, B } = await replicationBothWays('classic-legacy', 'classic', 'classic', ['--ebt', 'off', '--timeout-ms', '0'], 1000)
  try {
    const calls = callsSeen(A, 'createHistoryStream')
    const forA = calls.filter((c) => c.args[0] && c.args[0].id === A.id)
    check(forA.length >= 1 && forA[0].args[0].live === true && forA[0].args[0].keys === false,
      'classic-legacy: B pulled A with createHistoryStream({id, seq, live:true, keys:false})', forA.map((c) => c.args))
    facts.classic_legacy_chs_args = calls.map((c) => c.args[0])
    check(callsSeen(A, 'ebt.replicate').length === 0, 'classic-legacy: no ebt.replicate with EBT off')

    const data = crypto.randomBytes(50 * 1024)
    const added = await A.cmd('blobAdd', { data_b64: data.toString('base64') })
    const want = await B.cmd('blobWant', { blob: added.blob, timeout_ms: 20000 })
    check(want.size === data.length, 'classic blob: B fetched it with blobWant (' + want.ms + ' ms)', want)

    const hs = await B.cmd('remote', { key: A.id, method: ['createHistoryStream'], type: 'source', args: [{ id: A.id, seq: 999, live: true }], timeout_ms: 1500 })
    check(hs.values.length === 3 && hs.values[0].key && hs.values[0].timestamp && hs.values[0].value.sequence === 999 && hs.ended === false,
      'classic remote createHistoryStream live:true: 999..1001 as {key,value,timestamp}, then stays open', { n: hs.values.length, ended: hs.ended })
    const who = await B.cmd('remote', { key: A.id, method: ['whoami'], type: 'sync', args: [] })
    facts.classic_whoami_remote = who
    check(who.error !== null, 'classic: whoami from a remote peer is refused (' + (who.error && who.error.message) + ')', who)

    const unf = await B.cmd('unfollow', { feed: A.id })
    check(unf.replicating === false && unf.via === 'ssb-friends', 'classic: after B unfollows A, ssb-friends cancels the request', unf)
    await B.cmd('follow', { feed: A.id })
    const blk = await B.cmd('block', { feed: A.id })
    facts.classic_block_keeps_replicating = blk.replicating
    check(blk.replicating === true, 'classic: after B blocks A, ssb-replicate still lists A (ssb-friends 4 only blocks sending to A)', blk)
  } catch (err) {
    check(false, 'classic extra checks: ' + err.message)
  }
  await Promise.all([A.stop(), B.stop()])
}

// ssb-ebt 9 (db2) and ssb-ebt 5 (classic) on one connection, both directions.
async function scenarioMixed () {
  const n = 300
  const D = await new Peer('mixed-db2', 'db2', ['--timeout-ms', '0']).start()
  const C = await new Peer('mixed-classic', 'classic', ['--timeout-ms', '0']).start()
  try {
    await D.cmd('publish', { n })
    await C.cmd('publish', { n })
    await D.connectTo(C)
    await D.cmd('follow', { feed: C.id })
    await C.cmd('replicate', { feed: D.id, on: true }) // no contact message on this side
    const t0 = Date.now()
    const [w1, w2] = await Promise.all([
      D.cmd('wait', { feed: C.id, seq: n, timeout_ms: 30000 }),
      C.cmd('wait', { feed: D.id, seq: n + 1, timeout_ms: 30000 })
    ])
    check(w1.seq >= n && w2.seq >= n + 1, 'mixed db2<->classic (EBT 9 dialling EBT 5): ' + n + ' each way (' + (Date.now() - t0) + ' ms)')
    const rep = callsSeen(C, 'ebt.replicate')
    facts.db2_to_classic_ebt_args = rep.length ? rep[0].args : null
    check(rep.length >= 1, 'mixed: classic saw ebt.replicate from db2', rep.map((e) => e.args))
    check(callsSeen(C, 'createHistoryStream').length === 0, 'mixed: no legacy fallback (classic was not the dialler)')

    // Now the classic peer dials: what does ssb-ebt 5 send?
    await D.cmd('disconnect', { key: C.id })
    await sleep(200)
    await C.connectTo(D)
    await C.cmd('publish', { n: 10 })
    const w3 = await D.cmd('wait', { feed: C.id, seq: n + 10, timeout_ms: 20000 })
    check(w3.seq >= n + 10, 'mixed, classic dialling db2: 10 more messages arrive')
    const rep2 = callsSeen(D, 'ebt.replicate')
    facts.classic_ebt_replicate_args = rep2.length ? rep2[0].args : null
    check(rep2.length >= 1 && rep2[0].args[0].version === 3 && rep2[0].args[0].format === undefined,
      'mixed: ssb-ebt 5 (classic) sends ebt.replicate({version:3}) with no format', rep2.map((e) => e.args))
  } catch (err) {
    check(false, 'mixed: ' + err.message)
  }
  await Promise.all([D.stop(), C.stop()])
}

// Identity, caps and argument handling.
async function scenarioStartup () {
  try {
    const ssbKeys = require('ssb-keys')
    const { fromSeedHex } = require('./lib/keys')
    const seed = crypto.randomBytes(32)
    const ours = fromSeedHex(seed.toString('hex'))
    const theirs = ssbKeys.generate('ed25519', seed)
    check(JSON.stringify(ours) === JSON.stringify(theirs), '--seed gives the same keys object as ssb-keys.generate(\'ed25519\', seed)')

    const file = path.join(tmpRoot, 'secret')
    const fileKeys = ssbKeys.createSync(file)
    // Peer.start passes --seed; this one is started by hand
    const proc = spawn(process.execPath, [PEER, '--stack', 'db2', '--port', String(await freePort()), '--data', path.join(tmpRoot, 'keys-file'), '--keys', file], { stdio: ['pipe', 'pipe', 'pipe'] })
    const first = await new Promise((resolve) => {
      readline.createInterface({ input: proc.stdout }).once('line', (l) => resolve(JSON.parse(l)))
    })
    check(first.event === 'ready' && first.id === fileKeys.id, '--keys FILE: the peer runs as the file\'s identity')
    proc.stdin.end() // closing stdin stops the peer
    const code = await new Promise((resolve) => proc.on('exit', resolve))
    check(code === 0, 'closing stdin stops the peer with exit code 0', code)

    // a port already in use is refused up front
    const A = await new Peer('startup-A', 'db2', ['--ebt', 'off']).start()
    const dup = spawn(process.execPath, [PEER, '--stack', 'db2', '--port', String(A.port), '--data', path.join(tmpRoot, 'dup'), '--seed', '11'.repeat(32)], { stdio: ['pipe', 'pipe', 'pipe'] })
    const dupCode = await new Promise((resolve) => dup.on('exit', resolve))
    check(dupCode === 2, 'a port in use: exit code 2 before ready', dupCode)

    // a different shs cap cannot connect
    const X = await new Peer('startup-X', 'db2', ['--ebt', 'off', '--shs-cap', crypto.randomBytes(32).toString('base64')]).start()
    let err = null
    try { await X.connectTo(A) } catch (e) { err = e.message.replace(/\s+/g, ' ') }
    check(err !== null, 'a peer with another --shs-cap cannot connect (' + err + ')')
    const good = await new Peer('startup-Y', 'classic', ['--ebt', 'off']).start()
    const c = await good.connectTo(A)
    check(c.key === A.id, 'connect answers with the remote id (classic -> db2, ' + c.ms + ' ms)')
    await Promise.all([A.stop(), X.stop(), good.stop()])
  } catch (err) {
    check(false, 'startup: ' + err.message)
  }
}

// Private messages (lib/private.js): box2 to a group key and box1, written on one
// peer, replicated, read on another; what ssb-db2's own indexing decrypts.
async function scenarioPrivate () {
  const A = await new Peer('private-A', 'db2', ['--timeout-ms', '0']).start()
  const B = await new Peer('private-B', 'db2', ['--timeout-ms', '0']).start()
  const C = await new Peer('private-C', 'classic', ['--timeout-ms', '0']).start()
  try {
    const groupKey = crypto.randomBytes(32).toString('base64')
    const groupId = 'ssb:identity/group/' + crypto.randomBytes(32).toString('base64url') + '='
    const wrongKey = crypto.randomBytes(32).toString('base64')
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)

    const a1 = await A.cmd('publishBox2', { groupKey, content: { type: 'post', text: 'a1' } })
    check(a1.seq === 1 && a1.previous === null && /\.box2$/.test(a1.content), 'private: db2 publishes envelope-js box2 as its first message (nil previous)', a1)
    const a2 = await A.cmd('publishBox1', { content: { type: 'post', text: 'a2' }, recps: [A.id, B.id] })
    check(a2.seq === 2 && /\.box$/.test(a2.content), 'private: db2 publishes box1 through ssb-db2 create (ssb-box)', a2)
    const a3 = await A.cmd('publishBox2', { groupKey, content: { type: 'post', text: 'a3' } })
    check(a3.previous === a2.key, 'private: the next box2 has the previous message in its context', a3)
    let refused = null
    try { await A.cmd('publishBox2', { groupId, via: 'ssb-db2', content: { type: 'post' } }) } catch (e) { refused = e.message }
    check(refused !== null, 'private: ssb-db2 create to a group it does not know is refused (' + refused + ')')

    const added = await B.cmd('addGroup', { groupId, groupKey })
    check(same(added.groups, [groupId]), 'private: addGroup registers the group with ssb-box2', added)
    await B.connectTo(A)
    await B.cmd('replicate', { feed: A.id })
    await B.cmd('wait', { feed: A.id, seq: 3, timeout_ms: 30000 })
    const r1 = await B.cmd('unboxBox2', { msg: a1.key, groupKey })
    check(r1.read && same(r1.content, { type: 'post', text: 'a1' }) && r1.db2.decrypted && same(r1.db2.content, r1.content),
      'private: B reads A\'s box2 (envelope-js) and ssb-db2 decrypted it too', r1)
    const r3 = await B.cmd('unboxBox2', { msg: a3.key, groupKey })
    check(r3.read && r3.content.text === 'a3', 'private: B reads A\'s second box2 (non-nil previous)', r3)
    const rw = await B.cmd('unboxBox2', { msg: a1.key, groupKey: wrongKey })
    check(rw.read === false, 'private: another group key reads nothing (' + rw.reason + ')', rw)
    const r2 = await B.cmd('unboxBox1', { msg: a2.key })
    check(r2.read && r2.content.text === 'a2' && r2.db2.decrypted && r2.db2.format === 'box', 'private: B reads A\'s box1 (ssb-keys) and ssb-db2 decrypted it too', r2)

    const b1 = await B.cmd('publishBox2', { groupId, via: 'ssb-db2', content: { type: 'post', text: 'b1' } })
    check(/\.box2$/.test(b1.content), 'private: ssb-db2 create boxes to a registered group (ssb-box2)', b1)
    const b2 = await B.cmd('publishBox1', { content: { type: 'post', text: 'b2' }, recps: [B.id] })
    await A.cmd('replicate', { feed: B.id })
    await A.cmd('wait', { feed: B.id, seq: b2.seq, timeout_ms: 30000 })
    const rb1 = await A.cmd('unboxBox2', { msg: b1.key, groupKey })
    check(rb1.read && same(rb1.content, { type: 'post', text: 'b1', recps: [groupId] }) && rb1.db2.decrypted === false,
      'private: A reads ssb-db2\'s group message with envelope-js; A\'s ssb-db2 (group not registered) did not', rb1)
    const rb2 = await A.cmd('unboxBox1', { msg: b2.key })
    check(rb2.read === false && rb2.db2.decrypted === false, 'private: a box1 to someone else is read by neither', rb2)

    // ssb-server 16 writes, db2 reads
    const c1 = await C.cmd('publishBox2', { groupKey, content: { type: 'post', text: 'c1' } })
    const c2 = await C.cmd('publishBox1', { content: { type: 'post', text: 'c2' }, recps: [C.id, A.id] })
    await A.connectTo(C)
    await A.cmd('replicate', { feed: C.id })
    await A.cmd('wait', { feed: C.id, seq: c2.seq, timeout_ms: 30000 })
    const rc1 = await A.cmd('unboxBox2', { msg: c1.key, groupKey })
    const rc2 = await A.cmd('unboxBox1', { msg: c2.key })
    check(rc1.read && rc1.content.text === 'c1' && rc2.read && rc2.content.text === 'c2' && rc2.db2.decrypted,
      'private: box2 and box1 published by ssb-server 16 are read on db2', { rc1, rc2 })
    const cr = await C.cmd('unboxBox1', { msg: c2.key })
    check(cr.read && cr.content.text === 'c2', 'private: classic reads its own box1 (ssb-keys)', cr)
  } catch (err) {
    check(false, 'private: ' + err.message)
  }
  await Promise.all([A.stop(), B.stop(), C.stop()])
}

// ssb-server with ssb-ebt 5 on both sides.
async function scenarioClassicEbt () {
  const n = 300
  const A = await new Peer('classic-ebt-A', 'classic', ['--timeout-ms', '0']).start()
  const B = await new Peer('classic-ebt-B', 'classic', ['--timeout-ms', '0']).start()
  try {
    await A.cmd('publish', { n })
    await B.cmd('publish', { n })
    await B.connectTo(A)
    await B.cmd('follow', { feed: A.id })
    await A.cmd('follow', { feed: B.id })
    const t0 = Date.now()
    const [w1, w2] = await Promise.all([
      B.cmd('wait', { feed: A.id, seq: n, timeout_ms: 30000 }),
      A.cmd('wait', { feed: B.id, seq: n + 1, timeout_ms: 30000 })
    ])
    check(w1.seq >= n && w2.seq >= n + 1, 'classic-ebt: ' + n + ' each way over ssb-ebt 5 (' + (Date.now() - t0) + ' ms)')
    check(callsSeen(A, 'ebt.replicate').length >= 1 && callsSeen(A, 'createHistoryStream').length === 0,
      'classic-ebt: EBT used, no legacy fallback', { chs: callsSeen(A, 'createHistoryStream').map((c) => c.args) })
  } catch (err) {
    check(false, 'classic-ebt: ' + err.message)
  }
  await Promise.all([A.stop(), B.stop()])
}

// The idle-connection timeout of secret-stack 6.
async function scenarioIdle () {
  try {
    const A = await new Peer('idle-A', 'db2', ['--ebt', 'off']).start() // no --timeout-ms: the default
    const B = await new Peer('idle-B', 'db2', ['--ebt', 'off', '--timeout-ms', '1000']).start()
    const C = await new Peer('idle-C', 'db2', ['--ebt', 'off', '--timeout-ms', '0']).start()
    // B (1 s) and C (never) both dial A (default). Nothing is sent after the connect.
    const t0 = Date.now()
    await B.connectTo(A)
    const bDown = await B.waitEvent((e) => e.event === 'disconnect' && e.peer === A.id, 4000)
    const bMs = bDown.t - t0
    check(bMs >= 900 && bMs < 2500, '--timeout-ms 1000: an idle connection is dropped after ~1 s (' + bMs + ' ms)')
    const t1 = Date.now()
    await C.connectTo(A)
    const cDown = await C.waitEvent((e) => e.event === 'disconnect' && e.peer === A.id, 8000)
    const aMs = cDown.t - t1
    facts.default_idle_drop_ms = aMs
    check(aMs >= 4500 && aMs < 7000, 'no --timeout-ms (secret-stack default, no `timers`): the other side drops an idle connection after ~5 s (' + aMs + ' ms)')
    await Promise.all([A.stop(), B.stop(), C.stop()])
  } catch (err) {
    check(false, 'idle timeout: ' + err.message)
  }
}

async function benchOne (label, stack, extra, n) {
  const A = await new Peer(label + '-A', stack, extra).start()
  const B = await new Peer(label + '-B', stack, extra).start()
  try {
    const pub = await A.cmd('publish', { n, size: 64 })
    await B.connectTo(A)
    const t0 = Date.now()
    await B.cmd('follow', { feed: A.id })
    const w = await B.cmd('wait', { feed: A.id, seq: n, timeout_ms: 300000 })
    const ms = Date.now() - t0
    const rate = Math.round(n / (ms / 1000))
    check(w.seq >= n, 'bench ' + label + ': ' + n + ' messages A->B in ' + ms + ' ms = ' + rate + ' msgs/s (publishing took ' + pub.ms + ' ms)')
    return { rate, ms, publish_ms: pub.ms }
  } catch (err) {
    check(false, 'bench ' + label + ': ' + err.message)
    return null
  } finally {
    await Promise.all([A.stop(), B.stop()])
  }
}

async function main () {
  const t0 = Date.now()
  const wrap = async (name, fn) => {
    const s = Date.now()
    await fn()
    timings['scenario_' + name + '_ms'] = Date.now() - s
  }
  await wrap('startup', scenarioStartup)
  await wrap('db2', scenarioDb2)
  await wrap('classic', scenarioClassic)
  await wrap('classic_ebt', scenarioClassicEbt)
  await wrap('mixed', scenarioMixed)
  await wrap('private', scenarioPrivate)
  await wrap('idle', scenarioIdle)
  if (BENCH) {
    const n = 10000
    const db2 = await benchOne('db2-ebt', 'db2', ['--timeout-ms', '0'], n)
    const classic = await benchOne('classic-legacy', 'classic', ['--ebt', 'off', '--timeout-ms', '0'], n)
    bench.db2_ebt_msgs_per_s = db2 && db2.rate
    bench.classic_legacy_msgs_per_s = classic && classic.rate
    bench.db2_ebt_ms = db2 && db2.ms
    bench.classic_legacy_ms = classic && classic.ms
    bench.messages = n
  }
  timings.total_ms = Date.now() - t0
  console.log(JSON.stringify({ timings }))
  console.log(JSON.stringify({ facts }))
  try { fs.rmSync(tmpRoot, { recursive: true, force: true }) } catch (e) {}
  console.log(passed + ' passed, ' + failed + ' failed')
  if (BENCH) console.log(JSON.stringify({ bench })) // the final line, for scripts
  process.exit(failed ? 1 : 0)
}

main().catch((err) => {
  console.log('FAIL selftest crashed: ' + (err.stack || err))
  console.log(passed + ' passed, ' + (failed + 1) + ' failed')
  process.exit(1)
})
