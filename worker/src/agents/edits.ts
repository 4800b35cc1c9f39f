import { EditFormatError } from '../errors.ts'

/**
 * The strict edit format agents must answer in: one DESCRIPTION line, then any number
 * of search/replace blocks, each naming its file on the line before it.
 *
 *   DESCRIPTION: raise the learning rate
 *   train.py
 *   <<<<<<< SEARCH
 *   LEARNING_RATE = 0.01
 *   =======
 *   LEARNING_RATE = 0.03
 *   >>>>>>> REPLACE
 */
export const EDIT_FORMAT = `Answer with exactly this format and nothing else:
DESCRIPTION: <one line saying what you changed and why>
<path of an editable file>
<<<<<<< SEARCH
<exact lines from the current file>
=======
<replacement lines>
>>>>>>> REPLACE
(repeat the path + block for further edits; SEARCH text must match the file exactly once)`


export interface EditBlock { path: string, search: string, replace: string }

const BLOCK = /^([^\n]+)\n<<<<<<< SEARCH\n([\s\S]*?)\n?=======\n([\s\S]*?)\n?>>>>>>> REPLACE$/gm

export function parseEdits (reply: string): { description: string, blocks: EditBlock[] } {
  const text = reply.replace(/\r\n/g, '\n').replace(/^```[a-z]*\n|```$/gm, '')
  const description = text.match(/^DESCRIPTION:\s*(.+)$/m)?.[1]?.trim()
  if (description === undefined || description === '') throw new EditFormatError('the reply has no "DESCRIPTION: ..." line')
  const blocks = [...text.matchAll(BLOCK)].map(([, path = '', search = '', replace = '']) => ({ path: path.trim().replace(/^[`*]+|[`*:]+$/g, ''), search, replace }))
  if (blocks.length === 0) throw new EditFormatError('the reply has no SEARCH/REPLACE block')
  return { description: description.slice(0, 300), blocks }
}

/** Applies blocks to the editable files; every block must name an editable file and match exactly once. */
export function applyEdits (files: Record<string, string>, blocks: EditBlock[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const block of blocks) {
    const current = out[block.path] ?? files[block.path]
    if (current === undefined) throw new EditFormatError(`"${block.path}" is not an editable file; editable: ${Object.keys(files).join(', ')}`)
    const at = current.indexOf(block.search)
    if (block.search === '' || at < 0) throw new EditFormatError(`the SEARCH text for ${block.path} does not occur in the file`)
    if (current.indexOf(block.search, at + 1) >= 0) throw new EditFormatError(`the SEARCH text for ${block.path} occurs more than once; include more context`)
    out[block.path] = current.slice(0, at) + block.replace + current.slice(at + block.search.length)
  }
  for (const [path, text] of Object.entries(out)) if (text === files[path]) delete out[path]
  if (Object.keys(out).length === 0) throw new EditFormatError('the edits change nothing')
  return out
}
