import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { aboutPage } from './lists.ts'

const input = { name: 't', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, evaluate: { command: ['python3', 'evaluate.py'] }, metric: { name: 'loss', direction: 'minimize' } }
const page = (verification: Record<string, unknown>): string =>
  String(aboutPage({ cause: 't', join: 'npx autoresearch-worker', multiaddrs: [], manifest: parseManifest({ ...input, verification }) }))

describe('the join page\'s "How verification works"', () => {
  it('names the confidence each round is tested at, and the rate they keep together', () => {
    const plain = page({ minImprovement: 0.05 })
    expect(plain).toContain('beats 0.05 at confidence 0.975. Near-ties and disagreements get up to 2 more rounds on fresh seeds, each testing every pair so far at confidence 0.9875: over all its rounds, a candidate without that gain is accepted at most 0.05 of the time.')
    expect(plain).not.toContain('early acceptance')
  })

  it('with early acceptance declared, says what it spends and the confidence left to the rounds', () => {
    const text = page({ minImprovement: 0.05, sequential: { noise: 0.014, accept: 0.02 } })
    expect(text).toContain('beats 0.05 at confidence 0.985, or, before the last pair, when the pairs so far show it beyond doubt (early acceptance spends 0.02 of the 0.05 false-acceptance rate). Near-ties and disagreements get up to 2 more rounds on fresh seeds, each testing every pair so far at confidence 0.9925')
  })
})
