#!/usr/bin/env node
'use strict'
// ssb-harness adapter over the JavaScript reference packages.
//
// Protocol: conformance/ADAPTER.md (one JSON request per line on stdin, one JSON
// response per line on stdout, in order). Logs go to stderr only.
//
// The cryptography is done by the reference packages themselves:
//   - SHS v1: the step functions of secret-handshake/crypto.js, driven in the same
//     order as secret-handshake/protocol.js drives them; box-stream keys come from
//     its `clean` step and the nonces are taken from the app MACs exactly as
//     protocol.js's `secure` does.
//   - box-stream: pull-box-stream's createBoxStream / createUnboxStream.
//   - classic messages: ssb-validate's checkInvalid / id (with ssb-keys for the
//     signature check) and the JSON.stringify(v, null, 2) signing encoding.
//   - Bendy Butt messages: ssb-bendy-butt/format's validate / getMsgId (with
//     bencode, ssb-bfe and ssb-keys under it); meta feed management content:
//     ssb-meta-feeds/validate's validateSingle, on the content section that
//     ssb-bendy-butt's fromNativeMsg decodes (the module alone: no server, no db).
//   - muxrpc framing: packet-stream-codec's pull-stream encoder and decoder (the
//     codec muxrpc and secret-stack put inside the box-stream); the RPC layer:
//     packet-stream (what muxrpc 6 runs), with what muxrpc's own glue decides.
//   - EBT v3: epidemic-broadcast-trees' v3 note functions and its events.js
//     state machine (what ssb-ebt 9 runs), driven for one peer.
//   - createHistoryStream is not implemented: it needs a whole JS database.
//   - private-box, envelope (box2) and private groups: private.js beside this
//     file (private-box, envelope-js, ssb-private-group-keys, private-group-spec).
// The only thing this file computes itself is the ephemeral key pair, because the
// harness gives the raw curve25519 scalar while secret-handshake derives it from a
// random ed25519 seed: kx_pk = X25519(kx_sk, 9) via chloride (the sodium wrapper
// secret-handshake uses), and app_mac = crypto_auth(kx_pk, network_key) like
// crypto.initialize does.

const path = require('path')
const readline = require('readline')

const sodium = require('chloride')
const shs = require('secret-handshake/crypto')
const boxes = require('pull-box-stream')
const pull = require('pull-stream')
const nodeCrypto = require('crypto')
const validate = require('ssb-validate')
const bendyButt = require('ssb-bendy-butt/format')
const metafeedValidate = require('ssb-meta-feeds/validate')
const BFE = require('ssb-bfe')
const psc = require('packet-stream-codec')
const priv = require('./private')

// ---------------------------------------------------------------------------
// versions / backend

function pkgVersion (name) {
  try {
    // resolve from this folder so nested copies are not picked by accident
    const p = require.resolve(name + '/package.json', { paths: [__dirname] })
    return require(p).version
  } catch (e) {
    // packages with an `exports` map hide package.json from require.resolve
    try {
      const file = path.join(__dirname, 'node_modules', name, 'package.json')
      return JSON.parse(require('fs').readFileSync(file, 'utf8')).version
    } catch (e2) {
      return 'unknown'
    }
  }
}

// chloride picks sodium-native when it loads and silently falls back to the
// libsodium-wrappers based `sodium-browserify` otherwise. Tell which one it took.
function sodiumBackend () {
  const loaded = Object.keys(require.cache)
  if (loaded.some(k => k.includes(path.sep + 'sodium-native' + path.sep))) {
    return 'sodium-native@' + pkgVersion('sodium-native')
  }
  if (loaded.some(k => k.includes(path.sep + 'sodium-browserify' + path.sep))) {
    return 'sodium-browserify@' + pkgVersion('sodium-browserify') +
      ' (libsodium-wrappers@' + pkgVersion('libsodium-wrappers') + ')'
  }
  return 'unknown'
}

function versionString () {
  return [
    'secret-handshake@' + pkgVersion('secret-handshake'),
    'pull-box-stream@' + pkgVersion('pull-box-stream'),
    'ssb-validate@' + pkgVersion('ssb-validate'),
    'ssb-keys@' + pkgVersion('ssb-keys'),
    'ssb-bendy-butt@' + pkgVersion('ssb-bendy-butt'),
    'ssb-meta-feeds@' + pkgVersion('ssb-meta-feeds'),
    'bencode@' + pkgVersion('bencode'),
    'ssb-bfe@' + pkgVersion('ssb-bfe'),
    'packet-stream-codec@' + pkgVersion('packet-stream-codec'),
    'packet-stream@' + pkgVersion('packet-stream'),
    'epidemic-broadcast-trees@' + pkgVersion('epidemic-broadcast-trees'),
    ...priv.PACKAGES.map(p => p + '@' + pkgVersion(p)),
    'chloride@' + pkgVersion('chloride'),
    sodiumBackend()
  ].join(' ')
}

// ---------------------------------------------------------------------------
// errors

class OpError extends Error {
  constructor (kind, message) {
    super(message || kind)
    this.kind = kind
  }
}

function invalid (message) { return new OpError('invalid_args', message) }

function describe (err) {
  if (err == null) return 'no detail'
  if (err instanceof Error) return err.message
  return String(err)
}

// ---------------------------------------------------------------------------
// argument parsing

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/

