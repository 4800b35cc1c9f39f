import { getEventListeners } from 'node:events'
import { describe, expect, it } from 'vitest'
import { sleep } from './verifier.ts'

describe('waiting between lease requests', () => {
  it('leaves no listener on the run\'s signal once a wait is over, however many waits there were', async () => {
    const run = new AbortController()
    const warnings: string[] = []
    const onWarning = (w: Error): void => { warnings.push(w.name) }
    process.on('warning', onWarning)
    try {
      for (let i = 0; i < 15; i++) await sleep(1, run.signal)
    } finally {
      process.off('warning', onWarning)
    }
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0)
    expect(warnings).toEqual([])
    // An abort still ends a wait at once.
    const waiting = sleep(60_000, run.signal)
    run.abort()
    await waiting
    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0)
  })
})
