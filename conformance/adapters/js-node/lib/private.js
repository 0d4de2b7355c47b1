'use strict'
// Private messages for peer.js: box2 (envelope) to a group key, and box1
// (private-box), published on the peer's own feed and read back from its store.
//
// The cryptography is the reference packages':
//   - box2: envelope-js 1.3.2 `box` / `unboxKey` / `CloakedMsgId`, with ssb-bfe
//     3.7.0 for the context (author feed id, previous message id; nil previous
//     for a feed's first message). envelope-js's `unboxBody` ignores the result of
//     both crypto_secretbox_open_easy calls (a tampered body comes back as zero
//     bytes), so the body is opened here as `unboxBody` does it, with both
//     authenticators checked (as conformance/adapters/js/private.js does).
//   - box1: ssb-keys 8.5.0 `unbox` (private-box 0.3.1 with the peer's own key
//     converted to curve25519). Publishing box1 goes through the stack's own
//     path: ssb-db2's `create` with `content.recps` and encryptionFormat `box`
//     (ssb-box 1.0.1 → private-box); on the classic stack ssb-keys `box` and a
//     publish of the string (ssb-db 20 has no boxer without ssb-private1).
//
// ssb-db2 6 itself loads ssb-box and ssb-box2 (its `index.js` lists them), so it
// decrypts what it can while indexing: box1 to this peer's key, and box2 for
// group keys given to `ssb.box2.addGroupInfo` (`addGroup` below). `getMsg` then
// answers the *decrypted* message, with the ciphertext in `meta.originalContent`.
// The `unbox*` commands therefore read the ciphertext from there when it is set,
// and report what ssb-db2 made of the message beside their own result (`db2`).

const crypto = require('crypto')
const sodium = require('sodium-native')
const BFE = require('ssb-bfe')
const ssbKeys = require('ssb-keys')
const { box: envelopeBox, unboxKey, DeriveSecret, CloakedMsgId } = require('envelope-js')
const LABELS = require('envelope-spec/derive_secret/constants.json')

// private-group-spec's keySchemes.private_group
const GROUP_SCHEME = 'envelope-large-symmetric-group'
const ZERO_NONCE = Buffer.alloc(24)

function b64Key (s, name) {
  if (typeof s !== 'string') throw new Error('`' + name + '` must be base64 of 32 bytes')
  const b = Buffer.from(s, 'base64')
  if (b.length !== 32 || b.toString('base64') !== s) throw new Error('`' + name + '` must be canonical base64 of 32 bytes')
  return b
}

// envelope-js's unboxBody, with both authenticators checked.
function openBody (ct, derive, readKey) {
  const header = Buffer.alloc(16)
  const headerKey = derive(readKey, [LABELS.header_key])
  if (!sodium.crypto_secretbox_open_easy(header, ct.subarray(0, 32), ZERO_NONCE, headerKey)) {
    throw new Error('the header found by unboxKey does not open again')
  }
  const offset = header.readUInt16LE(0)
  const len = ct.length - offset - 16
  if (offset < 32 || len < 0) throw new Error('bad header offset ' + offset)
  const body = Buffer.alloc(len)
  const bodyKey = derive(readKey, [LABELS.body_key])
  if (!sodium.crypto_secretbox_open_easy(body, ct.subarray(offset), ZERO_NONCE, bodyKey)) {
    throw new Error('the body does not authenticate')
  }
  return body
}

function parseJson (buf) {
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) }
  } catch (e) {
    return { ok: false, error: 'plaintext is not JSON: ' + e.message }
  }
}