function isObject (v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function hexArg (args, name, length) {
  if (!(name in args)) throw invalid('missing argument `' + name + '`')
  return hexValue(args[name], name, length)
}

function hexValue (v, name, length) {
  if (typeof v !== 'string' || !HEX_RE.test(v)) {
    throw invalid('`' + name + '` must be a hex string')
  }
  const buf = Buffer.from(v, 'hex')
  if (length != null && buf.length !== length) {
    throw invalid('`' + name + '` must be ' + length + ' bytes, got ' + buf.length)
  }
  return buf
}

function boolArg (args, name) {
  if (typeof args[name] !== 'boolean') throw invalid('`' + name + '` must be a boolean')
  return args[name]
}

function incomingArg (args, index, what) {
  const inc = args.incoming
  if (!Array.isArray(inc)) throw invalid('`incoming` must be a list of hex strings')
  if (index >= inc.length) throw invalid('`incoming` has no ' + what + ' (index ' + index + ')')
  return hexValue(inc[index], 'incoming[' + index + '] (' + what + ')')
}

function hex (buf) { return Buffer.from(buf).toString('hex') }

// ---------------------------------------------------------------------------
// SHS v1

const BASEPOINT = Buffer.alloc(32); BASEPOINT[0] = 9

// Run one step function; a `null` result or a throw (wrong length assert,
// sodium refusing a low-order point, unconvertible key, ...) is the rejection
// of the message being processed.
function step (kind, what, fn) {
  let result
  try {
    result = fn()
  } catch (err) {
    throw new OpError(kind, what + ' threw: ' + describe(err))
  }
  if (!result) throw new OpError(kind, what + ' returned null')
  return result
}

// Build the initial handshake state the way secret-handshake/protocol.js does
// (crypto.initialize), then put the given ephemeral scalar in place of the one
// initialize derived from its random seed.
function initialState (networkKey, longtermSeed, ephemeral, remote) {
  const local = sodium.crypto_sign_seed_keypair(longtermSeed)
  const state = shs.initialize({
    app_key: networkKey,
    local: local,
    remote: remote,
    random: Buffer.alloc(32) // placeholder seed; its kx pair is replaced below
  })
  const kxSk = Buffer.from(ephemeral)
  const kxPk = sodium.crypto_scalarmult(kxSk, BASEPOINT)
  state.local.kx_sk = kxSk
  state.local.kx_pk = kxPk
  state.local.app_mac = sodium.crypto_auth(kxPk, networkKey)
  return state
}

// What box-stream needs, as protocol.js's `secure` hands it to the streams.
function outcome (state) {
  const encryptNonce = state.remote.app_mac.slice(0, 24)
  const decryptNonce = state.local.app_mac.slice(0, 24)
  state = shs.clean(state)
  return {
    remote_public: hex(state.remote.publicKey),
    encrypt_key: hex(state.encryptKey),
    encrypt_nonce: hex(encryptNonce),
    decrypt_key: hex(state.decryptKey),
    decrypt_nonce: hex(decryptNonce)
  }
}

// The two roles, written once against a tiny I/O interface so that the same code
// serves the `shs.*` ops (messages from `incoming`) and shs1-exe.js (messages
// from stdin, for the shs1-test suite):
//   io.read(index, name) -> Promise<Buffer>   the peer's next message
//   io.write(buffer)                          our next message
// Both throw OpError; a rejected message throws before anything more is written.

async function clientHandshake (p, io) {
  let state = initialState(p.networkKey, p.seed, p.ephemeral, { publicKey: p.serverPublic })
  io.write(shs.createChallenge(state)) // msg1

  const msg2 = await io.read(0, 'msg2')
  state = step('msg2_rejected', 'clientVerifyChallenge',
    () => shs.clientVerifyChallenge(state, msg2))
  io.write(shs.clientCreateAuth(state)) // msg3

  const msg4 = await io.read(1, 'msg4')
  state = step('msg4_rejected', 'clientVerifyAccept',
    () => shs.clientVerifyAccept(state, msg4))
  return outcome(state)
}

async function serverHandshake (p, io) {
  let state = initialState(p.networkKey, p.seed, p.ephemeral, undefined)

  const msg1 = await io.read(0, 'msg1')
  state = step('msg1_rejected', 'verifyChallenge',
    () => shs.verifyChallenge(state, msg1))
  io.write(shs.createChallenge(state)) // msg2

  const msg3 = await io.read(1, 'msg3')
  state = step('msg3_rejected', 'serverVerifyAuth',
    () => shs.serverVerifyAuth(state, msg3))

  // protocol.js asks its `authorize` hook here, with the client's key.
  if (!p.accept(state.remote.publicKey)) {
    throw new OpError('client_refused',
      'authorize hook refused ' + hex(state.remote.publicKey))
  }
  io.write(shs.serverCreateAccept(state)) // msg4
  return outcome(state)
}

// io over the `incoming` list of a request, collecting what we write.
function listIO (args) {
  if (!Array.isArray(args.incoming)) throw invalid('`incoming` must be a list of hex strings')
  const written = []
  return {
    written,
    read: async (index, name) => incomingArg(args, index, name),
    write: buf => { written.push(hex(buf)) }
  }
}

async function shsClient (args) {
  const p = {
    networkKey: hexArg(args, 'network_key', 32),
    seed: hexArg(args, 'client_seed', 32),
    ephemeral: hexArg(args, 'client_ephemeral', 32),
    serverPublic: hexArg(args, 'server_public', 32)
  }
  const io = listIO(args)
  const result = await clientHandshake(p, io)
  return { msg1: io.written[0], msg3: io.written[1], outcome: result }
}

async function shsServer (args) {
  const acceptClient = boolArg(args, 'accept_client')
  const p = {
    networkKey: hexArg(args, 'network_key', 32),
    seed: hexArg(args, 'server_seed', 32),
    ephemeral: hexArg(args, 'server_ephemeral', 32),
    accept: () => acceptClient
  }
  const io = listIO(args)
  const result = await serverHandshake(p, io)
  return { msg2: io.written[0], msg4: io.written[1], outcome: result }
}

// ---------------------------------------------------------------------------
// box-stream

// A source that yields `items`, then ends with `end` (true = normal end,
// an Error = the source failed).
// With `async`, each item is delivered on a later turn of the event loop, as a
// socket would (used by the self test to feed many small chunks).
function valuesThen (items, end, async) {
  let i = 0
  return function (abort, cb) {
    if (abort) return cb(abort)
    const answer = i < items.length ? () => cb(null, items[i++]) : () => cb(end)
    if (async) setImmediate(answer)
    else answer()
  }
}

// Drain `source`, resolving {items, end} where end is `true` for a normal end
// or the error the stream ended with.
function drainAll (source) {
  return new Promise(resolve => {
    const items = []
    pull(source, pull.drain(
      data => { items.push(data) },
      end => resolve({ items, end: end == null ? true : end })
    ))
  })
}

const NO_GOODBYE = new Error('adapter: closing without goodbye')

async function boxEncrypt (args) {
  const key = hexArg(args, 'key', 32)
  const nonce = hexArg(args, 'nonce', 24)
  if (!Array.isArray(args.writes)) throw invalid('`writes` must be a list of hex strings')
  const writes = args.writes.map((w, i) => hexValue(w, 'writes[' + i + ']'))
  const goodbye = boolArg(args, 'goodbye')

  // pull-box-stream emits the goodbye when its source ends normally. When its
  // source ends with an error it closes without one: that is how "no goodbye"
  // is produced (everything written before is still emitted first).
  const source = valuesThen(writes, goodbye ? true : NO_GOODBYE)
  const { items, end } = await drainAll(pull(source, boxes.createBoxStream(key, nonce)))
  if (end !== true && end !== NO_GOODBYE) {
    throw new OpError('internal', 'box stream failed: ' + describe(end))
  }
  return { output: hex(Buffer.concat(items)) }
}

// Map what pull-box-stream's unbox stream ends with to ADAPTER.md's kinds.
function unboxErrorKind (err) {
  const msg = describe(err)
  if (msg === 'invalid header') return 'header_auth_failed'
  if (msg === 'invalid packet') return 'body_auth_failed'
  // pull-reader: the source ended before `wanted` bytes were there (this is
  // also what happens at a frame boundary: "stream ended with:0 but wanted:34").
  if (/^stream ended with:\d+ but wanted:\d+$/.test(msg)) return 'truncated'
  if (msg === 'unexpected hangup') return 'truncated'
  return 'internal'
}

// Decrypt `chunks` (a list of buffers fed as consecutive reads) with one unbox
// stream. Exposed for the self test, which checks that chunking doesn't matter.
async function unboxChunks (key, nonce, chunks, async) {
  const { items, end } = await drainAll(pull(
    valuesThen(chunks, true, async),
    boxes.createUnboxStream(key, nonce)
  ))
  // The unbox stream ends normally only after it has read the goodbye header.
  if (end === true) return { bodies: items.map(hex) }
  const kind = unboxErrorKind(end)
  throw new OpError(kind, 'pull-box-stream: ' + describe(end) +
    ' (after ' + items.length + ' bodies)')
}

async function boxDecrypt (args) {
  const key = hexArg(args, 'key', 32)
  const nonce = hexArg(args, 'nonce', 24)
  const input = hexArg(args, 'input')
  return unboxChunks(key, nonce, input.length ? [input] : [])
}

// ---------------------------------------------------------------------------
// classic messages (suite feed-legacy)

// A JSON text given as hex of its UTF-8 bytes, parsed by JSON.parse (which keeps
// the first position and last value of a duplicate key, and lone surrogate escapes).
function jsonArg (args, name) {
  const text = hexArg(args, name).toString('utf8')
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new OpError('invalid_json', name + ': ' + describe(err))
  }
}

