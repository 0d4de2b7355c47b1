'use strict'
// The box1, box2 and groups ops of the ssb-js adapter (conformance/ADAPTER.md).
//
// The cryptography is done by the reference packages:
//   - private-box (box1): private-box's multibox / multibox_open_key /
//     multibox_open_body, with feed keys converted by chloride as ssb-keys does.
//     The harness gives the nonce, body key and ephemeral secret; private-box
//     draws them from chloride's randombytes and crypto_box_keypair, so those
//     two are wrapped to hand out the given values during one multibox call (and
//     to fall through to sodium otherwise), and a fresh private-box instance is
//     loaded after wrapping, since private-box keeps crypto_box_keypair from load
//     time.
//   - envelope (box2): envelope-js's box, unboxKey, DeriveSecret, CloakedMsgId
//     and the envelope-spec labels. envelope-js's unboxBody ignores the result of
//     both crypto_secretbox_open_easy calls (a tampered body comes back as zero
//     bytes), so the body is opened here the way unboxBody does it, with the
//     authenticators checked.
//   - groups: ssb-private-group-keys' directMessageKey, poBoxKey and DHKeys; the
//     group id as ssb-tribes computes it (unboxKey with the group key on one
//     slot, then CloakedMsgId, written with ssb-bfe's decode); unboxing in the
//     order ssb-box2's decrypt uses (group keys 1 slot deep, then self, DM and
//     P.O. Box keys 16 deep); content checked with private-group-spec's
//     validators. ssb-box2's recipient-count checks (none, more than 16) are
//     reproduced around envelope-js's box, which has none of its own.

const sodium = require('chloride')
const na = require('sodium-universal')
const BFE = require('ssb-bfe')

// --- randomness for private-box ------------------------------------------

const injected = { random: [], keypair: null }
const sodiumRandombytes = sodium.randombytes
const sodiumBoxKeypair = sodium.crypto_box_keypair
sodium.randombytes = function (buf) {
  if (injected.random.length > 0 && Buffer.isBuffer(buf)) {
    const next = injected.random.shift()
    if (next.length !== buf.length) throw new Error('private-box asked for ' + buf.length + ' random bytes, the harness gave ' + next.length)
    next.copy(buf)
    return buf
  }
  return sodiumRandombytes.apply(this, arguments)
}
sodium.crypto_box_keypair = function () {
  if (injected.keypair) {
    const k = injected.keypair
    injected.keypair = null
    return k
  }
  return sodiumBoxKeypair.apply(this, arguments)
}
delete require.cache[require.resolve('private-box')]
const pb = require('private-box')

const { box: envelopeBox, unboxKey, DeriveSecret, CloakedMsgId } = require('envelope-js')
const LABELS = require('envelope-spec/derive_secret/constants.json')
const { directMessageKey, poBoxKey, DHKeys } = require('ssb-private-group-keys')
const pgSpec = require('private-group-spec')

class OpError extends Error {
  constructor (kind, message) {
    super(message || kind)
    this.kind = kind
  }
}

function invalid (message) { return new OpError('invalid_args', message) }

function hexOf (v, name, length) {
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) throw invalid('`' + name + '` must be a hex string')
  const b = Buffer.from(v, 'hex')
  if (length != null && b.length !== length) throw invalid('`' + name + '` must be ' + length + ' bytes')
  return b
}

function hexArg (args, name, length) { return hexOf(args[name], name, length) }

function strArg (args, name) {
  if (typeof args[name] !== 'string') throw invalid('`' + name + '` must be a string')
  return args[name]
}

function hex (buf) { return Buffer.from(buf).toString('hex') }

function msg (err) { return err && err.message ? err.message : String(err) }

// ssb-db2 picks the encryption format by the content's suffix.
function contentArg (args, suffix) {
  const c = strArg(args, 'content')
  const other = suffix === '.box' ? '.box2' : '.box'
  if (!c.endsWith(suffix) || (suffix === '.box' && c.endsWith(other))) {
    throw new OpError('invalid_content', 'content does not end with ' + suffix)
  }
  return Buffer.from(c.slice(0, -suffix.length), 'base64')
}

function bfeArg (args, name) {
  const v = args[name]
  if (v !== null && typeof v !== 'string') throw invalid('`' + name + '` must be an id or null')
  try {
    return BFE.encode(v)
  } catch (err) {
    throw new OpError('invalid_context', name + ': ' + msg(err))
  }
}

