import { Trial, Verdict } from '@autoresearch/protocol'
import { z } from 'zod'
import type { SeedSpread } from '../rules/seed-insensitivity.ts'
import type { PairedTest } from '../stats.ts'

/** A candidate's verdict as stored: the wire's Verdict plus every figure behind it. */
export interface StoredVerdict extends Verdict {
  seeds: number[]
  trials: Array<Trial & { verifier: string }>
  test: PairedTest | null
  baselineMetric: number | null
  candidateMetric: number | null
  rounds: number
  claimContradicted: boolean
  disagreeing: string[]
  /** Candidate against baseline spread across seeds (null before any complete trial). */
  seedSpread?: SeedSpread | null
  /** Passed against this candidate's commit while that was still being verified (speculation): it merges when that one does. */
  passedOn?: string
  /** Passed on the best while this larger merge group was still being verified there (rules/hold.ts): it merges if that one fails. */
  heldFor?: number
}

const PairedTestSchema = z.object({
  n: z.number(), mean: z.number(), sd: z.number(), margin: z.number(), t: z.number().nullable(), pValue: z.number(), confidence: z.number(), passed: z.boolean()
})

const SeedSpreadSchema = z.object({
  seeds: z.number(), dof: z.number(), baselineVariance: z.number(), candidateVariance: z.number(),
  scale: z.enum(['log', 'linear']), ratio: z.number().nullable(), pValue: z.number(), insensitive: z.boolean()
})

export const StoredVerdictSchema: z.ZodType<StoredVerdict> = Verdict.extend({
  seeds: z.array(z.number()),
  trials: z.array(Trial.extend({ verifier: z.string() })),
  test: PairedTestSchema.nullable(),
  baselineMetric: z.number().nullable(),
  candidateMetric: z.number().nullable(),
  rounds: z.number(),
  claimContradicted: z.boolean(),
  disagreeing: z.array(z.string()),
  seedSpread: SeedSpreadSchema.nullable().optional(),
  passedOn: z.string().optional(),
  heldFor: z.number().int().optional()
})