function legacyEncode (args) {
  const value = jsonArg(args, 'json')
  // ssb-validate's own encode: JSON.stringify(value, null, 2)
  const str = validate.encode(value)
  if (typeof str !== 'string') {
    // JSON.stringify gives undefined only for undefined/functions/symbols,
    // which JSON.parse never yields
    throw new OpError('internal', 'JSON.stringify gave ' + typeof str)
  }
  return {
    signing: Buffer.from(str, 'utf8').toString('hex'),
    length: str.length,
    // what ssb-keys' hash (and so a message id) digests: the latin-1 view
    sha256: nodeCrypto.createHash('sha256').update(Buffer.from(str, 'binary')).digest('hex')
  }
}

// ssb-validate 4.1.4's error messages, by the start of their text, and the
// ADAPTER.md family each belongs to (impl/src/legacy/mod.rs js_message/family).
const VALIDATE_ERRORS = [
  ['invalid message: must have author', 'invalid_author'],
  ['invalid message: signature type must match author type', 'invalid_signature_format'],
  ['invalid message: expected sequence', 'sequence_mismatch'],
  ['invalid message: expected different previous message', 'previous_mismatch'],
  ['initial message must have previous: null', 'first_previous_not_null'],
  ['initial message must have sequence: 1', 'first_sequence_not_one'],
  ['initial message must have timestamp', 'timestamp_not_number'],
  ['message must have keys in allowed order', 'invalid_order'],
  ['message has invalid properties', 'invalid_properties'],
  ['type must be a string', 'invalid_content_type'],
  ['Encoded message must not be larger than 8192 bytes', 'too_long'],
  ['invalid HMAC key', 'invalid_hmac_key'],
  ['invalid signature', 'invalid_signature']
]

function validateErrorKind (message) {
  for (const [prefix, kind] of VALIDATE_ERRORS) {
    if (message.startsWith(prefix)) return kind
  }
  return 'internal'
}

function stateArg (args) {
  const s = args.state
  if (s === undefined || s === null) return null
  if (!isObject(s) || typeof s.id !== 'string' || typeof s.sequence !== 'number') {
    throw invalid('`state` must be null or {id: string, sequence: number}')
  }
  // the shape ssb-validate keeps per feed (its flatState): id, sequence, timestamp
  return { id: s.id, sequence: s.sequence, timestamp: s.timestamp === undefined ? null : s.timestamp }
}

// checkInvalid returns an Error for every rule it checks, but a few inputs make
// it (or ssb-keys under it) throw instead. Tell which stage threw, by asking
// ssb-validate's own stages again, and give that stage's family (DEVIATIONS.md).
function thrownKind (thrown, state, hmacKey, msg) {
  try {
    validate.checkInvalidCheap(state, msg)
  } catch (e) {
    // e.g. `null`: reading msg.author throws a TypeError
    return 'invalid_author'
  }
  // isInvalidHmacKey's Buffer.from(key, 'base64') throws on a number, boolean or
  // object; ssb-keys' toBuffer throws on an array that passed it
  if (hmacKey !== null && hmacKey !== undefined && typeof hmacKey !== 'string') return 'invalid_hmac_key'
  // ssb-keys' verify: getCurve throws on an author whose tag is no known curve
  // (ssb-ref's isFeedId lets `@….sha256` through, and a `.sig.sha256` signature
  // then matches it)
  if (/^unknown curve/.test(describe(thrown))) return 'invalid_author'
  return 'internal'
}

function feedValidate (args) {
  const state = stateArg(args)
  const hmacKey = args.hmac_key === undefined ? null : args.hmac_key
  const msg = jsonArg(args, 'message')
  let err
  try {
    err = validate.checkInvalid(state, hmacKey, msg)
  } catch (thrown) {
    const kind = thrownKind(thrown, state, hmacKey, msg)
    throw new OpError(kind, 'ssb-validate threw: ' + describe(thrown))
  }
  if (err) {
    const message = describe(err)
    throw new OpError(validateErrorKind(message), message.length > 500 ? message.slice(0, 500) + '…' : message)
  }
  return { id: validate.id(msg) }
}

// ---------------------------------------------------------------------------
// Bendy Butt messages (suite feed-bendybutt)

// ssb-bendy-butt 1.0.2's validate(nativeMsg, prevNativeMsg, hmacKey, cb) error
// messages (validation.js), by their text, and the ADAPTER.md family each belongs
// to. `null` kinds depend on the request (see bendyButtErrorKind).
const BENDYBUTT_ERRORS = [
  [/^invalid message: expected a bencode list of length 2/, 'invalid_shape'],
  [/^invalid message: expected payload to be a bencode list of length 5/, 'invalid_shape'],
  [/^invalid message size: /, 'too_long'],
  [/^invalid message: expected author to be a buffer/, 'invalid_author'],
  [/^invalid message: author is [\s\S]*, must be bendybutt v1 feed/, 'invalid_author'],
  // previous on sequence 1 (_validateFirstPrevious)
  [/^invalid message: previous is "[\s\S]*", expected a value of null because sequence is 1/, 'invalid_previous'],
  [/^invalid message: sequence cannot be 1 if there exists a previous message/, 'sequence_mismatch'],
  // previous on any other sequence (_validatePrevious)
  [/^invalid message: expected previous to be a buffer/, 'invalid_shape'],
  [/^invalid message: previous is "[\s\S]*", expected a valid message identifier/, 'invalid_previous'],
  [/^invalid previousMsg: value must not be undefined if sequence > 1/, 'first_sequence_not_one'],
  [/^invalid message: previousBFE is "[\s\S]*" but previous message author is/, 'previous_mismatch'],
  // sequence (_validateSequence)
  [/^invalid message: sequence is [\s\S]*, expected 1 because there is no previous message/, 'first_sequence_not_one'],
  [/^invalid message: sequence is [\s\S]* but prevMsg sequence is/, 'sequence_mismatch'],
  // a non-number, NaN, infinite or negative timestamp (_validateTimestamp)
  [/^invalid message: timestamp is [\s\S]*, expected a non-negative number/, 'invalid_shape'],
  // signature (_validateSignature)
  [/^invalid message: expected signature to be a buffer/, 'invalid_shape'],
  [/^invalid message: signature, expected a valid BFE signature buffer/, 'invalid_signature_format'],
  [/^invalid message: signature by must correctly sign the payload/, 'invalid_signature'],
  // the content section (_validateContentSection), checked after the signature
  [/^invalid message: contentSection is missing/, 'invalid_shape'],
  [/^invalid message: contentSection should be an array with two items/, null],
  [/^invalid message: content should be an object/, 'invalid_shape'],
  [/^invalid message: contentSignature should be a buffer/, 'invalid_shape'],
  [/^invalid message: contentSignature expected to be a valid BFE signature buffer/, 'invalid_signature_format'],
  // _validateHmac: the adapter always passes a 32-byte Buffer, so never expected
  [/^invalid hmac/, 'invalid_args']
]

function bendyButtErrorKind (message, metafeed) {
  for (const [re, kind] of BENDYBUTT_ERRORS) {
    if (!re.test(message)) continue
    if (kind !== null) return kind
    // the content section is not `[content, contentSignature]`: for a meta feed
    // that is content that is not signed (metafeed_content); otherwise the
    // payload's fifth field is of the wrong kind (invalid_shape)
    return metafeed ? 'metafeed_content' : 'invalid_shape'
  }
  return 'internal'
}