function recipientsArg (args, name) {
  const list = args[name]
  if (!Array.isArray(list)) throw invalid('`' + name + '` must be a list of {key, scheme}')
  return list.map((r, i) => {
    if (r === null || typeof r !== 'object') throw invalid(name + '[' + i + '] must be {key, scheme}')
    if (typeof r.scheme !== 'string') throw invalid(name + '[' + i + '].scheme must be a string')
    return { key: hexOf(r.key, name + '[' + i + '].key', 32), scheme: r.scheme }
  })
}

// envelope-js signals its refusals by message (or envelope-spec error code).
function envelopeErrorKind (err) {
  const m = msg(err)
  if (err && err.code === 'boxEmptyPlainText') return 'empty_plaintext'
  if (err && err.code === 'boxZerodMsgKey') return 'zero_msg_key'
  if (/expected to have a scheme|zero length info buffer/.test(m)) return 'empty_label'
  if (/Unknown feed type/.test(m)) return 'unsupported_feed_format'
  if (err instanceof RangeError && /out of range/.test(m)) return 'label_too_long'
  return null
}

function rethrowEnvelope (err) {
  const kind = envelopeErrorKind(err)
  if (kind) throw new OpError(kind, msg(err))
  throw err
}

function keypairFromSeed (seed) {
  const pk = Buffer.alloc(32)
  const sk = Buffer.alloc(64)
  na.crypto_sign_seed_keypair(pk, sk, seed)
  return { public: pk, secret: sk }
}

// --- box1 --------------------------------------------------------------------

function box1Box (args) {
  const plaintext = hexArg(args, 'plaintext')
  if (!Array.isArray(args.recipients)) throw invalid('`recipients` must be a list')
  // ssb-keys' box: each feed key converted with chloride (null when it has no curve25519 form)
  const recps = args.recipients.map((r, i) => {
    const curve = sodium.crypto_sign_ed25519_pk_to_curve25519(hexOf(r, 'recipients[' + i + ']', 32))
    if (!curve) throw new OpError('invalid_recipient', 'recipient ' + i + ' has no curve25519 form')
    return curve
  })
  const ephSecret = hexArg(args, 'ephemeral_secret', 32)
  const ephPublic = Buffer.alloc(32)
  na.crypto_scalarmult_base(ephPublic, ephSecret)
  injected.random = [hexArg(args, 'nonce', 24), hexArg(args, 'body_key', 32)]
  injected.keypair = { publicKey: ephPublic, secretKey: ephSecret }
  let ct
  try {
    ct = pb.multibox(plaintext, recps)
  } catch (err) {
    if (/max recipients/.test(msg(err))) throw new OpError('too_many_recipients', msg(err))
    throw err
  } finally {
    const unused = injected.random.length + (injected.keypair ? 1 : 0)
    injected.random = []
    injected.keypair = null
    if (unused && ct) throw new Error('private-box did not draw the randomness the adapter expected')
  }
  return { content: ct.toString('base64') + '.box' }
}

function box1Unbox (args) {
  const ct = contentArg(args, '.box')
  const keys = keypairFromSeed(hexArg(args, 'seed', 32))
  const sk = sodium.crypto_sign_ed25519_sk_to_curve25519(keys.secret)
  let key
  try {
    key = pb.multibox_open_key(ct, sk)
  } catch (err) {
    // ssb-keys' unbox catches what private-box throws (a short ciphertext, a
    // low-order ephemeral key) and answers undefined: not for us
    key = null
  }
  if (!key) throw new OpError('not_recipient', 'no slot opens')
  let body
  try {
    body = pb.multibox_open_body(ct, key)
  } catch (err) {
    body = null
  }
  if (!body) throw new OpError('bad_body', 'a slot opened but the body does not')
  return { plaintext: hex(body) }
}

// --- box2 --------------------------------------------------------------------

const ZERO_NONCE = Buffer.alloc(24)

// envelope-js's unboxBody, with both authenticators checked.
function openBody (ct, derive, readKey, headerChecked) {
  const header = Buffer.alloc(16)
  const headerKey = derive(readKey, [LABELS.header_key])
  if (!na.crypto_secretbox_open_easy(header, ct.slice(0, 32), ZERO_NONCE, headerKey)) {
    if (!headerChecked) throw new OpError('not_recipient', 'the read key does not open the header')
    throw new Error('header opened by unboxKey does not open again')
  }
  const offset = header.readUInt16LE(0)
  const len = ct.length - offset - 16
  // unboxBody's Buffer.alloc throws a RangeError here
  if (len < 0) throw new OpError('bad_offset', 'offset ' + offset + ' leaves no room for the body')
  const body = Buffer.alloc(len)
  const bodyKey = derive(readKey, [LABELS.body_key])
  if (!na.crypto_secretbox_open_easy(body, ct.slice(offset), ZERO_NONCE, bodyKey)) {
    throw new OpError('bad_body', 'the body does not authenticate')
  }
  return body
}

