import * as fs from 'node:fs'
import { join } from 'node:path'
import { MANIFEST_FILE, parseManifest, UsageError, type Manifest } from '@autoresearch/protocol'
import { EXAMPLES_DIR } from './templates.ts'

/** The example whose patterns a new cause starts from: a frozen model (its bounds, its causal mask, its weight format, its budget meter), frozen prepare and evaluate, an editable train.py of top-level constants. */
export const SCAFFOLD_BASE = 'tiny-gpt'
/** The base's files a scaffold takes; its README describes the example, not the new cause. */
const SKIPPED = new Set(['README.md', 'program.md', MANIFEST_FILE])

/** `init --new` would write over something. */
export class ScaffoldExistsError extends UsageError { override name = 'ScaffoldExistsError' }
/** `init --new` got a name a manifest cannot hold. */
export class InvalidCauseNameError extends UsageError { override name = 'InvalidCauseNameError' }

/** The new cause's manifest as written (the base's steps, limits and verification, under `name`) and as parsed (which checks the name). */
export function scaffoldManifest (base: Record<string, unknown>, name: string): { raw: Record<string, unknown>, manifest: Manifest } {
  const raw = { ...base, name, description: `${name}: a cause started from the ${SCAFFOLD_BASE} scaffold; describe the task and the metric here.` }
  return { raw, manifest: parseManifest(raw) }
}

/** The new cause's program.md: what the agent reads first, with the parts the researcher must write marked TODO. */
export function scaffoldProgram (manifest: Manifest): string {
  const { name, direction } = manifest.metric
  return `# ${manifest.name}

TODO: one paragraph on the task, the data and why the metric matters.

Goal: **${direction === 'minimize' ? 'lower' : 'raise'} \`${name}\`**, measured by the frozen \`evaluate.py\` on data
\`train.py\` never sees.

## What you may change
Only ${manifest.editable.map((e) => `\`${e}\``).join(', ')}. Everything else is frozen: \`prepare.py\` (the data),
\`model.py\` (the model family, its bounds, its causal mask, the only way to save weights
and the training-budget meter) and \`evaluate.py\` (the metric). A change to them is refused.

- The default search agent changes only the top-level numeric constants of the editable
  files (lines such as \`LEARNING_RATE = 1e-3\`), one at a time.
- An LLM agent may change anything in \`train.py\`: the optimizer, the schedule, the
  initialisation, the batching.

## Rules
- The training budget is the manifest's (train.workBudget): \`model.py\` counts every token
  trained on and stops the run past it. Training longer is not an improvement.
- Sizes outside \`model.py\`'s bounds are refused by \`evaluate.py\`.
- TODO: what else a good change looks like, what was tried, what to avoid.
`
}

/**
 * Writes a new cause into `dir` (which must not exist or be empty): the frozen files and
 * train.py of SCAFFOLD_BASE, its manifest under `name`, and a program.md to fill in.
 * Returns the files written.
 */
export function scaffoldCause (name: string, dir: string, examples = EXAMPLES_DIR): string[] {
  const from = join(examples, SCAFFOLD_BASE)
  if (!fs.existsSync(join(from, MANIFEST_FILE))) throw new ScaffoldExistsError(`the scaffold comes from ${from}, which is missing (it comes with a checkout of the repository)`)
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new ScaffoldExistsError(`${dir} is not empty; give --dir a new directory`)
  let made: ReturnType<typeof scaffoldManifest>
  try {
    made = scaffoldManifest(JSON.parse(fs.readFileSync(join(from, MANIFEST_FILE), 'utf8')) as Record<string, unknown>, name)
  } catch (err) {
    throw new InvalidCauseNameError(`"${name}" cannot name a cause: ${(err as Error).message}`)
  }
  fs.mkdirSync(dir, { recursive: true })
  const written: string[] = []
  for (const file of fs.readdirSync(from).sort()) {
    if (SKIPPED.has(file) || !fs.statSync(join(from, file)).isFile()) continue
    fs.copyFileSync(join(from, file), join(dir, file))
    written.push(file)
  }
  const { raw, manifest } = made
  fs.writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(raw, null, 2) + '\n')
  fs.writeFileSync(join(dir, manifest.program), scaffoldProgram(manifest))
  return [...written, MANIFEST_FILE, manifest.program].sort()
}
