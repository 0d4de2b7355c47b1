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
//     codec muxrpc and secret-stack put inside the box-stream).
//   - EBT v3: epidemic-broadcast-trees' v3 note functions and its events.js
//     state machine (what ssb-ebt 9 runs), driven for one peer.
//   - createHistoryStream is not implemented: it needs a whole JS database.
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
    'epidemic-broadcast-trees@' + pkgVersion('epidemic-broadcast-trees'),
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
  capabilities: () => ({ name: 'ssb-js', version: versionString(), suites: ['shs', 'boxstream', 'feed-legacy', 'feed-bendybutt', 'muxrpc', 'ebt'] }),
  'shs.client': shsClient,
  'shs.server': shsServer,
  'boxstream.encrypt': boxEncrypt,
  'boxstream.decrypt': boxDecrypt,
  'legacy.encode': legacyEncode,
  'feed.validate': feedValidate,
  'bendybutt.validate': bendyButtValidate,
  'muxrpc.encode': muxrpcEncode,
  'muxrpc.decode': muxrpcDecode,
  'ebt.note.encode': ebtNoteEncode,
  'ebt.note.decode': ebtNoteDecode,
  'ebt.notes.decode': ebtNotesDecode,
  'ebt.session': ebtSession,
  'history.query': historyQuery
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
    if (err instanceof OpError) return { id, error: { kind: err.kind, message: err.message } }
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