// ssb-bendy-butt throws instead of calling back for a few inputs. Which stage threw:
//   - bencode 2.0.3's decoder: a missing ':' or 'e', or a length or integer that is
//     not digits (it accepts everything else: leading zeros, unsorted or repeated
//     keys, trailing bytes);
//   - _validateAuthor formats a non-Buffer author with toString('hex'), which
//     throws a RangeError on a number.
function bendyButtThrownKind (err) {
  const msg = describe(err)
  if (/^Invalid data: Missing delimiter/.test(msg) || /^not a number: buffer\[/.test(msg)) {
    return 'invalid_bencode'
  }
  const stack = err && typeof err.stack === 'string' ? err.stack : ''
  // anything else the decoder throws (a RangeError for lists nested past the
  // call stack)
  if (/[\\/]bencode[\\/]lib[\\/]decode\.js:/.test(stack)) return 'invalid_bencode'
  if (/\bat _validateAuthor\b/.test(stack)) return 'invalid_author'
  return 'internal'
}

// ssb-meta-feeds 0.39.0's validateSingle([content, contentSignature], hmacKey)
// error messages (validate.js), by their text.
const METAFEED_ERRORS = [
  [/^invalid message: contentSection cannot be null or undefined/, 'metafeed_content'],
  [/^invalid message: cannot validate encrypted contentSection/, 'metafeed_content'],
  [/^invalid message: contentSection [\s\S]* is incorrect, expected a list of content and contentSignature/, 'metafeed_content'],
  [/^invalid message: content type [\s\S]* is incorrect/, 'metafeed_type'],
  [/^invalid message: content subfeed type /, 'metafeed_subfeed'],
  [/^invalid message: content metafeed type /, 'metafeed_metafeed'],
  [/^invalid message: content nonce /, 'metafeed_nonce'],
  [/^invalid hmac key: /, 'invalid_args'],
  [/^invalid message: contentSignature "[\s\S]*", expected a base64 string/, 'invalid_signature_format'],
  [/^invalid message: subfeed key "[\s\S]*", expected a canonical uri format or classic ssb sigil/, 'metafeed_subfeed'],
  [/^invalid message: contentSignature must correctly sign the content using the subfeed key/, 'metafeed_content_signature']
]

function metafeedErrorKind (message) {
  for (const [re, kind] of METAFEED_ERRORS) {
    if (re.test(message)) return kind
  }
  return 'internal'
}

function clip (s) { return s.length > 500 ? s.slice(0, 500) + '…' : s }

// validateSingle throws instead of returning an Error when a field it reads is
// missing (`undefined.slice`, `content.nonce.length`) or when ssb-bfe's encode
// refuses a field (e.g. `@` + base64 of 18 bytes + `.ed25519`: "No encoder for
// type=feed format=?"). Tell which stage threw by asking ssb-bfe again, in
// validateSingle's order: subfeed, metafeed, then the nonce of add/derived.
// A missing field is `metafeed_content` (ADAPTER.md); a present one that ssb-bfe
// refuses is its own field's family.
function metafeedThrownKind (content) {
  if (content === null || typeof content !== 'object') return 'metafeed_content'
  const encodes = v => { try { return BFE.encode(v) !== undefined } catch (e) { return false } }
  for (const [field, kind] of [['subfeed', 'metafeed_subfeed'], ['metafeed', 'metafeed_metafeed']]) {
    if (content[field] === undefined) return 'metafeed_content'
    if (!encodes(content[field])) return kind
  }
  if (content.type === 'metafeed/add/derived' && content.nonce == null) return 'metafeed_content'
  return 'internal'
}

// One message against the one before it (null for the first), by
// ssb-bendy-butt's validate. Its callback is called synchronously.
function bendyButtCheck (nativeMsg, prevNativeMsg, hmacKey, metafeed) {
  let called = false
  let result
  try {
    bendyButt.validate(nativeMsg, prevNativeMsg, hmacKey, err => {
      called = true
      result = err
    })
  } catch (thrown) {
    return { kind: bendyButtThrownKind(thrown), message: 'ssb-bendy-butt validate threw: ' + describe(thrown) }
  }
  if (!called) return { kind: 'internal', message: 'ssb-bendy-butt validate did not call back synchronously' }
  if (!result) return null
  const message = describe(result)
  return { kind: bendyButtErrorKind(message, metafeed), message: 'ssb-bendy-butt: ' + message }
}

// Meta feed management content, as ssb-meta-feeds checks it (its isValid hands
// validateSingle the decoded content and contentSignature of msg.value).
function metafeedCheck (nativeMsg, hmacKey) {
  let value
  try {
    value = bendyButt.fromNativeMsg(nativeMsg, 'js')
  } catch (thrown) {
    // ssb-bfe's decode throws on a type or format it does not know
    return { kind: 'metafeed_content', message: 'ssb-bendy-butt fromNativeMsg threw: ' + describe(thrown) }
  }
  let err
  try {
    err = metafeedValidate.validateSingle([value.content, value.contentSignature], hmacKey)
  } catch (thrown) {
    return { kind: metafeedThrownKind(value.content), message: 'ssb-meta-feeds validateSingle threw: ' + describe(thrown) }
  }
  if (!err) return null
  const message = describe(err)
  return { kind: metafeedErrorKind(message), message: 'ssb-meta-feeds: ' + message }
}

function bendyButtValidate (args) {
  if (!Array.isArray(args.messages)) throw invalid('`messages` must be a list of hex strings')
  const messages = args.messages.map((m, i) => hexValue(m, 'messages[' + i + ']'))
  const metafeed = boolArg(args, 'metafeed')
  // the network key as the packages take it: a Buffer of 32 bytes, or none
  const hmacKey = args.hmac_key === undefined || args.hmac_key === null
    ? null
    : hexArg(args, 'hmac_key', 32)

  const keys = []
  let prev = null
  for (let i = 0; i < messages.length; i++) {
    const msg = messages[i]
    const fault = bendyButtCheck(msg, prev, hmacKey, metafeed) || (metafeed ? metafeedCheck(msg, hmacKey) : null)
    if (fault) {
      throw new OpError(fault.kind, clip('message ' + (i + 1) + ' of ' + messages.length + ': ' + fault.message))
    }
    keys.push(bendyButt.getMsgId(msg))
    prev = msg
  }
  return { keys }
}

// ---------------------------------------------------------------------------
// muxrpc packet-stream framing (suite muxrpc, packet-stream-codec)
//
// packet-stream-codec works on JS values, not on body bytes: its encoder picks
// the body type from the value (a Buffer is binary, a string is string, anything
// else is JSON.stringify'd) and its decoder hands back a Buffer, a string
// (bytes.toString()) or JSON.parse's value. So a packet's body goes in as the
// value the codec would be given by muxrpc, and comes out re-serialized the same
// way the codec's encoder would serialize it. The original length of every body is
// kept by the decoder (msg.length), which is how we tell a clean end from a cut.

const PSC_TYPES = { binary: 0, string: 1, json: 2 }
const PSC_TYPE_NAMES = ['binary', 'string', 'json']

function packetArg (p, name) {
  if (!isObject(p)) throw invalid('`' + name + '` must be an object')
  const stream = boolArg(p, 'stream')
  const end = boolArg(p, 'end')
  if (!Object.prototype.hasOwnProperty.call(PSC_TYPES, p.type)) {
    throw invalid('`' + name + '.type` must be binary, string or json')
  }
  if (!Number.isInteger(p.req) || p.req < -2147483648 || p.req > 2147483647) {
    throw invalid('`' + name + '.req` must be an int32')
  }
  const body = hexArg(p, 'body')
  let value
  if (p.type === 'binary') {
    value = body
  } else if (p.type === 'string') {
    value = body.toString('utf8')
    if (!Buffer.from(value, 'utf8').equals(body)) {
      throw new OpError('unsupported', name + ': packet-stream-codec takes string bodies as JS strings; these bytes are not UTF-8')
    }
  } else {
    try {
      value = JSON.parse(body.toString('utf8'))
    } catch (err) {
      throw new OpError('unsupported', name + ': packet-stream-codec takes JSON bodies as values; this body does not parse: ' + describe(err))
    }
    const again = Buffer.from(JSON.stringify(value), 'utf8')
    if (typeof value === 'string' || !again.equals(body)) {
      throw new OpError('unsupported', name + ': packet-stream-codec would send this JSON body as ' +
        (typeof value === 'string' ? 'a string body' : again.toString('utf8')))
    }
  }
  return { req: p.req, stream, end, value, length: body.length, type: PSC_TYPES[p.type] }
}

async function muxrpcEncode (args) {
  if (!Array.isArray(args.packets)) throw invalid('`packets` must be a list of packets')
  const packets = args.packets.map((p, i) => packetArg(p, 'packets[' + i + ']'))
  const goodbye = boolArg(args, 'goodbye')
  // The encoder writes the goodbye when it is given the string 'GOODBYE' (what
  // packet-stream sends on close); the end of its source writes nothing.
  const items = goodbye ? packets.concat(['GOODBYE']) : packets
  const { items: out, end } = await drainAll(pull(pull.values(items), psc.encode()))
  if (end !== true) throw new OpError('internal', 'packet-stream-codec encoder failed: ' + describe(end))
  return { output: hex(Buffer.concat(out)) }
}

function pscErrorKind (err) {
  const msg = describe(err)
  if (/^stream ended with:\d+ but wanted:\d+$/.test(msg)) return 'truncated'
  if (msg === 'unknown message type') return 'unknown_body_type'
  if (err instanceof SyntaxError) return 'invalid_json'
  return 'internal'
}

function pscBody (msg) {
  if (msg.type === 0) return Buffer.from(msg.value)
  if (msg.type === 1) return Buffer.from(msg.value, 'utf8')
  return Buffer.from(JSON.stringify(msg.value), 'utf8')
}

// Decode `chunks` (consecutive reads of one peer's bytes) with packet-stream-codec's
// decoder. Exposed for the self test.
async function muxrpcDecodeChunks (chunks, async) {
  const total = chunks.reduce((n, c) => n + c.length, 0)
  const { items, end } = await drainAll(pull(valuesThen(chunks, true, async), psc.decode()))
  const packets = []
  let goodbye = false
  let consumed = 0
  for (const item of items) {
    if (item === 'GOODBYE') {
      goodbye = true
      consumed += 9
      continue
    }
    consumed += 9 + item.length
    packets.push({
      stream: item.stream,
      end: item.end,
      type: PSC_TYPE_NAMES[item.type],
      req: item.req,
      body: hex(pscBody(item))
    })
  }
  if (end !== true) {
    // pull-reader fails a header read at the very end of the input the same way
    // as a cut one ("stream ended with:N but wanted:9"; N is pull-reader's length
    // property, which its get() leaves stale, so it is not to be trusted). When
    // every input byte went into a complete packet, the failing read was a header
    // read on a packet boundary: the transport closing, muxrpc's normal end
    // without a goodbye.
    const clean = pscErrorKind(end) === 'truncated' && consumed === total
    if (!clean) {
      throw new OpError(pscErrorKind(end), 'packet-stream-codec: ' + describe(end) +
        ' (after ' + packets.length + ' packets)')
    }
  }
  return { packets, goodbye }
}

async function muxrpcDecode (args) {
  const input = hexArg(args, 'input')
  // The codec has no body limit: max_body is checked only for its shape.
  if (!Number.isInteger(args.max_body) || args.max_body < 0) {
    throw invalid('`max_body` must be a non-negative integer')
  }
  return muxrpcDecodeChunks(input.length ? [input] : [])
}

// ---------------------------------------------------------------------------
// muxrpc RPC layer (suite muxrpc, op muxrpc.endpoint: packet-stream 2.0.6, the version
// muxrpc 6.7.3's `~2.0.0` resolves to, with packet-stream-codec)
//
// packet-stream holds the RPC state: request numbers, our pending requests, the
// substreams of both sides and which half of each has ended; packet-stream-codec turns
// the peer's bytes into its packets and its packets into bytes. muxrpc puts three small
// layers around them that decide part of what goes on the wire, and this adapter stands
// in for them, rule by rule (DEVIATIONS.md lists each with its source):
//   - stream.js's `request` handler: args must be an array, then the local call;
//   - stream.js's `stream` handler: the first packet is the call (an end first is
//     answered with itself), its type must be source, sink or duplex, then the local
//     call, whose arguments are applied with Function.prototype.apply;
//   - local-api.js's localCall, against a manifest holding every name whose parts are
//     strings without dots, each of the type its call declares (async when none);
//   - pull-weird.js: once the peer ends a source or sink, our half ends with the
//     peer's end value; once it ends a duplex, the substream is dropped (our half is
//     never ended, nothing more is written) — either way nothing more reaches the
//     application;
//   - pull-goodbye: the peer's goodbye is taken out of the packets, then the end of
//     the codec's output ends packet-stream (`write(null, true)`); when packet-stream's
//     output ends, the goodbye is written.
// The application itself is the steps: a call is reported as an event and answered by
// `respond`, `send` and `end` steps.

const PacketStream = require('packet-stream')

const CALL_TYPES = ['async', 'source', 'sink', 'duplex']
const STREAM_TYPES = ['source', 'sink', 'duplex']

// A body value as packet-stream hands it over: the report's {type, body}.
function valueReport (value) {
  if (Buffer.isBuffer(value)) return { type: 'binary', body: hex(value) }
  if (typeof value === 'string') return { type: 'string', body: value }
  return { type: 'json', body: value }
}

// An error value (a peer's error body, or an Error of ours) as {name, message}.
function rpcErrorReport (v) {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) {
    return { name: typeof v.name === 'string' ? v.name : 'Error', message: typeof v.message === 'string' ? v.message : '' }
  }
  const text = Buffer.isBuffer(v) ? v.toString() : typeof v === 'string' ? v : JSON.stringify(v)
  return { name: 'Error', message: text }
}

