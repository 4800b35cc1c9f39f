import { describe, expect, it } from 'vitest'
import { parseManifest } from './manifest.ts'
import { DIRECTORY_OBJECTS, MIN_SUBMISSION_OBJECTS, submissionRules } from './pack-check.ts'

const manifest = (editable: string[], maxPackBytes?: number) => parseManifest({
  name: 'x', editable, train: { command: ['python3', 'run.py'] }, metric: { name: 'm', direction: 'minimize', stdoutPattern: 'm: ([0-9.]+)' }, verification: { minImprovement: 0 },
  ...(maxPackBytes === undefined ? {} : { limits: { maxPackBytes } })
})

describe('submissionRules with directory entries', () => {
  it('gives each directory entry its trees and a fixed allowance, on top of the files\' bound', () => {
    expect(submissionRules(manifest(['src/'])).maxObjects).toBe(4 * 1 + 1 + DIRECTORY_OBJECTS)
    expect(submissionRules(manifest(['train.py', 'src/', 'lib/deep/'])).maxObjects).toBe(4 * (1 + 2) + (1 + DIRECTORY_OBJECTS) + (2 + DIRECTORY_OBJECTS))
  })

  it('never allows more directory objects than the pack\'s byte cap can hold', () => {
    expect(submissionRules(manifest(['src/'], 900)).maxObjects).toBe(4 + 100)
    expect(submissionRules(manifest(['src/'], 90)).maxObjects).toBe(MIN_SUBMISSION_OBJECTS)
  })
})
