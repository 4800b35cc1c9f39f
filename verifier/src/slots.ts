import { describeHardware, detectGpus, type Gpu, type Hardware } from '@autoresearch/protocol'
import type { SandboxBackend } from '@autoresearch/runner'

/** One place a pair of trials runs; with GPUs, its own device. */
export interface Slot {
  index: number
  /** What the slot's steps see as CUDA_VISIBLE_DEVICES (and HIP_VISIBLE_DEVICES); none on a CPU machine. */
  gpu?: string
  backend: SandboxBackend
}

/** Job pairs go before baseline warm-ups: a warm-up only takes a slot no job is waiting for. */
export type SlotUse = 'job' | 'warm'

/**
 * The device ids the slots are spread over: CUDA_VISIBLE_DEVICES when set (the operator
 * chose the devices), else one per GPU found; none on a CPU machine.
 */
export function slotDevices (gpusFound: number, env: NodeJS.ProcessEnv = process.env): string[] {
  const visible = env.CUDA_VISIBLE_DEVICES?.split(',').map((d) => d.trim()).filter((d) => d !== '')
  if (visible !== undefined) return visible
  return Array.from({ length: gpusFound }, (_, i) => String(i))
}

/**
 * What a verifier reports: every GPU it has, and as its class what one run sees. Each pair
 * runs on a slot with one device (below), so two H100s verify as `… x1`, like one; a machine
 * with GPUs of several models runs one verifier per model (CUDA_VISIBLE_DEVICES). `cls`
 * (`--hardware-class`) replaces the class.
 */
export function verifierHardware (gpus: Gpu[] = detectGpus(), cls?: string): Hardware {
  const all = describeHardware(gpus, cls)
  return cls === undefined || cls.trim() === '' ? { ...all, class: describeHardware(gpus.slice(0, 1)).class } : all
}

/** `backend` with the slot's device as the only one a step sees. */
function onDevice (backend: SandboxBackend, gpu: string): SandboxBackend {
  return {
    name: backend.name,
    entersDisk: backend.entersDisk,
    run: async (spec) => await backend.run({ ...spec, env: { ...spec.env, CUDA_VISIBLE_DEVICES: gpu, HIP_VISIBLE_DEVICES: gpu } })
  }
}

/**
 * `count` slots; slot i gets device `devices[i % devices.length]` (more slots than devices
 * share them). A pair holds its slot for both of its runs, so baseline and candidate of
 * one seed run on the same device.
 */
export class Slots {
  readonly size: number
  readonly #free: Slot[]
  readonly #waiting: Record<SlotUse, Array<(slot: Slot) => void>> = { job: [], warm: [] }

  constructor (count: number, backend: SandboxBackend, devices: string[] = []) {
    this.#free = Array.from({ length: Math.max(1, Math.floor(count)) }, (_, index) => {
      const gpu = devices.length === 0 ? undefined : devices[index % devices.length] as string
      return { index, gpu, backend: gpu === undefined ? backend : onDevice(backend, gpu) }
    })
    this.size = this.#free.length
  }

  /** Runs `fn` on a free slot (waiting for one; jobs first); a wait that is aborted throws the signal's reason. */
  async use<T> (use: SlotUse, fn: (slot: Slot) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    const slot = await this.#acquire(use, options.signal)
    try {
      return await fn(slot)
    } finally {
      this.#release(slot)
    }
  }

  async #acquire (use: SlotUse, signal?: AbortSignal): Promise<Slot> {
    signal?.throwIfAborted()
    const free = this.#free.shift()
    if (free !== undefined) return free
    return await new Promise<Slot>((resolve, reject) => {
      const queue = this.#waiting[use]
      const onAbort = (): void => {
        queue.splice(queue.indexOf(take), 1)
        reject(signal?.reason)
      }
      const take = (slot: Slot): void => {
        signal?.removeEventListener('abort', onAbort)
        resolve(slot)
      }
      queue.push(take)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  #release (slot: Slot): void {
    const next = this.#waiting.job.shift() ?? this.#waiting.warm.shift()
    if (next !== undefined) next(slot)
    else this.#free.push(slot)
  }
}
