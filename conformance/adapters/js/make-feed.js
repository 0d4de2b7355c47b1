#!/usr/bin/env node
'use strict'
// Makes a classic feed with the JS stack, for cross-checking other implementations.
//
//   node make-feed.js --count N --seed HEX32 [--hmac-key B64]
//
// Writes N lines to stdout, each `JSON.stringify({key, value})`: the message id
// ("%….sha256") and the message exactly as JS holds it (JSON.stringify keeps JS's
// key order, so a reader with an order-preserving parser sees the signed order).
//
// Keys: ssb-keys' generate('ed25519', seed). Messages: ssb-validate's appendNew
// (create + sign with ssb-keys, then append, which validates each message and
// computes its id). Timestamps are deterministic (1700000000000 + i, a few with a
// fraction), and the content is drawn from a PRNG seeded by the seed, so the same
// arguments always give the same feed. The content is varied on purpose: unicode
// (emoji, CJK, combining marks, RTL, lone surrogates), escapes (quotes,
// backslashes, control characters, U+2028), numbers of many magnitudes, nested
// objects and arrays, integer-like keys (which JS orders first), mentions,
// encrypted-looking ".box" strings, contacts, votes and abouts.

const crypto = require('crypto')
const ssbKeys = require('ssb-keys')
const validate = require('ssb-validate')

function usage (msg) {
  process.stderr.write((msg ? msg + '\n' : '') +
    'usage: node make-feed.js --count N --seed HEX32 [--hmac-key B64]\n')
  process.exit(2)
}

function parseArgs (argv) {
  const out = { count: null, seed: null, hmacKey: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const v = argv[i + 1]
    if (a === '--count') { out.count = Number(v); i++ } else if (a === '--seed') { out.seed = v; i++ } else if (a === '--hmac-key') { out.hmacKey = v; i++ } else usage('unknown argument ' + a)
  }
  if (!Number.isInteger(out.count) || out.count < 0) usage('--count must be a non-negative integer')
  if (typeof out.seed !== 'string' || !/^[0-9a-fA-F]{64}$/.test(out.seed)) usage('--seed must be 32 bytes of hex')
  if (out.hmacKey !== null) {
    const k = Buffer.from(out.hmacKey, 'base64')
    if (k.length !== 32 || k.toString('base64') !== out.hmacKey) usage('--hmac-key must be canonical base64 of 32 bytes')
  }
  return out
}

// ---------------------------------------------------------------------------
// deterministic randomness: sha256(seed ‖ counter) blocks

function prng (seed) {
  let counter = 0
  let pool = Buffer.alloc(0)
  function bytes (n) {
    while (pool.length < n) {
      const c = Buffer.alloc(8)
      c.writeBigUInt64BE(BigInt(counter++))
      pool = Buffer.concat([pool, crypto.createHash('sha256').update(seed).update(c).digest()])
    }
    const out = pool.subarray(0, n)
    pool = pool.subarray(n)
    return Buffer.from(out)
  }
  const int = n => bytes(4).readUInt32BE(0) % n // [0, n)
  const pick = list => list[int(list.length)]
  return { bytes, int, pick }
}

// ---------------------------------------------------------------------------
// content pieces

const TEXT_PIECES = [
  'hello', 'Scuttlebutt', ' ', '  ', 'the quick brown fox', '🦀', '😀', '👍🏽', '🇯🇵', '👩‍👩‍👧',
  '漢字', 'かな', '한국어', '中文测试', 'e\u0301', 'a\u0308\u0304', 'n\u0303', 'Z\u0351\u0352\u0353',
  'עברית', 'العربية', '\u200d', '\u200b', '\ufeff', 'Ω≈ç√∫', 'ß', 'ﬁ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '"quoted"', "'single'", '\\', '\\\\n', '\\u0041', '/slash/', '\n', '\r\n', '\t', '\b', '\f',
  '\u0000', '\u0001', '\u001f', '\u007f', '\u0080', '\u00ff', '\u2028', '\u2029', '\ud800',
  '\udfff', '\udbff\udfff', '<script>', '&amp;', '%', '.box', '@', '#channel', '[link](%abc)',
  'ÿþ', 'Ā', '\u0100\u0101', '~', '`', '{}', '[]', ':', ',', 'null', 'true', '-0', '1e21'
]

const NUMBERS = [
  0, -0, 1, -1, 0.1, 0.2, 0.30000000000000004, 1 / 3, -2 / 3, 1e21, 1e20, 123456789012345680000,
  1e-7, 1e-6, 0.000001, 1.5e-7, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
  -1.7976931348623157e308, 9007199254740991, 9007199254740992, 9007199254740993, -9007199254740991,
  2147483647, 2147483648, -2147483648, -2147483649, 4294967295, 4294967296, 1e100, 1.0e-100,
  123.456, -0.5, 100, 1e3, 12345678.9, 0.1 + 0.7, 1e15 + 0.3, 1e16, 299792458, 6.02214076e23,
  1.602176634e-19, 3.141592653589793, 2.718281828459045
]

const TYPES = ['post', 'vote', 'contact', 'about', 'pub', 'channel', 'git-update', 'npm-packages',
  'x'.repeat(52), 'abc', 'ünïcødé-type', '😀😀', 'type with spaces', 'a.b.c']

function text (r, maxPieces) {
  let s = ''
  const n = 1 + r.int(maxPieces)
  for (let i = 0; i < n; i++) s += r.pick(TEXT_PIECES)
  return s
}