function rpcErrorArg (v, name) {
  if (!isObject(v) || typeof v.name !== 'string' || typeof v.message !== 'string') {
    throw invalid('`' + name + '` must be {name, message} with two strings')
  }
  const err = new Error(v.message)
  err.name = v.name
  return err
}

function reqArg (v, name) {
  if (!Number.isInteger(v.req) || v.req < 1 || v.req > 2147483647) {
    throw invalid('`' + name + '.req` must be a request number from 1 to 2^31 - 1')
  }
  return v.req
}

// u.get(manifest, name) in muxrpc's util.js, for a manifest holding every path of
// strings without dots: a string is one key (never split), anything else is walked
// by its length (so null and undefined throw a TypeError, as in muxrpc).
function manifestPath (name) {
  if (typeof name === 'string') return name.includes('.') ? null : [name]
  void name.length
  if (!Array.isArray(name) || name.length === 0) return null
  return name.every(p => typeof p === 'string' && !p.includes('.')) ? name : null
}

// The peer's packets as the harness gives them: exact bytes.
function recvBytes (v, name) {
  const keys = isObject(v) ? Object.keys(v) : []
  if (keys.length !== 1 || (keys[0] !== 'hex' && keys[0] !== 'packet')) {
    throw invalid('`' + name + '` takes exactly one of hex and packet')
  }
  if (keys[0] === 'hex') return hexArg(v, 'hex')
  const p = v.packet
  if (!isObject(p)) throw invalid('`' + name + '.packet` must be an object')
  const stream = boolArg(p, 'stream')
  const end = boolArg(p, 'end')
  if (!Object.prototype.hasOwnProperty.call(PSC_TYPES, p.type)) throw invalid('`' + name + '.packet.type` must be binary, string or json')
  if (!Number.isInteger(p.req) || p.req < -2147483648 || p.req > 2147483647) throw invalid('`' + name + '.packet.req` must be an int32')
  if (typeof p.body !== 'string') throw invalid('`' + name + '.packet.body` must be a string')
  const body = p.type === 'binary' ? hexArg(p, 'body') : Buffer.from(p.body, 'utf8')
  const head = Buffer.alloc(9)
  head[0] = (stream ? 8 : 0) | (end ? 4 : 0) | PSC_TYPES[p.type]
  head.writeUInt32BE(body.length, 1)
  head.writeInt32BE(p.req, 5)
  return Buffer.concat([head, body])
}

