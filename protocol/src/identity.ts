import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import nacl from 'tweetnacl'
import { z } from 'zod'
import { canonicalBytes } from './canonical.ts'
import { logger } from '@libp2p/logger'
import { InvalidKeyFileError, InvalidSignatureError } from './errors.ts'

const log = logger('autoresearch:protocol:identity')

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export const PublicKeyHex = z.string().regex(/^[0-9a-f]{64}$/, 'an ed25519 public key as 64 lowercase hex digits')
export const SignatureHex = z.string().regex(/^[0-9a-f]{128}$/, 'an ed25519 signature as 128 lowercase hex digits')

const KeyFileSchema = z.object({
  type: z.literal('ed25519'),
  publicKey: PublicKeyHex,
  secretKey: z.string().regex(/^[0-9a-f]{128}$/)
}).strict()

/**
 * An ed25519 identity. Keys are tweetnacl key pairs (seed + public key); signing
 * and verification go through node's built-in ed25519, which makes identical
 * signatures about 100x faster (see docs/dependencies.md).
 */
export class Identity {
  readonly publicKey: string
  readonly #secretKey: Uint8Array
  readonly #privateKeyObject: KeyObject

  private constructor (secretKey: Uint8Array) {
    this.#secretKey = secretKey
    this.publicKey = Buffer.from(secretKey.subarray(32)).toString('hex')
    this.#privateKeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  }

  static generate (): Identity {
    return new Identity(nacl.sign.keyPair().secretKey)
  }

  static fromSeed (seed: Uint8Array): Identity {
    return new Identity(nacl.sign.keyPair.fromSeed(seed).secretKey)
  }

  /** The 32-byte seed, used to derive the libp2p peer key from the same identity. */
  get seed (): Uint8Array {
    return this.#secretKey.slice(0, 32)
  }

  /** Loads the key file, creating it with mode 0600 when it does not exist yet. */
  static loadOrCreate (path: string): { identity: Identity, created: boolean } {
    if (existsSync(path)) return { identity: Identity.load(path), created: false }
    const identity = Identity.generate()
    identity.save(path)
    return { identity, created: true }
  }

  static load (path: string): Identity {
    const mode = statSync(path).mode & 0o777
    if ((mode & 0o077) !== 0) {
      throw new InvalidKeyFileError(`key file ${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`)
    }
    let parsed: z.infer<typeof KeyFileSchema>
    try {
      parsed = KeyFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
    } catch (err) {
      throw new InvalidKeyFileError(`key file ${path} is not a valid autoresearch key: ${(err as Error).message}`, { cause: err })
    }
    const identity = new Identity(Buffer.from(parsed.secretKey, 'hex'))
    if (identity.publicKey !== parsed.publicKey) throw new InvalidKeyFileError(`key file ${path} has a public key that does not match its secret key`)
    return identity
  }

  save (path: string): void {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    const body = { type: 'ed25519', publicKey: this.publicKey, secretKey: Buffer.from(this.#secretKey).toString('hex') }
    // 'wx' never overwrites an existing identity; mode 0600 from the first byte written.
    writeFileSync(path, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  }

  sign (domain: SignatureDomain, body: unknown): string {
    return nodeSign(null, signedBytes(domain, body), this.#privateKeyObject).toString('hex')
  }
}

/** Every signature names what it signs, so a receipt can never pass for a submission. */
export type SignatureDomain = 'submission' | 'receipt' | 'lease-request' | 'attestation' | 'announcement' | 'experiment-reports' | 'claim' | 'hypotheses'

function signedBytes (domain: SignatureDomain, body: unknown): Buffer {
  return Buffer.concat([Buffer.from(`autoresearch/v1/${domain}\0`), canonicalBytes(body)])
}

const publicKeyObjects = new Map<string, KeyObject>()

function publicKeyObject (publicKeyHex: string): KeyObject {
  let key = publicKeyObjects.get(publicKeyHex)
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]), format: 'der', type: 'spki' })
    if (publicKeyObjects.size > 10_000) publicKeyObjects.clear()
    publicKeyObjects.set(publicKeyHex, key)
  }
  return key
}

export function verifySignature (domain: SignatureDomain, body: unknown, signatureHex: string, publicKeyHex: string): boolean {
  if (!PublicKeyHex.safeParse(publicKeyHex).success || !SignatureHex.safeParse(signatureHex).success) return false
  try {
    return nodeVerify(null, signedBytes(domain, body), publicKeyObject(publicKeyHex), Buffer.from(signatureHex, 'hex'))
  } catch (err) {
    log('a signature could not be checked: %e', err)
    return false
  }
}

/** Throws InvalidSignatureError unless `signature` is `publicKey`'s signature of `body` in `domain`. */
export function assertSignature (domain: SignatureDomain, body: unknown, signatureHex: string, publicKeyHex: string): void {
  if (!verifySignature(domain, body, signatureHex, publicKeyHex)) {
    throw new InvalidSignatureError(`the ${domain} signature does not verify against key ${publicKeyHex.slice(0, 16)}…`)
  }
}
