import { execFileSync } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { logger } from '@libp2p/logger'
import type { Hardware } from './messages.ts'

const log = logger('autoresearch:protocol:hardware')

export interface Gpu { index: number, name: string, memoryMiB: number }

/** GPUs as nvidia-smi lists them, narrowed by CUDA_VISIBLE_DEVICES when it is set; [] without a driver. */
export function detectGpus (env: NodeJS.ProcessEnv = process.env): Gpu[] {
  let out: string
  try {
    out = execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })
  } catch (err) {
    log('nvidia-smi gave no GPU list, so no GPUs: %e', err)
    return []
  }
  const gpus = out.trim().split('\n').filter(Boolean).map((line) => {
    const [index, name, memory] = line.split(',').map((s) => s.trim())
    return { index: Number(index), name: name ?? 'unknown', memoryMiB: Number(memory) }
  }).filter((g) => Number.isInteger(g.index))
  const visible = env.CUDA_VISIBLE_DEVICES
  if (visible === undefined || visible === '') return gpus
  const wanted = visible.split(',').map((s) => Number(s.trim()))
  return gpus.filter((g) => wanted.includes(g.index))
}

/** What this machine is, as recorded with submissions and attestations: `gpu:<name> xN` or `cpu:<model> xN`. */
export function describeHardware (gpus: Gpu[] = detectGpus()): Hardware {
  const list = cpus()
  const cpu = (list[0]?.model ?? 'unknown cpu').replace(/\s+/g, ' ').trim()
  const names = gpus.map((g) => `${g.name} (${Math.round(g.memoryMiB / 1024)} GiB)`)
  const cls = gpus.length > 0 ? `gpu:${gpus[0]?.name} x${gpus.length}` : `cpu:${cpu} x${list.length} (${Math.round(totalmem() / 2 ** 30)} GiB)`
  return { class: cls.slice(0, 200), cpus: list.length, gpus: names.slice(0, 16) }
}
