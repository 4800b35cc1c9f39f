import * as fs from 'node:fs'
import { join, resolve } from 'node:path'
import { UsageError } from '@autoresearch/protocol'

/** Example causes that `init --template` can start a home from. */
export const TEMPLATES = ['toy-regression', 'tiny-gpt', 'compressor'] as const
export type TemplateName = typeof TEMPLATES[number]

/** The repository's examples folder, found from this file (coordinator/src/ in a checkout). */
export const EXAMPLES_DIR = resolve(import.meta.dirname, '..', '..', 'examples')

export class UnknownTemplateError extends UsageError {
  override name = 'UnknownTemplateError'
}

/** The directory of a template cause; throws when the name is unknown or the examples are not installed. */
export function templateDir (name: string, examples = EXAMPLES_DIR): string {
  if (!(TEMPLATES as readonly string[]).includes(name)) throw new UnknownTemplateError(`unknown template "${name}" (choose ${TEMPLATES.join(', ')})`)
  const dir = join(examples, name)
  if (!fs.existsSync(join(dir, 'autoresearch.json'))) {
    throw new UnknownTemplateError(`template "${name}" is not installed: ${dir} is missing (templates come with a checkout of the repository; otherwise use --from <cause dir>)`)
  }
  return dir
}
