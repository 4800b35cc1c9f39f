import { describe, expect, it } from 'vitest'
import { experimentDiff, Identity, MAX_REPORTS_PER_BATCH, QuotaExceededError, UnknownParentError, type CoordinatorClient, type ExperimentReport } from '@autoresearch/protocol'
import { recorder } from '../../test/fakes.ts'
import { experimentReport, leaksInReport, Reporter } from './reports.ts'

const identity = Identity.generate()
const report = (i: number): ExperimentReport => experimentReport({
  best: 'a'.repeat(40), commit: 'b'.repeat(40), status: 'discard', metric: i, noise: null, seed: 1, description: `idea ${i}`,
  change: experimentDiff({ 'train.py': 'A = 1\n' }, { 'train.py': `A = ${i}\n` })
}, 1000)

function fakeClient (fail: Error[] = []): Pick<CoordinatorClient, 'report'> & { batches: ExperimentReport[][] } {
  const batches: ExperimentReport[][] = []
  let seq = 1
  return {
    batches,
    report: async (_id: Identity, _cause: string, reports: ExperimentReport[]) => {
      const err = fail.shift()
      if (err !== undefined) throw err
      batches.push(reports)
      const firstSeq = seq
      seq += reports.length
      return { ok: true as const, accepted: reports.length, firstSeq }
    }
  }
}

describe('the reporter', () => {
  it('sends what is queued in batches of at most MAX_REPORTS_PER_BATCH and says so', async () => {
    const client = fakeClient()
    const { emit, events } = recorder()
    const reporter = new Reporter({ client, identity, emit })
    for (let i = 0; i < MAX_REPORTS_PER_BATCH + 6; i++) reporter.add('cause', report(i))
    await reporter.flush()
    expect(client.batches.map((b) => b.length)).toEqual([MAX_REPORTS_PER_BATCH, 6])
    expect(reporter.queued).toEqual([])
    expect(events).toEqual([{ type: 'reports-sent', count: 64, firstSeq: 1 }, { type: 'reports-sent', count: 6, firstSeq: 65 }])
  })

  it('keeps a batch the network did not take and sends it with the next flush', async () => {
    const client = fakeClient([new QuotaExceededError('slow down')])
    const { emit, events } = recorder()
    const reporter = new Reporter({ client, identity, emit })
    reporter.add('cause', report(1))
    await reporter.flush()
    expect(reporter.queued).toHaveLength(1)
    expect(events).toEqual([{ type: 'report-failed', error: 'QuotaExceededError', message: 'slow down', dropped: 0 }])
    reporter.add('cause', report(2))
    await reporter.flush()
    expect(client.batches).toEqual([[report(1), report(2)]])
  })

  it('drops a batch the coordinator refused for good', async () => {
    const client = fakeClient([new UnknownParentError('never a best')])
    const { emit, events } = recorder()
    const reporter = new Reporter({ client, identity, emit }, [report(1)])
    reporter.add('cause', report(2))
    await reporter.flush()
    expect(reporter.queued).toEqual([])
    expect(events.at(-1)).toMatchObject({ type: 'report-failed', error: 'UnknownParentError', dropped: 2 })
  })

  it('runs one flush at a time: a second call waits for the one under way', async () => {
    const client = fakeClient()
    const reporter = new Reporter({ client, identity, emit: () => {} })
    reporter.add('cause', report(1))
    await Promise.all([reporter.flush(), reporter.flush()])
    expect(client.batches).toHaveLength(1)
  })
})

describe('a report that would carry a secret', () => {
  const secrets = [{ label: 'OPENAI_API_KEY', value: 'sk-live-0123456789abcdef' }]
  it('is found in the lines the diff adds and in the description, not in lines it removes', () => {
    const leaking = experimentDiff({ 'train.py': 'A = 1\n' }, { 'train.py': 'A = 1\nKEY = "sk-live-0123456789abcdef"\n' })
    expect(leaksInReport({ description: 'x', diff: leaking.diff }, secrets)).toEqual([{ label: 'OPENAI_API_KEY', path: 'the diff' }])
    expect(leaksInReport({ description: 'use sk-live-0123456789abcdef', diff: '' }, secrets)).toEqual([{ label: 'OPENAI_API_KEY', path: 'the description' }])
    const removing = experimentDiff({ 'train.py': 'KEY = "sk-live-0123456789abcdef"\n' }, { 'train.py': 'KEY = ""\n' })
    expect(leaksInReport({ description: 'x', diff: removing.diff }, secrets)).toEqual([])
  })
})
