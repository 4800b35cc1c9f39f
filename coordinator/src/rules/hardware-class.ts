/**
 * Hardware classes (manifest `hardware`, docs/causes.md). Where results depend on the
 * machine (`matters: "class"`, a wall-clock budget: more steps on a faster GPU), a gain
 * measured on one class need not hold on another, though each verifier pairs best and
 * candidate on its own machine; so the cause is verified on one class, its reference: the
 * manifest's `reference` when it names one, else the class the coordinator recorded, that of
 * the first counting verifier to ask for work (or the host's `hardware-class --set`). Only
 * that class verifies, so every best since is measured on it: the reference of the best is
 * the reference of the cause.
 */
import type { Manifest } from '@autoresearch/protocol'

export interface ClassFacts {
  hardware: Manifest['hardware']
  /** The reference the coordinator recorded, if it recorded one. */
  recorded: string | undefined
  /** The class the lease request says its machine is. */
  requester: string
  /** Whether the requester's attestations count now: a key on probation costs nothing to make, so it never chooses the reference. */
  counts: boolean
}

export type ClassDecision =
  /** Hardware does not matter: every class verifies. */
  | { kind: 'any' }
  /** The requester is of the reference class; `record`: it is the first, and its class becomes the reference. */
  | { kind: 'match', reference: string, record: boolean }
  /** No reference yet, and this key may not set it: it is served as usual (a key on probation gets only shadow jobs). */
  | { kind: 'undecided' }
  /** Another class: no job, and `reason` says why and what to do. */
  | { kind: 'mismatch', reference: string, reason: string }

/** The class a `class` cause is verified on, once there is one; undefined for `any` or before any verifier asked. */
export function referenceClass (hardware: Manifest['hardware'], recorded: string | undefined): string | undefined {
  if (hardware.matters === 'any') return undefined
  return hardware.reference ?? recorded
}

/** One line for the host (`autoresearch-coordinator hardware-class`): which class verifies, and why. */
export function describeReference (hardware: Manifest['hardware'], recorded: string | undefined): string {
  if (hardware.matters === 'any') return `hardware does not matter to this cause (hardware.matters "any"): verifiers of every class take jobs${recorded === undefined ? '' : ` (the recorded class ${recorded} is not used)`}`
  if (hardware.reference !== undefined) return `verified only on ${hardware.reference}, the class the manifest names${recorded !== undefined && recorded !== hardware.reference ? ` (the recorded class ${recorded} is not used while the manifest names one)` : ''}`
  return recorded === undefined ? 'no reference class yet: the first verifier to ask for work sets it' : `verified only on ${recorded}, the class recorded for this cause`
}

/** Whether a verifier of `requester`'s class may be leased work on this cause. */
export function leaseClass (f: ClassFacts): ClassDecision {
  if (f.hardware.matters === 'any') return { kind: 'any' }
  const reference = referenceClass(f.hardware, f.recorded)
  if (reference === undefined) return f.counts ? { kind: 'match', reference: f.requester, record: true } : { kind: 'undecided' }
  if (f.requester === reference) return { kind: 'match', reference, record: false }
  const source = f.hardware.reference !== undefined ? 'the class its manifest names' : 'the class of its first verifier'
  return {
    kind: 'mismatch',
    reference,
    reason: `this cause's results depend on the machine (hardware.matters "class"), so it is verified only on ${reference} (${source}); ` +
      `this verifier is ${f.requester}, and gets no jobs here. Verify on a machine of that class, or for a cause whose hardware does not matter`
  }
}
