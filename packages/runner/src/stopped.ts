/**
 * A run its caller stopped (Ctrl-C: the caller's signal) says nothing of what ran: the
 * operation that asked for it ends without a verdict (an AbortError), so nothing is judged,
 * reported, attested or dropped on a run cut short, and the same command takes it up again.
 * Other results, failures included, pass through.
 */
export function stopped<R extends { ok: boolean, reason?: string }> (result: R, signal?: AbortSignal): R {
  if (!result.ok && result.reason === 'aborted') throw signal?.aborted === true ? signal.reason : new DOMException('the run was stopped', 'AbortError')
  return result
}
