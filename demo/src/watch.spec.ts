import { describe, expect, it } from 'vitest'
import { deathReport, type Member } from './watch.ts'

const running = (name: string, role: Member['role']): Member => ({ name, role, lastLines: [] })
const dead = (name: string, role: Member['role'], lastLines: string[] = []): Member => ({ name, role, exit: 'code 1', lastLines })

describe('deathReport', () => {
  it('lets the network run while every role has someone alive', () => {
    expect(deathReport([running('coordinator', 'coordinator'), running('verifier', 'verifier'), dead('worker-1', 'worker'), running('worker-2', 'worker')])).toBeUndefined()
  })

  it('stops when the coordinator dies and shows its last lines', () => {
    const report = deathReport([dead('coordinator', 'coordinator', ['listening', 'Error: disk full']), running('verifier', 'verifier'), running('worker-1', 'worker')])
    expect(report).toContain('the coordinator stopped')
    expect(report).toContain('coordinator exited (code 1); its last lines:\n  listening\n  Error: disk full')
    expect(report).not.toContain('worker-1')
  })

  it('stops when the last verifier dies, or when every worker has', () => {
    expect(deathReport([running('coordinator', 'coordinator'), dead('verifier', 'verifier'), running('worker-1', 'worker')])).toContain('no verifier is left')
    const workers = deathReport([running('coordinator', 'coordinator'), running('verifier', 'verifier'), dead('worker-1', 'worker', ['unknown agent']), dead('worker-2', 'worker')])
    expect(workers).toContain('no worker is left')
    expect(workers).toContain('worker-1 exited (code 1); its last lines:\n  unknown agent')
    expect(workers).toContain('worker-2 exited (code 1) without printing anything')
  })

  it('names every role that is gone when they die together, and keeps only the last lines', () => {
    const report = deathReport([running('coordinator', 'coordinator'), dead('verifier', 'verifier', ['a', 'b', 'c']), dead('worker-1', 'worker')], 2) as string
    expect(report.split('\n')[0]).toBe('the demo stops: no verifier is left, so no candidate can be verified; no worker is left, so no experiment runs.')
    expect(report).toContain('  b\n  c')
    expect(report).not.toContain('  a')
  })

  it('does not count a role the network never had', () => {
    expect(deathReport([running('coordinator', 'coordinator'), running('verifier', 'verifier')])).toBeUndefined()
  })
})
