import * as fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { MANIFEST_FILE } from '@autoresearch/protocol'
import { join } from 'node:path'
import { SCAFFOLD_BASE, scaffoldManifest, scaffoldProgram } from './scaffold.ts'
import { EXAMPLES_DIR } from './templates.ts'

const base = JSON.parse(fs.readFileSync(join(EXAMPLES_DIR, SCAFFOLD_BASE, MANIFEST_FILE), 'utf8')) as Record<string, unknown>

describe('scaffold', () => {
  it('keeps the base\'s steps and verification under the new name', () => {
    const { raw, manifest } = scaffoldManifest(base, 'my-cause')
    expect(manifest.name).toBe('my-cause')
    expect(raw.verification).toEqual(base.verification)
    expect(raw.train).toEqual(base.train)
  })

  it('refuses a name a manifest cannot hold', () => {
    expect(() => scaffoldManifest(base, 'My Cause')).toThrow(/lowercase/)
  })

  it('writes a program that says what the search agent changes and what is frozen', () => {
    const text = scaffoldProgram(scaffoldManifest(base, 'my-cause').manifest)
    expect(text).toContain('top-level numeric constants')
    expect(text).toContain('`train.py`')
    expect(text).toMatch(/TODO/)
  })
})
