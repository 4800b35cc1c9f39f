import { cpus } from 'node:os'
import type { Hardware } from '@autoresearch/protocol'

/** What this machine is, as recorded with every attestation (GPU detection comes with the worker issue). */
export function describeHardware (): Hardware {
  const list = cpus()
  const model = (list[0]?.model ?? 'unknown cpu').replace(/\s+/g, ' ').trim()
  return { class: `cpu:${model} x${list.length}`, cpus: list.length, gpus: [] }
}
