#!/usr/bin/env node
'use strict'
// The adapter's handshake code (adapter.js clientHandshake/serverHandshake, i.e.
// secret-handshake's step functions with a given ephemeral scalar) as an
// executable for the shs1-test suite, which checks it against its own
// implementation (shs1-crypto) including misbehaving peers:
//
//   npx shs1testserver ./shs1-exe.js [seed]   -> run with NET SERVER_SK SERVER_PK
//   npx shs1testclient ./shs1-exe.js [seed]   -> run with NET SERVER_PK
//
// Messages are raw bytes on stdin/stdout; the outcome written at the end is
// encrypt_key ‖ encrypt_nonce ‖ decrypt_key ‖ decrypt_nonce (112 bytes). On a bad
// peer message: exit 1 without writing anything more.

const crypto = require('crypto')
const { clientHandshake, serverHandshake } = require('./adapter')

function die (msg) {
  process.stderr.write('shs1-exe: ' + msg + '\n')
  process.exit(1)
}

// exact-length reads from stdin
const chunks = []
let buffered = 0
let eof = false
let wake = null
process.stdin.on('data', d => { chunks.push(d); buffered += d.length; if (wake) wake() })
process.stdin.on('end', () => { eof = true; if (wake) wake() })
async function readExactly (n) {
  while (buffered < n) {
    if (eof) die('stdin ended with ' + buffered + ' of ' + n + ' bytes')
    await new Promise(resolve => { wake = resolve })
    wake = null
  }
  const all = Buffer.concat(chunks)
  chunks.length = 0
  if (all.length > n) chunks.push(all.subarray(n))
  buffered = all.length - n
  return all.subarray(0, n)
}

const LENGTHS = { msg1: 64, msg2: 64, msg3: 112, msg4: 80 }
const io = {
  read: (index, name) => readExactly(LENGTHS[name]),
  write: buf => { process.stdout.write(buf) }
}

function writeOutcome (o) {
  const out = Buffer.concat([o.encrypt_key, o.encrypt_nonce, o.decrypt_key, o.decrypt_nonce].map(h => Buffer.from(h, 'hex')))
  process.stdout.write(out, () => process.exit(0))
}

async function main () {
  const args = process.argv.slice(2).map(h => Buffer.from(h, 'hex'))
  const ephemeral = crypto.randomBytes(32)
  let result
  if (args.length === 3) {
    const [networkKey, serverSk] = args
    result = await serverHandshake({
      networkKey, seed: serverSk.subarray(0, 32), ephemeral, accept: () => true
    }, io)
  } else if (args.length === 2) {
    const [networkKey, serverPublic] = args
    result = await clientHandshake({
      networkKey, seed: crypto.randomBytes(32), ephemeral, serverPublic
    }, io)
  } else {
    die('usage: shs1-exe.js NET SERVER_SK SERVER_PK (server) | NET SERVER_PK (client)')
  }
  writeOutcome(result)
}

main().catch(err => die((err.kind ? err.kind + ': ' : '') + (err.message || err)))
