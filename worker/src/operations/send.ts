import { AutoresearchError, changedPaths, packForSubmission, readFileAt, type CoordinatorClient, type ReceiptBody } from '@autoresearch/protocol'
import type { WorkerComponents } from '../components.ts'
import { assertNoLeaks, SecretLeakError, type FileChange } from '../secrets.ts'
import type { SubmissionFields, UnsentSubmission } from '../state.ts'

/** After this many unanswered attempts a submission is given up. */
export const MAX_SEND_ATTEMPTS = 20

/**
 * Whether sending again can help: the coordinator did not answer, timed out, or had
 * no room. A refusal with a reason (bad parent, protected path, duplicate) is final.
 */
export function isTransient (err: unknown): boolean {
  return !(err instanceof AutoresearchError) || ['TimeoutError', 'StorageFullError', 'InternalError'].includes(err.name)
}

/** What the candidate adds to its parent, its description included (it travels in the commit message). */
export async function assertNoSecrets (components: Pick<WorkerComponents, 'gitdir' | 'secrets'>, fields: SubmissionFields): Promise<void> {
  const { gitdir } = components
  const changes: FileChange[] = [{ path: 'the description', after: fields.description }]
  for (const { path, change } of await changedPaths(gitdir, fields.parent, fields.candidate)) {
    if (change === 'deleted') continue
    changes.push({ path, before: await readFileAt(gitdir, fields.parent, path), after: await readFileAt(gitdir, fields.candidate, path) ?? '' })
  }
  assertNoLeaks(fields.candidate, changes, components.secrets)
}

export type SendOutcome =
  | { sent: true, receipt: ReceiptBody }
  | { sent: false, error: unknown, willRetry: boolean, leaked: boolean }

/**
 * Sends one submission (counting the attempt in `unsent`) after scanning it for the
 * volunteer's secrets. The outcome says whether it is worth sending again; one that
 * carries a secret never is.
 */
export async function send (components: { client: Pick<CoordinatorClient, 'submit'> } & Pick<WorkerComponents, 'identity' | 'gitdir' | 'secrets'>, unsent: UnsentSubmission, options: { signal?: AbortSignal } = {}): Promise<SendOutcome> {
  const { fields } = unsent
  try {
    await assertNoSecrets(components, fields)
    const pack = await packForSubmission(components.gitdir, fields.candidate, fields.parent)
    const { receipt } = await components.client.submit(components.identity, fields, pack, options)
    return { sent: true, receipt }
  } catch (err) {
    unsent.attempts++
    return { sent: false, error: err, willRetry: isTransient(err) && unsent.attempts < MAX_SEND_ATTEMPTS, leaked: err instanceof SecretLeakError }
  }
}