function b64 (r, n) { return r.bytes(n).toString('base64') }
function feedId (r) { return '@' + b64(r, 32) + '.ed25519' }
function msgId (r) { return '%' + b64(r, 32) + '.sha256' }
function blobId (r) { return '&' + b64(r, 32) + '.sha256' }

// A JSON-ish value of bounded depth.
function value (r, depth) {
  switch (r.int(depth > 0 ? 8 : 5)) {
    case 0: return r.pick(NUMBERS)
    case 1: return text(r, 4)
    case 2: return r.pick([true, false, null])
    case 3: return r.int(1000000)
    case 4: return r.pick(NUMBERS) * (r.int(2) ? 1 : -1)
    case 5: case 6: {
      const a = []
      const n = r.int(4)
      for (let i = 0; i < n; i++) a.push(value(r, depth - 1))
      return a
    }
    default: return object(r, depth - 1)
  }
}

const KEYS = ['a', 'b', 'text', 'Text', 'z', '10', '2', '1', '0', '01', '-1', '4294967294', '4294967295',
  '1.5', '', ' ', 'ключ', '鍵', '😀', 'a"b', 'a\\b', 'new\nline', '\u0000', 'constructor', 'toString', 'length']

function object (r, depth) {
  const o = {}
  const n = r.int(5)
  for (let i = 0; i < n; i++) o[r.pick(KEYS)] = value(r, depth)
  return o
}

// A `__proto__` own property can only come from JSON.parse.
function withProtoKey (r) {
  return JSON.parse('{"type":"post","text":' + JSON.stringify(text(r, 3)) + ',"__proto__":{"x":1}}')
}

function content (r, i, authorId, ids) {
  const prev = ids.length ? ids[r.int(ids.length)] : msgId(r)
  switch (i % 17) {
    case 0: case 1: case 2: case 3:
      return { type: 'post', text: text(r, 12) }
    case 4:
      return {
        type: 'post',
        text: text(r, 6),
        root: prev,
        branch: [prev, msgId(r)],
        mentions: [
          { link: feedId(r), name: text(r, 2) },
          { link: blobId(r), type: 'image/png', size: r.int(1 << 30), name: 'pic.png' },
          { link: '#' + text(r, 1) }
        ],
        channel: r.pick(['ssb', 'scuttlebutt', '日本', null])
      }
    case 5:
      return { type: 'post', text: text(r, 3), numbers: [r.pick(NUMBERS), r.pick(NUMBERS), r.pick(NUMBERS)] }
    case 6:
      // integer-like keys: JS lists them first, in ascending order
      return { type: 'post', z: 1, 10: 'ten', 2: 'two', a: [1, { 3: 'x', b: 2, 0: 'y' }], 1: text(r, 2) }
    case 7:
      return { type: r.pick(TYPES), nested: object(r, 3), list: [value(r, 2), value(r, 2)] }
    case 8:
      // encrypted-looking content: canonical base64 then ".box" (or a later box format)
      return b64(r, 16 + r.int(200)) + r.pick(['.box', '.box', '.box2', '.boxanything'])
    case 9:
      return { type: 'contact', contact: feedId(r), following: r.int(2) === 1, blocking: r.int(4) === 0 }
    case 10:
      return { type: 'vote', vote: { link: prev, value: r.pick([1, 0, -1]), expression: r.pick(['Like', '❤️', 'Unlike', '👍🏽']) } }
    case 11:
      return { type: 'about', about: r.int(2) ? authorId : feedId(r), name: text(r, 3), image: blobId(r), description: text(r, 8) }
    case 12:
      return { type: 'post', text: 'escapes: "\\/\b\f\n\r\t\u0000\u001f\u007f\u2028\u2029 ' + text(r, 4) }
    case 13:
      return { type: r.pick(TYPES), value: value(r, 4) }
    case 14:
      return withProtoKey(r)
    case 15:
      return { type: 'post', text: '', deep: [[[[[[{ a: [[[]]] }]]]]]], empty: {}, emptyList: [] }
    default:
      return { type: 'post', text: text(r, 20), n: r.pick(NUMBERS), big: 2 ** (r.int(1100) - 1074) }
  }
}

function timestampOf (i) {
  // mostly whole milliseconds; every 50th has a fraction (as some clients wrote)
  return 1700000000000 + i + (i % 50 === 49 ? 0.25 : 0)
}

function main () {
  const opts = parseArgs(process.argv.slice(2))
  const seed = Buffer.from(opts.seed, 'hex')
  const keys = ssbKeys.generate('ed25519', seed)
  const r = prng(seed)
  let state = validate.initial()
  const ids = []
  const out = []
  let pending = 0
  const flush = () => {
    if (out.length) process.stdout.write(out.join(''))
    out.length = 0
    pending = 0
  }
  for (let i = 0; i < opts.count; i++) {
    const c = content(r, i, keys.id, ids)
    // appendNew: create (shape check + sign) then append (checkInvalid + id)
    state = validate.appendNew(state, opts.hmacKey, keys, c, timestampOf(i))
    const kvt = state.queue.pop()
    state.queue.length = 0
    ids.push(kvt.key)
    out.push(JSON.stringify({ key: kvt.key, value: kvt.value }) + '\n')
    if (++pending >= 500) flush()
  }
  flush()
}

main()
