'use strict'
// Identity for the peer: an ssb-keys style object made from a 32-byte ed25519
// seed (hex), or read from an ssb-keys secret file.

const fs = require('fs')
const sodium = require('sodium-native')

function fromSeedHex (hex) {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error('--seed must be 64 hex characters (a 32-byte ed25519 seed)')
  }
  const seed = Buffer.from(hex, 'hex')
  const pk = Buffer.alloc(sodium.crypto_sign_PUBLICKEYBYTES)
  const sk = Buffer.alloc(sodium.crypto_sign_SECRETKEYBYTES) // 64 bytes: seed || pk
  sodium.crypto_sign_seed_keypair(pk, sk, seed)
  const pub = pk.toString('base64') + '.ed25519'
  return {
    curve: 'ed25519',
    public: pub,
    private: sk.toString('base64') + '.ed25519',
    id: '@' + pub
  }
}

// An ssb-keys secret file is JSON with '#' comment lines around it.
function fromFile (file) {
  const text = fs.readFileSync(file, 'utf8')
  const json = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
  const k = JSON.parse(json)
  if (!k.public || !k.private) throw new Error('keys file lacks public/private: ' + file)
  const curve = k.curve || 'ed25519'
  const pub = /\./.test(k.public) ? k.public : k.public + '.' + curve
  const priv = /\./.test(k.private) ? k.private : k.private + '.' + curve
  return { curve, public: pub, private: priv, id: k.id || '@' + pub }
}

// "@abc=.ed25519" -> "abc=" (the base64 public key), as the shs part of a
// multiserver address wants it.
function feedToB64 (feed) {
  const m = /^@([A-Za-z0-9+/]{43}=)\.ed25519$/.exec(feed)
  if (!m) throw new Error('not an ed25519 feed id: ' + feed)
  return m[1]
}

module.exports = { fromSeedHex, fromFile, feedToB64 }