class PsEndpoint {
  constructor () {
    this.events = []
    this.sent = []
    this.reading = false // in a recv step: error bodies we write are our own refusals
    this.fault = null
    this.crash = null
    this.unknown = 0
    this.goodbyeSent = false
    this.incoming = null // the packet packet-stream is handling (its handlers are not told its number)
    this.answers = new Map() // the peer's async request number -> packet-stream's callbacks, oldest first
    this.streams = new Map() // 'ours:N' | 'theirs:N' -> {sub, type, ours, req, readEnded, dropped}
    this.ps = PacketStream({
      message () {},
      request: (value, cb) => this.onRequest(value, cb),
      stream: sub => this.onStream(sub),
      close () {}
    })
    this.ps.read = (msg, end) => this.onOutput(msg, end)
    // The peer's bytes go through packet-stream-codec's decoder, fed one recv step at a time.
    this.chunks = []
    this.waiting = null
    const source = (abort, cb) => {
      if (abort) return cb(abort)
      if (this.chunks.length) return cb(null, this.chunks.shift())
      this.waiting = cb
    }
    pull(source, psc.decode(), pull.drain(item => this.onDecoded(item), end => this.onDecoderEnd(end)))
  }

  // --- what packet-stream writes

  onOutput (msg, end) {
    if (end) {
      // pull-goodbye: the end of packet-stream's output sends the goodbye
      if (!this.goodbyeSent) this.sent.push('goodbye')
      this.goodbyeSent = true
      return
    }
    const [head, body] = psc.encodePair(msg)
    const p = psc.decodeBody(body || Buffer.alloc(0), psc.decodeHead(head))
    let report = p.type === 0 ? hex(p.value) : p.value
    if (p.end && p.type === 2 && isObject(p.value)) {
      report = this.reading
        ? { error: true }
        : { name: 'name' in p.value ? p.value.name : null, message: 'message' in p.value ? p.value.message : null }
    }
    this.sent.push({ req: p.req, stream: p.stream, end: p.end, type: PSC_TYPE_NAMES[p.type], body: report })
  }

  // --- what the peer sends

  recv (bytes) {
    if (bytes.length === 0) return
    const cb = this.waiting
    this.waiting = null
    if (cb) cb(null, bytes)
    else this.chunks.push(bytes)
  }

  onDecoded (item) {
    if (this.fault || this.crash) return false
    // pull-goodbye takes the goodbye out of the stream; the codec's output ends after it
    if (item === 'GOODBYE') {
      this.events.push({ goodbye: true })
      return
    }
    const before = this.events.length + this.sent.length
    this.incoming = item
    try {
      this.ps.write(item)
    } catch (err) {
      // muxrpc has no guard here either: the exception would leave packet-stream
      this.crash = err
      return false
    } finally {
      this.incoming = null
    }
    if (this.events.length + this.sent.length === before) this.unknown++
  }

  onDecoderEnd (end) {
    if (this.crash) return
    if (end) {
      this.fault = pscErrorKind(end)
      return
    }
    // after the goodbye: muxrpc's pull-weird sink ends packet-stream when its source ends
    this.ps.write(null, true)
  }

  // stream.js `request`: the peer's async call
  onRequest (value, cb) {
    const req = this.incoming.req
    const args = value == null ? undefined : value.args
    if (!Array.isArray(args)) {
      return cb(new Error('invalid request, args should be array, was: ' + JSON.stringify(value)))
    }
    let path
    try {
      path = this.localCall('async', value.name, value.type)
    } catch (err) {
      return cb(err)
    }
    // packet-stream keeps no table of the peer's requests: a reused number is another call
    if (!this.answers.has(req)) this.answers.set(req, [])
    this.answers.get(req).push(cb)
    this.events.push({ call: { req, name: path, type: 'async', args } })
  }

  // stream.js `stream`: a stream the peer opens; its first packet is the call
  onStream (sub) {
    const req = this.incoming.req
    sub.read = (data, end) => {
      if (end) return sub.write(null, end)
      sub.read = null
      const { name, type, args } = data
      if (!STREAM_TYPES.includes(type)) return sub.write(null, new Error('unsupported stream type: ' + type))
      let path, callArgs
      try {
        path = this.localCall(type, name, type)
        callArgs = (function () { return Array.prototype.slice.call(arguments) }).apply(null, args)
      } catch (err) {
        return sub.write(null, err)
      }
      const s = { sub, type, ours: false, req, readEnded: false, dropped: false }
      this.streams.set('theirs:' + req, s)
      sub.read = this.reader(s)
      this.events.push({ call: { req, name: path, type, args: callArgs } })
    }
  }

  // local-api.js localCall (permissions allow everything): the name looked up in the
  // manifest, whose method has the type the call declares (async when none)
  localCall (type, name, declared) {
    if (name === 'emit') throw new Error('emit has been removed')
    const methodType = declared === undefined ? 'async' : declared
    const path = manifestPath(name)
    const has = t => path !== null && t === methodType
    if (type === 'async' && has('sync')) return path
    if (!has(type)) throw new Error('no ' + type + ':' + name)
    return path
  }

  // pull-weird: what a substream's packets become for the application
  reader (s) {
    return (data, end) => {
      if (s.readEnded) return
      if (!end) {
        const { type, body } = valueReport(data)
        this.events.push({ data: { req: s.req, ours: s.ours, type, body } })
        return
      }
      s.readEnded = true
      this.events.push({ end: { req: s.req, ours: s.ours, error: end === true ? null : rpcErrorReport(end) } })
      if (s.type === 'duplex') {
        s.dropped = true // duplex(): done() drops the substream and aborts our source
      } else if (!s.sub.writeEnd) {
        s.sub.write(null, end) // uniplex(): `s.write(null, err || true)`
      }
    }
  }

