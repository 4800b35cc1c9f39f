import { chat, MAX_DIGEST_CHARS, type ChatOptions, type Manifest } from '@autoresearch/protocol'
import { digestPrompt, NARRATIVE_CHARS, writeDigest, type DigestInput } from './digest.ts'
import type { Store } from './store/index.ts'

/** Reports a digest reads at most (the newest). */
export const DIGEST_EXPERIMENTS = 5000

export type ReportStore = Pick<Store, 'standingMerges' | 'candidate' | 'recentExperiments' | 'openHypotheses' | 'insertDigest'>

/** What a digest is written from, loaded from the store. */
export function digestInput (store: ReportStore, manifest: Pick<Manifest, 'name' | 'metric'>, at: number): DigestInput {
  const merges = store.standingMerges().map((m) => ({ index: m.index, description: m.candidate_seq === null ? '' : store.candidate(m.candidate_seq)?.description ?? '', metric: m.metric, baseline: m.baseline_metric }))
  return { cause: manifest.name, metric: manifest.metric, merges, experiments: store.recentExperiments(DIGEST_EXPERIMENTS), open: store.openHypotheses(20), at }
}

/**
 * The reporter: loads what a digest is written from, writes it (digest.ts) and stores it,
 * so that the site shows it and `history` gives it to agents. Run by
 * `autoresearch-coordinator report` and, with `serve --report-every`, periodically.
 */
export function reportDigest (store: ReportStore, manifest: Pick<Manifest, 'name' | 'metric'>, at = Date.now()): { seq: number, text: string } {
  const text = writeDigest(digestInput(store, manifest, at))
  return { seq: store.insertDigest(text, at), text }
}

/**
 * The reporter with an OpenAI-compatible model (`report --model`): the model writes the
 * digest from the facts the rules found, and the facts follow it, so what it says can be
 * checked against them. A model that cannot be reached fails the command; nothing is stored.
 */
export async function reportDigestWithModel (store: ReportStore, manifest: Pick<Manifest, 'name' | 'metric'>, model: ChatOptions, options: { at?: number, signal?: AbortSignal } = {}): Promise<{ seq: number, text: string }> {
  const at = options.at ?? Date.now()
  const facts = writeDigest(digestInput(store, manifest, at))
  const narrative = (await chat(model, [{ role: 'system', content: 'You write research digests.' }, { role: 'user', content: digestPrompt(facts, manifest.name) }], options.signal)).trim().slice(0, NARRATIVE_CHARS)
  const text = `${narrative}\n\n${facts}`.slice(0, MAX_DIGEST_CHARS)
  return { seq: store.insertDigest(text, at), text }
}
