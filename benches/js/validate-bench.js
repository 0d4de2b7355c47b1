#!/usr/bin/env node
'use strict'
// The ssb-validate side of the `feeds` benchmark (benches/benches/feeds.rs).
//
// Input: a file of classic SSB messages, one JSON text per line, in stream order (messages of
// many feeds interleaved, each feed in sequence order). Per message the work is what a JS node
// does with a message off the wire: `JSON.parse` of its text, then ssb-validate's
// `append(state, null, msg)` (field rules, feed position, message id, ed25519 signature via
// ssb-keys → chloride → sodium-native). One `state` holds all feeds; at the end of the stream
// it is reset and validation starts again from the first message.
//
// Usage:
//   node validate-bench.js MESSAGES.jsonl [--seconds S]
//       Standalone: a checked warm-up pass, then timed passes for about S seconds (default 5);
//       prints msgs/s per pass and a final JSON line {"msgs_per_s": ...}.
//   node validate-bench.js MESSAGES.jsonl --serve
//       Line protocol on stdin/stdout, for the Rust bench to interleave with its own figures:
//         hello  → {"backend", "versions", "messages", "valid", "ids_sha256"}
//                  (a full checked pass with a fresh state; ids_sha256 is the sha256, hex, of
//                  every message id in stream order joined by "\n")
//         run N  → {"msgs": N, "ns": T}: validates the next N messages, T nanoseconds of
//                  process.hrtime around the loop only (no I/O)
//         quit   → exits (so does end of input)
//
// The sodium backend must be sodium-native (chloride silently falls back to a WebAssembly
// build otherwise); the script exits with status 3 if it is not, unless --allow-wasm is given.

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const readline = require('readline')

const validate = require('ssb-validate')

function pkgVersion (name) {
  try {
    return require(name + '/package.json').version
  } catch (_) {
    return 'unknown'
  }
}

// chloride picks sodium-native when it loads, else sodium-browserify (libsodium-wrappers).
function sodiumBackend () {
  const loaded = Object.keys(require.cache)
  if (loaded.some(k => k.includes(path.sep + 'sodium-native' + path.sep))) {
    return 'sodium-native@' + pkgVersion('sodium-native')
  }
  if (loaded.some(k => k.includes(path.sep + 'sodium-browserify' + path.sep))) {
    return 'sodium-browserify@' + pkgVersion('sodium-browserify') + ' (wasm fallback)'
  }
  return 'unknown'
}

function versions () {
  return ['ssb-validate', 'ssb-keys', 'chloride', 'sodium-native']
    .map(n => n + '@' + pkgVersion(n))
    .concat(['node@' + process.versions.node])
    .join(' ')
}

const args = process.argv.slice(2)
const file = args.find(a => !a.startsWith('--'))
if (!file) {
  console.error('usage: node validate-bench.js MESSAGES.jsonl [--seconds S | --serve] [--allow-wasm]')
  process.exit(2)
}
const serve = args.includes('--serve')
const secondsAt = args.indexOf('--seconds')
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : 5

const lines = fs.readFileSync(file, 'utf8').split('\n').filter(l => l.length > 0)

// Validates lines[from .. from + n) onto `state`; returns the number that failed.
function validateRange (state, from, n) {
  let bad = 0
  for (let i = from; i < from + n; i++) {
    try {
      validate.append(state, null, JSON.parse(lines[i]))
    } catch (_) {
      bad++
    }
  }
  return bad
}

// A full pass with a fresh state, checked: every message valid, and the digest of their ids.
function checkedPass () {
  const state = validate.initial()
  const bad = validateRange(state, 0, lines.length)
  const ids = state.queue.map(kvt => kvt.key).join('\n')
  return {
    valid: lines.length - bad,
    ids_sha256: crypto.createHash('sha256').update(ids, 'utf8').digest('hex')
  }
}

const backend = sodiumBackend() // chloride is loaded by ssb-validate → ssb-keys
if (!backend.startsWith('sodium-native') && !args.includes('--allow-wasm')) {
  console.error('validate-bench: chloride is not using sodium-native but ' + backend +
    '; run `npm ci` in ' + __dirname + ' (or pass --allow-wasm)')
  process.exit(3)
}

// Streaming state for `run N`: position in the stream and the state so far.
let state = validate.initial()
let next = 0

function runMessages (n) {
  let done = 0
  let bad = 0
  let ns = 0n
  while (done < n) {
    if (next === lines.length) {
      state = validate.initial()
      next = 0
    }
    const k = Math.min(n - done, lines.length - next)
    const t = process.hrtime.bigint()
    bad += validateRange(state, next, k)
    ns += process.hrtime.bigint() - t
    next += k
    done += k
  }
  return { msgs: n, ns: Number(ns), invalid: bad }
}

if (serve) {
  const rl = readline.createInterface({ input: process.stdin, terminal: false })
  rl.on('line', line => {
    const [cmd, arg] = line.trim().split(/\s+/)
    if (cmd === 'hello') {
      const check = checkedPass()
      process.stdout.write(JSON.stringify({
        backend,
        versions: versions(),
        messages: lines.length,
        valid: check.valid,
        ids_sha256: check.ids_sha256
      }) + '\n')
    } else if (cmd === 'run') {
      process.stdout.write(JSON.stringify(runMessages(Math.max(1, Number(arg) | 0))) + '\n')
    } else if (cmd === 'quit') {
      rl.close()
    } else {
      process.stdout.write(JSON.stringify({ error: 'unknown command ' + cmd }) + '\n')
    }
  })
  rl.on('close', () => process.exit(0))
} else {
  console.log(versions() + ', backend ' + backend)
  const check = checkedPass() // also the warm-up
  console.log(lines.length + ' messages, ' + check.valid + ' valid, ids sha256 ' + check.ids_sha256)
  if (check.valid !== lines.length) process.exit(1)
  const rates = []
  const until = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  do {
    state = validate.initial()
    next = 0
    const r = runMessages(lines.length)
    rates.push(r.msgs / (r.ns / 1e9))
    console.log('pass ' + rates.length + ': ' + rates[rates.length - 1].toFixed(0) + ' msgs/s')
  } while (process.hrtime.bigint() < until)
  rates.sort((a, b) => a - b)
  const median = rates[Math.floor(rates.length / 2)]
  console.log('ssb-validate: ' + median.toFixed(0) + ' msgs/s (median of ' + rates.length +
    ' passes, best ' + rates[rates.length - 1].toFixed(0) + ')')
  console.log(JSON.stringify({ msgs_per_s: median, best_msgs_per_s: rates[rates.length - 1], passes: rates.length }))
}
