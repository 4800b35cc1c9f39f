import { execFileSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { InvalidArgumentError } from 'commander'
import { logger } from '@libp2p/logger'
import type { Hardware } from './messages.ts'

const log = logger('autoresearch:protocol:hardware')

export interface Gpu { index: number, name: string, memoryMiB: number }

/** The longest hardware class the protocol carries (messages.ts `Hardware.class`). */
export const MAX_CLASS_CHARS = 200

/** The environment variable that sets a worker's or verifier's hardware class (as `--hardware-class` does). */
export const HARDWARE_CLASS_ENV = 'AUTORESEARCH_HARDWARE_CLASS'

/**
 * GPUs from `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits`,
 * narrowed to CUDA_VISIBLE_DEVICES when it is set (by index). Lines that do not parse are left out.
 */
export function parseNvidiaSmi (out: string, visible?: string): Gpu[] {
  const gpus = out.split('\n').map((line) => line.trim()).filter(Boolean).flatMap((line) => {
    // The name may hold commas; index and memory are the first and last fields.
    const fields = line.split(',').map((s) => s.trim())
    const index = Number(fields[0])
    const memoryMiB = Number(fields[fields.length - 1])
    const name = fields.slice(1, -1).join(', ')
    if (fields.length < 3 || fields[0] === '' || !Number.isInteger(index) || name === '') return []
    return [{ index, name, memoryMiB: Number.isFinite(memoryMiB) ? memoryMiB : 0 }]
  })
  if (visible === undefined || visible.trim() === '') return gpus
  const wanted = visible.split(',').map((s) => Number(s.trim()))
  return gpus.filter((g) => wanted.includes(g.index))
}

/** GPUs as nvidia-smi lists them, narrowed by CUDA_VISIBLE_DEVICES when it is set; [] without a driver. */
export function detectGpus (env: NodeJS.ProcessEnv = process.env): Gpu[] {
  let out: string
  try {
    out = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
  } catch (err) {
    log('nvidia-smi gave no GPU list, so no GPUs: %e', err)
    return []
  }
  return parseNvidiaSmi(out, env.CUDA_VISIBLE_DEVICES)
}

const gib = (bytes: number): number => Math.round(bytes / 2 ** 30)
const gpuLabel = (g: Gpu): string => `${g.name} (${gib(g.memoryMiB * 2 ** 20)} GiB)`

/**
 * The class of a machine: results of a wall-clock cause are comparable only within one.
 * With GPUs: each model with its memory and count (`gpu:NVIDIA H100 80GB HBM3 (80 GiB) x1`,
 * mixed models joined by ` + `, sorted); without: the CPU model, its cores and memory
 * (`cpu:AMD EPYC 7B13 x2 (8 GiB)`).
 */
export function hardwareClass (gpus: Gpu[], cpu: { model: string, count: number, memoryBytes: number }): string {
  if (gpus.length === 0) return `cpu:${cpu.model.replace(/\s+/g, ' ').trim() || 'unknown cpu'} x${cpu.count} (${gib(cpu.memoryBytes)} GiB)`.slice(0, MAX_CLASS_CHARS)
  const counts = new Map<string, number>()
  for (const g of gpus) counts.set(gpuLabel(g), (counts.get(gpuLabel(g)) ?? 0) + 1)
  return `gpu:${[...counts].sort(([a], [b]) => a.localeCompare(b)).map(([label, n]) => `${label} x${n}`).join(' + ')}`.slice(0, MAX_CLASS_CHARS)
}

/**
 * What this machine is, as recorded with submissions, attestations and lease requests.
 * `cls` replaces the detected class (`--hardware-class`, AUTORESEARCH_HARDWARE_CLASS): for a
 * machine that nvidia-smi describes wrongly, or a test standing in for another machine; an
 * empty one is no class given.
 */
export function describeHardware (gpus: Gpu[] = detectGpus(), cls?: string): Hardware {
  const list = cpus()
  const detected = hardwareClass(gpus, { model: list[0]?.model ?? 'unknown cpu', count: list.length, memoryBytes: totalmem() })
  const given = cls?.trim().slice(0, MAX_CLASS_CHARS)
  return { class: given === undefined || given === '' ? detected : given, cpus: list.length, gpus: gpus.map(gpuLabel).slice(0, 16) }
}

/** A commander parser for `--hardware-class`: a non-empty class of at most MAX_CLASS_CHARS. */
export function hardwareClassArg (text: string): string {
  const cls = text.trim()
  if (cls === '' || cls.length > MAX_CLASS_CHARS) throw new InvalidArgumentError(`a hardware class of 1 to ${MAX_CLASS_CHARS} characters, e.g. "gpu:NVIDIA H100 80GB HBM3 (80 GiB) x1"`)
  return cls
}