  // --- what the application does

  call (v, name) {
    if (!Array.isArray(v.name) || v.name.length === 0 || !v.name.every(p => typeof p === 'string')) {
      throw invalid('`' + name + '.name` must be a list of strings')
    }
    if (!CALL_TYPES.includes(v.type)) throw invalid('`' + name + '.type` must be async, source, sink or duplex')
    if (!Array.isArray(v.args)) throw invalid('`' + name + '.args` must be a list')
    // packet-stream numbers requests and streams with one counter (read before it moves)
    const req = this.ps._req_counter
    if (v.type === 'async') {
      this.ps.request({ name: v.name, args: v.args, type: 'async' }, (err, value) => {
        if (err) this.events.push({ response: { req, error: rpcErrorReport(err) } })
        else this.events.push({ response: Object.assign({ req }, okReport(value)) })
      })
      return
    }
    const sub = this.ps.stream()
    const s = { sub, type: v.type, ours: true, req, readEnded: false, dropped: false }
    this.streams.set('ours:' + req, s)
    sub.read = this.reader(s)
    sub.write({ name: v.name, args: v.args, type: v.type })
  }

  respond (v, name) {
    const req = reqArg(v, name)
    const hasOk = 'ok' in v
    if (hasOk === ('error' in v)) throw invalid('`' + name + '` takes exactly one of ok and error')
    const err = hasOk ? null : rpcErrorArg(v.error, name + '.error')
    const waiting = this.answers.get(req)
    if (!waiting) return
    const cb = waiting.shift()
    if (waiting.length === 0) this.answers.delete(req)
    if (err) cb(err)
    else cb(null, v.ok)
  }

  open (v, name) {
    const req = reqArg(v, name)
    const ours = boolArg(v, 'ours')
    const s = this.streams.get((ours ? 'ours:' : 'theirs:') + req)
    // pull-weird writes nothing once our half ended or the substream was dropped
    return s && !s.dropped && !s.sub.writeEnd ? s : null
  }

  send (v, name) {
    if (!('body' in v)) throw invalid('`' + name + '.body` missing')
    const s = this.open(v, name)
    if (s) s.sub.write(v.body)
  }

  end (v, name) {
    const err = v.error == null ? null : rpcErrorArg(v.error, name + '.error')
    const s = this.open(v, name)
    if (s) s.sub.end(err)
  }

  goodbye () {
    this.ps.close(() => {})
  }
}

function okReport (value) {
  const { type, body } = valueReport(value)
  return { type, ok: body }
}

async function muxrpcEndpoint (args) {
  if (args.limits != null) {
    if (!isObject(args.limits)) throw invalid('`limits` must be an object')
    for (const [k, n] of Object.entries(args.limits)) {
      if (k !== 'max_streams' && k !== 'max_refused') throw invalid('`limits`: unknown key ' + k)
      if (!Number.isInteger(n) || n < 0) throw invalid('`limits.' + k + '` must be a non-negative integer')
    }
    // packet-stream has no limits to give them to
  }
  if (!Array.isArray(args.steps)) throw invalid('`steps` must be a list')
  const ep = new PsEndpoint()
  const steps = []
  // packet-stream reports what it drops with console.error; that is not the adapter's output
  const consoleError = console.error
  console.error = () => {}
  try {
    for (let i = 0; i < args.steps.length; i++) {
      const step = args.steps[i]
      const name = 'steps[' + i + ']'
      const keys = isObject(step) ? Object.keys(step) : []
      if (keys.length !== 1) throw invalid('`' + name + '` must be an object with one key')
      const kind = keys[0]
      const v = step[kind]
      if (!isObject(v)) throw invalid('`' + name + '.' + kind + '` must be an object')
      ep.events = []
      ep.sent = []
      ep.reading = kind === 'recv'
      if (kind === 'recv') ep.recv(recvBytes(v, name + '.recv'))
      else if (kind === 'call') ep.call(v, name + '.call')
      else if (kind === 'respond') ep.respond(v, name + '.respond')
      else if (kind === 'send') ep.send(v, name + '.send')
      else if (kind === 'end') ep.end(v, name + '.end')
      else if (kind === 'goodbye') ep.goodbye()
      else throw invalid('`' + name + '`: unknown step ' + kind)
      if (ep.crash) throw new OpError('internal', 'an exception left packet-stream (muxrpc would crash too): ' + describe(ep.crash))
      steps.push({ events: ep.events, sent: ep.sent })
      if (ep.fault) break
    }
  } finally {
    console.error = consoleError
  }
  return { steps, fault: ep.fault, unknown_packets: ep.unknown }
}

// ---------------------------------------------------------------------------
// EBT v3 (suite ebt, epidemic-broadcast-trees: the state machine ssb-ebt 9 runs)
//
// Notes are read and written with the package's own v3 functions (note,
// getReplicate, getReceive, getSequence). They check nothing: every JSON value
// gives some answer, so the note and notes ops never fail (see DEVIATIONS.md).
// A notes body is taken apart the way events.notes does it: `ev.value.clock` if
// that is an object, else the value itself, then `for (id in clock)`.
//
// ebt.session drives the package's events.js state machine for one peer, as
// ssb-ebt's index.js and stream.js do: we are the server (the side that opens),
// our clock holds the feeds of which we have messages, we follow every feed in
// `local`, the remembered clock is the peer clock ssb-ebt stored (sequences,
// read from the remembered notes with getSequence), and after every event the
// feeds queued in `retrive` are read message by message through events.retrive,
// as ssb-ebt's update/getAt loop does. The notes it queues and the messages it
// queues are the step's actions.

const ebtV3 = require('epidemic-broadcast-trees/v3')
const EbtEvents = require('epidemic-broadcast-trees/events')

function ebtDecoded (v) {
  return { replicate: ebtV3.getReplicate(v), receive: ebtV3.getReceive(v), sequence: ebtV3.getSequence(v) }
}

function safeSequence (v, name) {
  if (!Number.isSafeInteger(v) || v < 0) throw invalid('`' + name + '` must be a non-negative integer')
  return v
}

function ebtNoteEncode (args) {
  const replicate = boolArg(args, 'replicate')
  const receive = boolArg(args, 'receive')
  const sequence = safeSequence(args.sequence, 'sequence')
  return ebtV3.note(replicate ? sequence : -1, receive)
}

function ebtNoteDecode (args) {
  if (!('value' in args)) throw invalid('missing argument `value`')
  return ebtDecoded(args.value)
}

function ebtNotesDecode (args) {
  if (typeof args.json !== 'string') throw invalid('`json` must be a string')
  let value
  try {
    value = JSON.parse(args.json)
  } catch (err) {
    throw new OpError('not_json', 'JSON.parse: ' + describe(err))
  }
  let clock
  try {
    // events.notes: `let clock = ev.value; if (isObject(ev.value.clock)) clock = ev.value.clock`
    clock = value
    if (value.clock && typeof value.clock === 'object') clock = value.clock
  } catch (err) {
    throw new OpError('not_an_object', 'events.notes would throw reading the body: ' + describe(err))
  }
  const out = {}
  for (const id in clock) out[id] = ebtDecoded(clock[id])
  return out
}

const EBT_SELF = '@ebt-adapter-self'
const EBT_PEER = '@ebt-adapter-peer'

function intMap (v, name, check) {
  if (!isObject(v)) throw invalid('`' + name + '` must be an object')
  for (const k in v) check(v[k], name + '[' + k + ']')
  return v
}

