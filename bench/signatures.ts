import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import nacl from 'tweetnacl'

const PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI = Buffer.from('302a300506032b6570032100', 'hex')

/** Operations per second of `fn`, run for about `ms` (bounded by `max` calls). */
function rate (fn: () => void, ms = 1500, max = 1_000_000): number {
  const start = performance.now()
  let n = 0
  while (performance.now() - start < ms && n < max) { fn(); n++ }
  return n / ((performance.now() - start) / 1000)
}

/** tweetnacl against node's built-in ed25519 on the same keys and message (a submission-sized body). */
export async function run (): Promise<Record<string, unknown>> {
  const pair = nacl.sign.keyPair()
  const message = Buffer.alloc(600, 7)
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8, pair.secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI, pair.publicKey]), format: 'der', type: 'spki' })
  const naclSig = nacl.sign.detached(message, pair.secretKey)
  const nodeSig = sign(null, message, privateKey)
  if (!Buffer.from(naclSig).equals(nodeSig)) throw new Error('tweetnacl and node produced different signatures')
  const figures = {
    tweetnaclSignPerSec: rate(() => nacl.sign.detached(message, pair.secretKey)),
    tweetnaclVerifyPerSec: rate(() => nacl.sign.detached.verify(message, naclSig, pair.publicKey)),
    nodeSignPerSec: rate(() => sign(null, message, privateKey)),
    nodeVerifyPerSec: rate(() => verify(null, message, publicKey, nodeSig))
  }
  return {
    ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v)])),
    identicalSignatures: true,
    verifySpeedupNodeOverTweetnacl: Number((figures.nodeVerifyPerSec / figures.tweetnaclVerifyPerSec).toFixed(1)),
    signSpeedupNodeOverTweetnacl: Number((figures.nodeSignPerSec / figures.tweetnaclSignPerSec).toFixed(1))
  }
}
