import { describe, expect, it } from 'vitest'
import { Identity } from '@autoresearch/protocol'
import { agentEnvironment, assertNoLeaks, environmentSecrets, findLeaks, identitySecrets, looksSecretName, programPaths } from '../src/index.ts'

const identity = Identity.fromSeed(new Uint8Array(32).map((_, i) => i * 7 + 1))
const seed = Buffer.from(identity.seed)
const keyFile = JSON.stringify({ type: 'ed25519', publicKey: identity.publicKey, secretKey: seed.toString('hex') + identity.publicKey })
const API_KEY = 'sk-test-4f9a8b7c6d5e4f3a2b1c'
const secrets = [...identitySecrets(identity.seed), ...environmentSecrets({ OPENAI_API_KEY: API_KEY, HOME: '/home/volunteer', PWD: '/home/volunteer/src' })]
const train = 'LEARNING_RATE = 0.01\n'

describe('the scan for the volunteer\'s secrets in a candidate', () => {
  it.each([
    ['the key file as it is stored', keyFile],
    ['the key in upper-case hex', seed.toString('hex').toUpperCase()],
    ['the key in base64', Buffer.concat([seed, Buffer.from(identity.publicKey, 'hex')]).toString('base64')],
    ['the key in base64url, one byte into a longer blob', Buffer.concat([Buffer.from([9]), seed]).toString('base64url')],
    ['the key in base64, two bytes into a longer blob', Buffer.concat([Buffer.from([9, 9]), seed]).toString('base64')]
  ])('finds %s', (_, leaked) => {
    expect(findLeaks([{ path: 'train.py', before: train, after: `${train}# ${leaked}\n` }], secrets)).toEqual([{ label: 'your identity key', path: 'train.py' }])
  })

  it('names the variable of a leaked API key and never prints its value', () => {
    const changes = [{ path: 'train.py', before: train, after: `${train}KEY = "${API_KEY}"\n` }, { path: 'the description', after: `copied ${API_KEY}` }]
    let message = ''
    try { assertNoLeaks('c'.repeat(40), changes, secrets) } catch (err) { expect((err as Error).name).toBe('SecretLeakError'); message = (err as Error).message }
    expect(message).toContain('$OPENAI_API_KEY in train.py')
    expect(message).toContain('$OPENAI_API_KEY in the description')
    expect(message).not.toContain(API_KEY)
  })

  it('counts only what the candidate adds: a value already in the parent, or in an unchanged amount, is no leak', () => {
    const parent = `${train}# ${API_KEY}\n`
    expect(findLeaks([{ path: 'train.py', before: parent, after: `${parent}X = 1\n` }], secrets)).toEqual([])
    expect(findLeaks([{ path: 'train.py', before: parent, after: `${parent}# ${API_KEY}\n` }], secrets)).toHaveLength(1)
    expect(findLeaks([{ path: 'new.py', after: `"${API_KEY}"` }], secrets)).toEqual([{ label: '$OPENAI_API_KEY', path: 'new.py' }])
  })

  it('treats as secret what is named so or configured, and skips short and common values', () => {
    expect(['OPENAI_API_KEY', 'HF_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'DB_PASSWORD', 'GOOGLE_APPLICATION_CREDENTIALS'].every(looksSecretName)).toBe(true)
    expect(['TOKENIZERS_PARALLELISM', 'KEYBOARD', 'PWD', 'HOME', 'PATH'].some(looksSecretName)).toBe(false)
    const env = { GITHUB_TOKEN: 'ghp_abcdefgh12345678', SHORT_KEY: 'abc', FLAG_TOKEN: 'disabled', SAME_KEY: 'xxxxxxxxxxxx', MY_LLM: 'llm-secret-value-1', HOME: '/root/home/x' }
    expect(environmentSecrets(env, ['MY_LLM']).map((s) => s.label).sort()).toEqual(['$GITHUB_TOKEN', '$MY_LLM'])
  })
})

describe('the command agent\'s environment', () => {
  it('passes the base allowlist and only the variables the volunteer names', () => {
    const env = { PATH: '/usr/bin', LANG: 'C.UTF-8', HOME: '/root', OPENAI_API_KEY: API_KEY, SSH_AUTH_SOCK: '/run/agent', ANTHROPIC_API_KEY: 'a-key-value-123' }
    expect(agentEnvironment(env)).toEqual({ PATH: '/usr/bin', LANG: 'C.UTF-8' })
    expect(agentEnvironment(env, ['ANTHROPIC_API_KEY', 'MISSING'])).toEqual({ PATH: '/usr/bin', LANG: 'C.UTF-8', ANTHROPIC_API_KEY: 'a-key-value-123' })
    expect(agentEnvironment({}).PATH).toMatch(/\/usr\/bin/)
  })

  it('exposes the agent program found on PATH or by its path, and nothing when it is not found', () => {
    expect(programPaths('sh -c true', '/usr/bin:/bin')[0]).toMatch(/\/(usr\/)?bin\/sh$/)
    expect(programPaths('/no/such/agent --flag')).toEqual([])
    expect(programPaths('   ')).toEqual([])
  })
})
