import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseManifestText } from '@autoresearch/protocol'
import { AGENT_TEMPLATES, commandAgent, type AgentContext, type AgentTemplateName } from 'autoresearch-worker'
import { ROOT } from './processes.ts'

const TOY = join(ROOT, 'examples', 'toy-regression')
/** Fake CLIs that check their arguments and environment the way the real agents refuse bad ones. */
const FAKES = join(ROOT, 'tests', 'fixtures', 'fake-agents')
const manifest = parseManifestText(readFileSync(join(TOY, 'autoresearch.json'), 'utf8'))
const train = readFileSync(join(TOY, 'train.py'), 'utf8')
const KEYS = { ANTHROPIC_API_KEY: 'sk-ant-fake-0123456789', OPENAI_API_KEY: 'sk-fake-0123456789' }

function context (program = '# program'): AgentContext {
  return {
    manifest, program, files: { 'train.py': train }, recent: [],
    checkout: async (dir) => { cpSync(TOY, dir, { recursive: true }) }
  }
}

/** The template as the CLI builds it (cli.ts): its command, stdin and variables; the fakes first on PATH and readable in the sandbox. */
const agentOf = (name: AgentTemplateName, env: Record<string, string>, command?: string) => {
  const t = AGENT_TEMPLATES[name]
  return commandAgent({ command: command ?? t.command, stdin: t.stdin, passEnv: [...t.env], expose: [FAKES], env: { PATH: `${FAKES}:${process.env.PATH ?? ''}`, ...env }, warn: () => {} })
}

describe('templates for the common CLI agents (issue 15, point 5)', () => {
  it.each(Object.keys(AGENT_TEMPLATES) as AgentTemplateName[])('%s: the template runs the agent so that it edits, and its edit and description come back', async (name) => {
    const proposal = await agentOf(name, KEYS).propose(context())
    expect(proposal?.edits['train.py']).toBe(train.replace('LEARNING_RATE = 0.01 ', 'LEARNING_RATE = 0.02 '))
    expect(proposal?.description).toBe(`${name} raised the learning rate (run 1)`)
  })

  it('without its API key the agent fails as the real one does, with its own message', async () => {
    await expect(agentOf('claude', {}).propose(context())).rejects.toMatchObject({ name: 'AgentCommandError', message: expect.stringMatching(/Invalid API key/) })
    await expect(agentOf('codex', {}).propose(context())).rejects.toMatchObject({ name: 'AgentCommandError', message: expect.stringMatching(/Missing environment variable: OPENAI_API_KEY/) })
  })

  it('the flags matter: without them the agents refuse or edit nothing', async () => {
    await expect(agentOf('codex', KEYS, 'codex exec --sandbox workspace-write').propose(context())).rejects.toMatchObject({ message: expect.stringMatching(/--skip-git-repo-check was not specified/) })
    expect(await agentOf('claude', KEYS, 'claude -p').propose(context())).toBeNull()
  })

  it('an agent that stops without an edit is run again in the same work tree, told to go on', async () => {
    const proposal = await agentOf('claude', KEYS).propose(context('# program\nFAKE-AGENT: stop early once\n'))
    expect(proposal?.description).toBe('claude raised the learning rate (run 2)')
    const once = commandAgent({ command: AGENT_TEMPLATES.claude.command, stdin: false, passEnv: ['ANTHROPIC_API_KEY'], expose: [FAKES], env: { PATH: `${FAKES}:${process.env.PATH ?? ''}`, ...KEYS }, reinvoke: 0, warn: () => {} })
    expect(await once.propose(context('# program\nFAKE-AGENT: stop early once\n'))).toBeNull()
  })

  it('the prompt reaches the agent as one argument, never as shell text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-fake-'))
    const script = join(dir, 'echo-agent')
    // It edits only when its last argument holds the hostile text as it was written.
    writeFileSync(script, '#!/bin/sh\nfor p; do :; done\ncase "$p" in *\'$(touch /tmp/pwned-by-prompt) `id` "; echo injected\'*) sed -i "s/^HIDDEN_UNITS = 8 /HIDDEN_UNITS = 9 /" train.py; echo "DESCRIPTION: ok" ;; esac\n', { mode: 0o755 })
    const hostile = '# program\n$(touch /tmp/pwned-by-prompt) `id` "; echo injected\n'
    // No sandbox: a command line built from the prompt would run on this machine.
    const proposal = await commandAgent({ command: script, stdin: false, sandbox: 'none', reinvoke: 0, warn: () => {} }).propose(context(hostile))
    expect(proposal?.description).toBe('ok')
    expect(() => readFileSync('/tmp/pwned-by-prompt')).toThrow()
  })
})