function box2Box (args) {
  const plaintext = hexArg(args, 'plaintext')
  const feed = bfeArg(args, 'feed')
  const prev = bfeArg(args, 'previous')
  const msgKey = hexArg(args, 'msg_key', 32)
  const recps = recipientsArg(args, 'recipients')
  // ssb-box2's encrypt checks these before calling envelope-js
  if (recps.length === 0) throw new OpError('no_recipients', 'no box2 keys found for recipients')
  if (recps.length > 16) throw new OpError('too_many_recipients', 'private-group spec allows maximum 16 slots')
  let ct
  try {
    ct = envelopeBox(plaintext, feed, prev, msgKey, recps)
  } catch (err) {
    rethrowEnvelope(err)
  }
  return { content: ct.toString('base64') + '.box2' }
}

function maxAttemptsArg (args) {
  const n = args.max_attempts
  if (!Number.isInteger(n) || n < 0) throw invalid('`max_attempts` must be a non-negative integer')
  return n
}

function box2Unbox (args) {
  const feed = bfeArg(args, 'feed')
  const prev = bfeArg(args, 'previous')
  const ct = contentArg(args, '.box2')
  let derive
  try {
    derive = DeriveSecret(feed, prev)
  } catch (err) {
    rethrowEnvelope(err)
  }
  try {
    if (args.read_key !== undefined) {
      const readKey = hexArg(args, 'read_key', 32)
      return { plaintext: hex(openBody(ct, derive, readKey, false)), read_key: hex(readKey) }
    }
    const keys = recipientsArg(args, 'trial_keys')
    const readKey = unboxKey(ct, feed, prev, keys, { maxAttempts: maxAttemptsArg(args) })
    if (!readKey) throw new OpError('not_recipient', 'no slot opens the header')
    return { plaintext: hex(openBody(ct, derive, readKey, true)), read_key: hex(readKey) }
  } catch (err) {
    if (err instanceof OpError) throw err
    rethrowEnvelope(err)
  }
}

function box2DeriveSecret (args) {
  const feed = bfeArg(args, 'feed')
  const prev = bfeArg(args, 'previous')
  const key = hexArg(args, 'key', 32)
  if (!Array.isArray(args.labels) || !args.labels.every(l => typeof l === 'string')) {
    throw invalid('`labels` must be a list of strings')
  }
  try {
    return { secret: hex(DeriveSecret(feed, prev)(key, args.labels)) }
  } catch (err) {
    rethrowEnvelope(err)
  }
}

// --- groups ------------------------------------------------------------------

function feedDH (feedKey) {
  try {
    return new DHKeys({ public: feedKey }, { fromEd25519: true }).toBFE()
  } catch (err) {
    throw new OpError('invalid_feed_key', 'feed key has no curve25519 form: ' + msg(err))
  }
}

function myKeys (args) {
  const keys = keypairFromSeed(hexArg(args, 'my_seed', 32))
  const feedBFE = bfeArg(args, 'my_feed')
  if (!feedBFE.slice(2).equals(keys.public)) throw invalid('my_feed is not the feed of my_seed')
  return { dh: new DHKeys(keys, { fromEd25519: true }).toBFE(), id: feedBFE }
}

function keyJson (k) {
  return { key: hex(k.key), scheme: Buffer.from(k.scheme).toString('utf8') }
}

function lowOrder (fn) {
  try {
    return fn()
  } catch (err) {
    if (/failed to derive shared secret/.test(msg(err))) throw new OpError('low_order', msg(err))
    throw err
  }
}

function groupsDmKey (args) {
  const me = myKeys(args)
  const yourBFE = bfeArg(args, 'your_feed')
  const you = { dh: feedDH(yourBFE.slice(2)), id: yourBFE }
  return keyJson(lowOrder(() => directMessageKey(me.dh.secret, me.dh.public, me.id, you.dh.public, you.id)))
}