function noteInt (v, name) {
  if (!Number.isSafeInteger(v) || v < -1) throw invalid('`' + name + '` must be a note')
}

function stepPosition (v, name) {
  if (!isObject(v) || typeof v.feed !== 'string') throw invalid('`' + name + '` must be {feed, sequence}')
  return { feed: v.feed, sequence: safeSequence(v.sequence, name + '.sequence') }
}

// The actions of one step, canonical (ADAPTER.md): notes first, then ranges by feed id and sequence.
function ebtActions (notes, msgs) {
  const ranges = []
  for (const m of msgs) {
    const last = ranges[ranges.length - 1]
    if (last && last.feed === m.author && last.to + 1 === m.sequence) last.to = m.sequence
    else ranges.push({ feed: m.author, from: m.sequence, to: m.sequence })
  }
  ranges.sort((a, b) => a.feed < b.feed ? -1 : a.feed > b.feed ? 1 : a.from - b.from)
  const joined = []
  for (const r of ranges) {
    const last = joined[joined.length - 1]
    if (last && last.feed === r.feed && last.to + 1 === r.from) last.to = r.to
    else joined.push(r)
  }
  const out = notes ? [{ notes }] : []
  return out.concat(joined.map(r => ({ send: r })))
}

function ebtSession (args) {
  const local = intMap(args.local, 'local', safeSequence)
  const remembered = args.remembered == null ? null : intMap(args.remembered, 'remembered', noteInt)
  if (!Array.isArray(args.steps)) throw invalid('`steps` must be a list')

  const events = EbtEvents(ebtV3)
  let state = events.initialize(EBT_SELF)
  // ssb-ebt's clock lists the feeds we hold messages of
  state.clock = {}
  for (const feed in local) if (local[feed] > 0) state.clock[feed] = local[feed]
  for (const feed in local) state = events.follow(state, { id: feed, value: true, ts: 0 })
  state = events.connect(state, { id: EBT_PEER, client: false, ts: 0 })
  const peerClock = {}
  if (remembered) for (const feed in remembered) peerClock[feed] = ebtV3.getSequence(remembered[feed])
  state = events.peerClock(state, { id: EBT_PEER, value: peerClock, ts: 0 })

  const peer = () => state.peers[EBT_PEER]
  const takeNotes = () => { const n = peer().notes; peer().notes = null; return n }
  const retrieve = () => {
    const p = peer()
    while (p.retrive.length) {
      const id = p.retrive.shift()
      const rep = p.replicating[id]
      if (rep) state = events.retrive(state, { author: id, sequence: rep.sent + 1 })
    }
  }
  retrieve()
  const opening = takeNotes() || {}
  const openingMsgs = peer().msgs.splice(0)
  if (openingMsgs.length) throw new OpError('internal', 'epidemic-broadcast-trees queued messages before any notes')

  const steps = args.steps.map((step, i) => {
    const name = 'steps[' + i + ']'
    const keys = isObject(step) ? Object.keys(step) : []
    if (keys.length !== 1) throw invalid('`' + name + '` must be an object with one key')
    const v = step[keys[0]]
    if (keys[0] === 'notes') {
      state = events.notes(state, { id: EBT_PEER, value: intMap(v, name + '.notes', noteInt), ts: 0 })
    } else if (keys[0] === 'append') {
      const { feed, sequence } = stepPosition(v, name + '.append')
      state = events.append(state, { author: feed, sequence })
    } else if (keys[0] === 'duplicate') {
      const { feed, sequence } = stepPosition(v, name + '.duplicate')
      state = events.receive(state, { id: EBT_PEER, value: { author: feed, sequence }, ts: 0 })
    } else if (keys[0] === 'want') {
      const { feed, sequence } = stepPosition(v, name + '.want')
      if (sequence > 0) state.clock[feed] = sequence
      state = events.follow(state, { id: feed, value: true, ts: 0 })
    } else {
      throw invalid('unknown step `' + keys[0] + '`')
    }
    retrieve()
    return ebtActions(takeNotes(), peer().msgs.splice(0))
  })
  return { opening, steps }
}

// ---------------------------------------------------------------------------
// createHistoryStream (suite history)

function historyQuery () {
  throw new OpError('unsupported', 'history.query needs a whole JS database (ssb-db2 with its createHistoryStream); this adapter drives protocol modules only')
}

// ---------------------------------------------------------------------------
// dispatch

const OPS = {
  capabilities: () => ({ name: 'ssb-js', version: versionString(), suites: ['shs', 'boxstream', 'feed-legacy', 'feed-bendybutt', 'muxrpc', 'ebt', 'box1', 'box2', 'groups'] }),
  'shs.client': shsClient,
  'shs.server': shsServer,
  'boxstream.encrypt': boxEncrypt,
  'boxstream.decrypt': boxDecrypt,
  'legacy.encode': legacyEncode,
  'feed.validate': feedValidate,
  'bendybutt.validate': bendyButtValidate,
  'muxrpc.encode': muxrpcEncode,
  'muxrpc.decode': muxrpcDecode,
  'muxrpc.endpoint': muxrpcEndpoint,
  'ebt.note.encode': ebtNoteEncode,
  'ebt.note.decode': ebtNoteDecode,
  'ebt.notes.decode': ebtNotesDecode,
  'ebt.session': ebtSession,
  'history.query': historyQuery,
  ...priv.OPS
}

async function handle (req) {
  if (!isObject(req)) {
    return { id: null, error: { kind: 'invalid_args', message: 'request is not a JSON object' } }
  }
  const id = req.id === undefined ? null : req.id
  try {
    if (typeof req.op !== 'string') throw invalid('missing `op`')
    const fn = Object.prototype.hasOwnProperty.call(OPS, req.op) ? OPS[req.op] : null
    if (!fn) throw new OpError('unsupported', 'op `' + req.op + '` is not implemented by ssb-js')
    const args = req.args === undefined ? {} : req.args
    if (!isObject(args)) throw invalid('`args` must be an object')
    const ok = await fn(args)
    return { id, ok }
  } catch (err) {
    if (err instanceof OpError || err instanceof priv.OpError) return { id, error: { kind: err.kind, message: err.message } }
    process.stderr.write('ssb-js adapter: internal error on ' + JSON.stringify(req.op) + ': ' +
      (err && err.stack ? err.stack : String(err)) + '\n')
    return { id, error: { kind: 'internal', message: describe(err) } }
  }
}

async function handleLine (line) {
  let req
  try {
    req = JSON.parse(line)
  } catch (err) {
    return { id: null, error: { kind: 'invalid_args', message: 'request is not JSON: ' + err.message } }
  }
  return handle(req)
}

function main () {
  // the harness went away: nothing left to answer
  process.stdout.on('error', err => {
    process.stderr.write('ssb-js adapter: stdout: ' + err.message + '\n')
    process.exit(0)
  })
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false })
  let chain = Promise.resolve()
  rl.on('line', line => {
    if (line.trim() === '') return
    chain = chain
      .then(() => handleLine(line))
      .then(resp => { process.stdout.write(JSON.stringify(resp) + '\n') })
  })
  rl.on('close', () => {
    chain.then(() => { process.exitCode = 0 })
  })
  process.stderr.write('ssb-js adapter ready: ' + versionString() + '\n')
}

module.exports = { handle, unboxChunks, muxrpcDecodeChunks, clientHandshake, serverHandshake, versionString, sodiumBackend, OpError }

if (require.main === module) main()