module.exports = function makePrivate ({ peer, sbot, keys }) {
  const isDb2 = peer.name === 'db2'

  // The latest message id of our own feed (null before the first message).
  function ownLatest (cb) {
    // db2: from its in-memory feed state; ssb-db 20: the same compat call
    sbot.getFeedState(sbot.id, (err, st) => {
      if (err) return cb(err)
      cb(null, { seq: (st && st.sequence) || 0, key: (st && st.id) || null })
    })
  }

  // Appends `content` (an object, or an already encrypted string) as is; answers the kvt.
  function create (content, encryptionFormat, cb) {
    if (isDb2) {
      const opts = { content, keys, feedFormat: 'classic', encoding: 'js' }
      if (encryptionFormat) opts.encryptionFormat = encryptionFormat
      sbot.db.create(opts, cb)
    } else if (encryptionFormat === 'box') {
      // ssb-db 20 boxes content with `recps` only through a registered boxer
      // (ssb-private1), which ssb-server 16 does not load: box it with ssb-keys.
      const recps = content.recps.map((r) => ({ public: String(r).replace(/^@/, '') }))
      let text
      try {
        text = ssbKeys.box(content, recps)
      } catch (err) {
        return cb(err)
      }
      sbot.publish(text, cb)
    } else {
      sbot.publish(content, cb)
    }
  }

  // {key, value, meta?} of a stored message; retries for 3 s, indexes trail the log.
  function getStored (id, cb) {
    if (typeof id !== 'string' || !/^%[A-Za-z0-9+/]{43}=\.sha256$/.test(id)) return cb(new Error('msg must be a %….sha256 message id'))
    const t0 = Date.now()
    ;(function attempt () {
      const done = (err, kvt) => {
        if (!err && kvt) return cb(null, kvt)
        if (Date.now() - t0 > 3000) return cb(err || new Error('not found: ' + id))
        setTimeout(attempt, 50)
      }
      if (isDb2) sbot.db.getMsg(id, done)
      else sbot.get({ id, meta: true, private: false }, done)
    })()
  }

  // The ciphertext string of a stored message, and what the stack itself decrypted.
  function cipherOf (kvt) {
    const meta = kvt.meta || {}
    const content = meta.private ? meta.originalContent : kvt.value.content
    const db2 = isDb2
      ? { decrypted: !!meta.private, content: meta.private ? kvt.value.content : null, format: meta.encryptionFormat || null }
      : undefined
    return { content, db2 }
  }

  // The answer of a publish, after checking the message was boxed for the
  // previous it went out with. `content` is the ciphertext string as stored and replicated.
  function published (kvt, previous, cb) {
    const value = kvt.value
    if (value.previous !== previous) {
      return cb(new Error('published with previous ' + value.previous + ', boxed with ' + previous + ' (a concurrent publish?)'))
    }
    const content = kvt.meta && kvt.meta.private ? kvt.meta.originalContent : value.content
    cb(null, { key: kvt.key, seq: value.sequence, ts: value.timestamp, previous: value.previous, content })
  }

  return {
    // {groupKey, content} → box2 to the group key (slot 0) with envelope-js;
    // {groupId, content, via:'ssb-db2'} → ssb-db2's own create (ssb-box2, the
    // group registered with addGroup; recps = [groupId] goes into the content).
    publishBox2 (c, cb) {
      if (c.content === null || typeof c.content !== 'object' || Array.isArray(c.content)) return cb(new Error('content must be a JSON object'))
      if (c.via === 'ssb-db2') {
        if (!isDb2) return cb(new Error('via ssb-db2 needs the db2 stack'))
        if (typeof c.groupId !== 'string') return cb(new Error('groupId must be a group id'))
        const content = Object.assign({}, c.content)
        if (!content.recps) content.recps = [c.groupId]
        return ownLatest((err, latest) => {
          if (err) return cb(err)
          create(content, 'box2', (err, kvt) => {
            if (err) return cb(err)
            published(kvt, latest.key, cb)
          })
        })
      }
      let groupKey
      try {
        groupKey = b64Key(c.groupKey, 'groupKey')
      } catch (err) {
        return cb(err)
      }
      ownLatest((err, latest) => {
        if (err) return cb(err)
        let text
        try {
          const plaintext = Buffer.from(JSON.stringify(c.content), 'utf8')
          const msgKey = crypto.randomBytes(32)
          const ct = envelopeBox(plaintext, BFE.encode(sbot.id), BFE.encode(latest.key), msgKey, [{ key: groupKey, scheme: GROUP_SCHEME }])
          text = ct.toString('base64') + '.box2'
        } catch (err) {
          return cb(err)
        }
        create(text, null, (err, kvt) => {
          if (err) return cb(err)
          published(kvt, latest.key, cb)
        })
      })
    },

    // {msg, groupKey} → {read:true, content, plaintext, cloakedId, db2} or {read:false, reason, db2}
    // (`plaintext`: the opened bytes as UTF-8 text, `content` parsed from them)
    unboxBox2 (c, cb) {
      let groupKey
      try {
        groupKey = b64Key(c.groupKey, 'groupKey')
      } catch (err) {
        return cb(err)
      }
      getStored(c.msg, (err, kvt) => {
        if (err) return cb(err)
        const { content, db2 } = cipherOf(kvt)
        if (typeof content !== 'string' || !content.endsWith('.box2')) return cb(null, { read: false, reason: 'content is not <base64>.box2', db2 })
        const ct = Buffer.from(content.slice(0, -5), 'base64')
        const feed = BFE.encode(kvt.value.author)
        const prev = BFE.encode(kvt.value.previous)
        // group keys are tried on the first slot only (private-group spec, ssb-box2)
        const readKey = unboxKey(ct, feed, prev, [{ key: groupKey, scheme: GROUP_SCHEME }], { maxAttempts: 1 })
        if (!readKey) return cb(null, { read: false, reason: 'the group key opens no slot', db2 })
        let body
        try {
          body = openBody(ct, DeriveSecret(feed, prev), readKey)
        } catch (err) {
          return cb(null, { read: false, reason: err.message, db2 })
        }
        const parsed = parseJson(body)
        if (!parsed.ok) return cb(null, { read: false, reason: parsed.error, db2 })
        // what the group id would be if this were the group's init message
        const cloaked = new CloakedMsgId(BFE.encode(kvt.key), readKey).toBuffer()
        const cloakedId = BFE.decode(Buffer.concat([Buffer.from([7, 1]), cloaked]))
        cb(null, { read: true, content: parsed.value, plaintext: body.toString('utf8'), cloakedId, db2 })
      })
    },

    // {content, recps:[feed ids]} → private-box through the stack's own publish
    // (`recps` goes into the content, as SSB private messages carry it).
    publishBox1 (c, cb) {
      if (c.content === null || typeof c.content !== 'object' || Array.isArray(c.content)) return cb(new Error('content must be a JSON object'))
      if (!Array.isArray(c.recps) || c.recps.length === 0 || !c.recps.every((r) => typeof r === 'string' && /^@[A-Za-z0-9+/]{43}=\.ed25519$/.test(r))) {
        return cb(new Error('recps must be a non-empty list of @….ed25519 feed ids'))
      }
      const content = Object.assign({}, c.content, { recps: c.recps })
      ownLatest((err, latest) => {
        if (err) return cb(err)
        create(content, 'box', (err, kvt) => {
          if (err) return cb(err)
          published(kvt, latest.key, cb)
        })
      })
    },

    // {msg} → {read:true, content, db2} or {read:false, reason, db2}, with this peer's keys
    unboxBox1 (c, cb) {
      getStored(c.msg, (err, kvt) => {
        if (err) return cb(err)
        const { content, db2 } = cipherOf(kvt)
        if (typeof content !== 'string' || !content.endsWith('.box') || content.endsWith('.box2')) {
          return cb(null, { read: false, reason: 'content is not <base64>.box', db2 })
        }
        const plain = ssbKeys.unbox(content, keys)
        if (plain === undefined || plain === null) return cb(null, { read: false, reason: 'no slot opens (ssb-keys.unbox)', db2 })
        cb(null, { read: true, content: plain, db2 })
      })
    },

    // {groupId, groupKey} → ssb-db2 (ssb-box2's keyring) learns the group, then
    // re-reads stored messages it could not decrypt before.
    addGroup (c, cb) {
      if (!isDb2) return cb(new Error('addGroup needs the db2 stack'))
      let groupKey
      try {
        groupKey = b64Key(c.groupKey, 'groupKey')
      } catch (err) {
        return cb(err)
      }
      if (typeof c.groupId !== 'string') return cb(new Error('groupId must be a group id'))
      sbot.box2.addGroupInfo(c.groupId, { key: groupKey })
      // addGroupInfo answers nothing (errors go to console.error): check it took.
      sbot.box2.getGroupKeyInfo(c.groupId, (err, info) => {
        if (err) return cb(err)
        if (!info || !Buffer.from(info.key).equals(groupKey)) return cb(new Error('ssb-box2 did not register the group ' + c.groupId))
        sbot.db.reindexEncrypted((err) => {
          if (err) return cb(err)
          sbot.box2.listGroupIds((err, ids) => cb(err, { groups: ids }))
        })
      })
    }
  }
}
