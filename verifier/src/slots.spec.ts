import { describe, expect, it } from 'vitest'
import type { SandboxBackend, StepSpec } from '@autoresearch/runner'
import { parseNvidiaSmi } from '@autoresearch/protocol'
import { slotDevices, Slots, verifierHardware } from './slots.ts'

const seen: Array<Record<string, string>> = []
const backend: SandboxBackend = {
  name: 'fake',
  run: async (spec: StepSpec) => {
    seen.push(spec.env)
    return { exitCode: 0, signal: null, timedOut: false, aborted: false, output: '', durationMs: 0 }
  }
}
const spec = (): StepSpec => ({ command: ['true'], cwd: '/', env: { CUDA_VISIBLE_DEVICES: '0,1' }, timeoutMs: 1000, writable: [], readOnly: [], maxOutputBytes: 0 })

describe('verifier slots', () => {
  it('reports the class of what one run sees, one GPU, and lists every GPU; a given class replaces it', () => {
    const two = parseNvidiaSmi('0, NVIDIA H100 80GB HBM3, 81559\n1, NVIDIA H100 80GB HBM3, 81559\n')
    expect(verifierHardware(two)).toMatchObject({ class: 'gpu:NVIDIA H100 80GB HBM3 (80 GiB) x1', gpus: ['NVIDIA H100 80GB HBM3 (80 GiB)', 'NVIDIA H100 80GB HBM3 (80 GiB)'] })
    expect(verifierHardware(two, 'gpu:mine').class).toBe('gpu:mine')
    expect(verifierHardware([]).class).toMatch(/^cpu:/)
  })

  it('spreads over CUDA_VISIBLE_DEVICES when set, else one device per GPU found, none on a CPU machine', () => {
    expect(slotDevices(4, { CUDA_VISIBLE_DEVICES: '2, 3' })).toEqual(['2', '3'])
    expect(slotDevices(2, {})).toEqual(['0', '1'])
    expect(slotDevices(0, {})).toEqual([])
  })

  it('gives each slot its own device (shared round-robin when there are more slots), and none without GPUs', async () => {
    seen.length = 0
    const slots = new Slots(3, backend, ['0', '1'])
    await Promise.all([0, 1, 2].map(async () => await slots.use('job', async (slot) => await slot.backend.run(spec()))))
    expect(seen.map((env) => env.CUDA_VISIBLE_DEVICES).sort()).toEqual(['0', '0', '1'])
    seen.length = 0
    await new Slots(1, backend).use('job', async (slot) => await slot.backend.run(spec()))
    expect(seen[0]?.CUDA_VISIBLE_DEVICES).toBe('0,1')
  })

  it('runs at most `count` at once and hands a freed slot to a waiting job before a waiting warm-up', async () => {
    const slots = new Slots(1, backend)
    const order: string[] = []
    let release = (): void => {}
    let started = (): void => {}
    const running = new Promise<void>((resolve) => { started = resolve })
    const first = slots.use('warm', async () => { await new Promise<void>((resolve) => { release = resolve; started() }) })
    const warm = slots.use('warm', async () => { order.push('warm') })
    const job = slots.use('job', async () => { order.push('job') })
    await running
    expect(order).toEqual([])
    release()
    await Promise.all([first, warm, job])
    expect(order).toEqual(['job', 'warm'])
  })

  it('a wait for a slot ends when its signal aborts', async () => {
    const slots = new Slots(1, backend)
    let release = (): void => {}
    const busy = slots.use('job', async () => { await new Promise<void>((resolve) => { release = resolve }) })
    const controller = new AbortController()
    const waiting = slots.use('job', async () => 'ran', { signal: controller.signal })
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
    release()
    await busy
    expect(await slots.use('job', async () => 'ran')).toBe('ran')
  })
})
