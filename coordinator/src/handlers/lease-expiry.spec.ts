import { describe, expect, it } from 'vitest'
import { LeaseExpiry } from './lease-expiry.ts'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('the lease expiry timer', () => {
  it('fires once, just after the earliest end it was told of; a later end does not move it', async () => {
    const fired: number[] = []
    const expiry = new LeaseExpiry(() => { fired.push(Date.now()) })
    const end = Date.now() + 60
    expiry.watch(end + 5_000)
    expiry.watch(end)
    expiry.watch(end + 1_000)
    expect(expiry.due).toBe(end)
    await sleep(150)
    expect(fired.length).toBe(1)
    // At or after the end (Date.now() and the timer clock round apart by under a millisecond; firing early finds nothing to expire and sets the timer again).
    expect(fired[0]).toBeGreaterThanOrEqual(end)
    expect(expiry.due).toBe(Infinity)
    // Set again (as the coordinator does for the next lease), and for no lease at all.
    expiry.watch(Infinity)
    expect(expiry.due).toBe(Infinity)
    expiry.watch(Date.now() - 10)
    await sleep(30)
    expect(fired.length).toBe(2)
    expiry.close()
  })

  it('never fires after close, nor when set after it', async () => {
    let fired = 0
    const expiry = new LeaseExpiry(() => { fired++ })
    expiry.watch(Date.now() + 20)
    expiry.close()
    expiry.watch(Date.now() + 20)
    expect(expiry.due).toBe(Infinity)
    await sleep(80)
    expect(fired).toBe(0)
  })
})
