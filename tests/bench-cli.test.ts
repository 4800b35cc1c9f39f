import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

/** `npm run bench -- ARGS` as a person types it (node with tsx on bench/run.ts, which is what the npm script runs). */
function bench (...args: string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('npm run bench', () => {
  it('--help lists a bench\'s options with their defaults', () => {
    const r = bench('scaling', '--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^usage: npm run bench -- scaling .*\[--workers 1,2,4,8\].*\[--spawner\]/)
  })

  it('a flag typed wrong ends with the reason and the usage, exit code 2, and no stack', () => {
    for (const [args, reason] of [
      [['scaling', '--reuse=yes'], "Option '--reuse' does not take an argument"],
      [['sandbox', '--frob'], "Unknown option '--frob'"],
      [['scaling', '--start', 'nowhere'], '--start is far'],
      [['scaling', '--conflicts', 'merge'], '--conflicts is what the cause\'s copy does'],
      [['scaling', '--packed', '--processes'], '--packed puts the verifiers\' slots in one in-process verifier'],
      [['ceiling', '--searchers', '0,8'], '--searchers takes whole numbers from 1 to 256, comma-separated, not "0,8"'],
      [['ceiling', '--start', 'nowhere'], '--start is far'],
      [['verification', '--cache', 'maybe'], '--cache is on'],
      // The scaling bench's `far` (loss 19.7) is no start of this bench, whose default is the cause's own constants.
      [['verification', '--start', 'far'], '--start is cause (the cause\'s own constants, loss about 4.3, the default) or near'],
      [['verification', '--inert', '401'], '--inert is how many constants the score ignores to add, an integer from 0 to 400'],
      [['verification', '--inert', ''], '--inert is how many constants the score ignores to add, an integer from 0 to 400'],
      [['verification', '--losers-from', 'both'], '--losers-from is extra (the losers come on top of the winners mix\'s search, the default), search (out of it: that mix\'s search finds 1 + --losers times less often) or both, comma-separated, not "both"'],
      [['verification', '--losers-from', 'toString'], '--losers-from is extra (the losers come on top of the winners mix\'s search, the default), search (out of it: that mix\'s search finds 1 + --losers times less often) or both, comma-separated, not "toString"'],
      [['verification', '--losers-from', 'extra,extra'], '--losers-from is extra (the losers come on top of the winners mix\'s search, the default), search (out of it: that mix\'s search finds 1 + --losers times less often) or both, comma-separated, not "extra,extra"'],
      [['verification', '--losers-from', 'extra,search', '--inert', '78'], '--losers-from search with --inert 78 and --losers 4 gives that mix (3 + 78) × (1 + 4) − 3 = 402 constants the score ignores, over 400'],
      [['verification', '--rules', 'accepting,valueOf'], '--rules is one or more of accepting, reused, sequentialOn, sequentialOff (the default: all four, side by side), comma-separated, not "accepting,valueOf"'],
      // A trace prefix that cannot be written is refused before any race starts (a throw once the network ran left it running).
      [['verification', '--trace', 'package.json/v'], '--trace "package.json/v": its folder package.json cannot be written (EEXIST)'],
      [['scaling', '--trace', ' '], '--trace is the path prefix of the races\' event files (PREFIX-<race>.txt), not " "'],
      [['scaling', '--knobs', '65'], '--knobs is how many constants to add to the cause\'s three, an integer from 0 to 64'],
      [['history', '--sizes', 'lots'], '--sizes takes whole numbers from 0 to 1000000, comma-separated'],
      [['history', '--sizes', '0,,100'], '--sizes takes whole numbers from 0 to 1000000, comma-separated, not "0,,100"'],
      [['history', '--cycles', '1e9'], '--cycles takes a whole number from 1 to 100000, not "1e9"'],
      // Every bench reads its numbers one way (bench/lib/flags.ts): a blank value is a typo, never 0.
      [['scaling', '--timeout', ''], '--timeout takes a number above 0 and at most 86400, not ""'],
      [['scaling', '--workers', '1,,8'], '--workers takes whole numbers from 1 to 64, comma-separated, not "1,,8"'],
      [['scaling', '--target', 'low'], '--target takes a number above 0, not "low"'],
      [['verification', '--merges', '0'], '--merges takes a whole number from 1 to 1000, not "0"'],
      [['verification', '--losers', '2.5'], '--losers takes a whole number from 0 to 64, not "2.5"'],
      [['shared', '--seeds', ''], '--seeds takes whole numbers from 0 to 2147483647, comma-separated, not ""'],
      [['lookahead', '--agent-seconds=-1'], '--agent-seconds takes a number from 0 to 600, not "-1"'],
      [['lookahead', '--workers', '0'], '--workers takes a whole number from 1 to 64, not "0"'],
      [['lookahead', '--inert', '401'], '--inert is how many constants the score ignores to add, an integer from 0 to 400'],
      [['simulate', '--p', ''], '--p takes a number of at least 0, not ""'],
      // Names are a variant's own (a prototype key such as toString once ran as a row of zeros), each once.
      [['simulate', '--variants', 'toString'], '--variants is one or more of serial, whole, now, helping'],
      [['simulate', '--variants', 'now,now'], '--variants is one or more of serial, whole, now, helping, ahead, ahead-whole, batched, ahead-batched, reused, accepting, every, comma-separated, not "now,now"'],
      [['faults', '--seed', 'x'], '--seed takes a whole number from 0 to 100000, not "x"'],
      [['sandbox', '--concurrency', '0'], '--concurrency takes a whole number from 1 to 256, not "0"'],
      [['load', '--merges', ''], '--merges takes a whole number from 1 to 10000, not ""']
    ] as Array<[string[], string]>) {
      const r = bench(...args)
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.stderr).toContain(`npm run bench -- ${args[0]}: ${reason}`)
      expect(r.stderr).toContain(`usage: npm run bench -- ${args[0]}`)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('history times candidates through the coordinator at each size of history, its last line one JSON object', () => {
    const r = bench('history', '--sizes', '0,300', '--cycles', '4', '--open', '2')
    expect(r.status, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { rows: Array<{ history: number, msPerCandidate: number, msWarm: number, msWarmStall: number, msCsv: number, msCsvStall: number, frontPageBytes: number }>, ratios: Array<{ history: number, perCandidateVsFirst: number }> }
    expect(result.rows.map((row) => row.history)).toEqual([0, 300])
    for (const row of result.rows) expect(row.msPerCandidate).toBeGreaterThan(0)
    // The site's figures too (the bench fails itself when the export's revalidation is not a 304).
    const [, big] = result.rows
    expect(big?.frontPageBytes).toBeGreaterThan(result.rows[0]?.frontPageBytes ?? 0) // 300 more points on the chart
    for (const row of result.rows) expect([row.msWarm > 0, row.msCsv > 0, row.msWarmStall <= row.msWarm, row.msCsvStall <= row.msCsv]).toEqual([true, true, true, true])
    expect(result.ratios[0]).toMatchObject({ history: 0, perCandidateVsFirst: 1 })
  })

  it('an unknown bench names the ones there are', () => {
    const r = bench('nosuch')
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/usage: npm run bench -- <.*scaling.*>/)
  })
})
