import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { aboutPage } from './lists.ts'

const input = { name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' } }
const page = (verification: Record<string, unknown>): string =>
  String(aboutPage({ cause: 't', join: 'npx autoresearch-worker', multiaddrs: [], manifest: parseManifest({ ...input, verification }) }))

describe('the join page\'s "How verification works"', () => {
  it('names the confidence the whole round is tested at', () => {
    const plain = page({ minImprovement: 0.05 })
    expect(plain).toContain('beats 0.05 at confidence 0.95. Near-ties')
    expect(plain).not.toContain('early acceptance')
  })

  it('with early acceptance declared, says what it spends and the confidence left to the whole round', () => {
    const text = page({ minImprovement: 0.05, sequential: { noise: 0.014, accept: 0.02 } })
    expect(text).toContain('beats 0.05 at confidence 0.97, or, before the last pair, when the pairs so far show it beyond doubt (early acceptance spends 0.02 of the 0.05 false-acceptance rate).')
  })
})