function groupsPoBoxKey (args) {
  const poBoxId = bfeArg(args, 'po_box_id')
  if (poBoxId.length !== 34 || poBoxId[0] !== 7 || poBoxId[1] !== 0) throw new OpError('invalid_id', 'not a P.O. Box id')
  const poBoxPublic = Buffer.concat([Buffer.from([3, 1]), poBoxId.slice(2)])
  if (args.po_box_secret !== undefined) {
    const secret = Buffer.concat([Buffer.from([3, 1]), hexArg(args, 'po_box_secret', 32)])
    const authorBFE = bfeArg(args, 'author_feed')
    const author = feedDH(authorBFE.slice(2))
    return keyJson(lowOrder(() => poBoxKey(secret, poBoxPublic, poBoxId, author.public, authorBFE)))
  }
  const me = myKeys(args)
  return keyJson(lowOrder(() => poBoxKey(me.dh.secret, me.dh.public, me.id, poBoxPublic, poBoxId)))
}

const GROUP_SCHEME = pgSpec.keySchemes.private_group

function groupsGroupId (args) {
  const init = args.init
  if (init === null || typeof init !== 'object') throw invalid('`init` must be {key, author, previous, content}')
  const groupKey = hexArg(args, 'group_key', 32)
  const feed = bfeArg(init, 'author')
  const prev = bfeArg(init, 'previous')
  const ct = contentArg(init, '.box2')
  const readKey = unboxKey(ct, feed, prev, [{ key: groupKey, scheme: GROUP_SCHEME }], { maxAttempts: 1 })
  if (!readKey) throw new OpError('not_recipient', 'the group key does not open the first slot')
  const cloaked = new CloakedMsgId(bfeArg(init, 'key'), readKey).toBuffer()
  return { group_id: BFE.decode(Buffer.concat([Buffer.from([7, 1]), cloaked])) }
}

function groupsCloakedId (args) {
  const cloaked = new CloakedMsgId(bfeArg(args, 'msg_id'), hexArg(args, 'read_key', 32)).toBuffer()
  return { cloaked: hex(cloaked), group_id: BFE.decode(Buffer.concat([Buffer.from([7, 1]), cloaked])) }
}

const SCHEME_ORDER = [pgSpec.keySchemes.feed_id_self, pgSpec.keySchemes.feed_id_dm, pgSpec.keySchemes.po_box]

function groupsUnbox (args) {
  const feed = bfeArg(args, 'author')
  const prev = bfeArg(args, 'previous')
  const ct = contentArg(args, '.box2')
  const keys = recipientsArg(args, 'trial_keys')
  const group = keys.filter(k => k.scheme === GROUP_SCHEME)
  const rest = SCHEME_ORDER.map(s => keys.filter(k => k.scheme === s))
  rest.push(keys.filter(k => k.scheme !== GROUP_SCHEME && !SCHEME_ORDER.includes(k.scheme)))
  const derive = DeriveSecret(feed, prev)
  let readKey = group.length ? unboxKey(ct, feed, prev, group, { maxAttempts: 1 }) : null
  for (const ks of rest) {
    if (readKey) break
    if (ks.length) readKey = unboxKey(ct, feed, prev, ks, { maxAttempts: 16 })
  }
  if (!readKey) throw new OpError('not_recipient', 'no key opens the message')
  return { plaintext: hex(openBody(ct, derive, readKey, true)) }
}

const VALIDATORS = {
  init_root: pgSpec.validator.group.initRoot,
  add_member: pgSpec.validator.group.addMember,
  content: pgSpec.validator.group.content
}

function groupsValidate (args) {
  const v = Object.prototype.hasOwnProperty.call(VALIDATORS, args.schema) ? VALIDATORS[args.schema] : null
  if (!v) throw invalid('unknown schema ' + JSON.stringify(args.schema))
  if (!('content' in args)) throw invalid('`content` missing')
  if (!v(args.content)) throw new OpError('schema_mismatch', v.errorsString || 'invalid')
  return { valid: true }
}

const OPS = {
  'box1.box': box1Box,
  'box1.unbox': box1Unbox,
  'box2.box': box2Box,
  'box2.unbox': box2Unbox,
  'box2.derive_secret': box2DeriveSecret,
  'groups.dm_key': groupsDmKey,
  'groups.po_box_key': groupsPoBoxKey,
  'groups.group_id': groupsGroupId,
  'groups.cloaked_id': groupsCloakedId,
  'groups.unbox': groupsUnbox,
  'groups.validate': groupsValidate
}

const PACKAGES = ['private-box', 'envelope-js', 'ssb-private-group-keys', 'private-group-spec']

module.exports = { OPS, OpError, PACKAGES }
