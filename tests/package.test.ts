import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from './processes.ts'
import { TestNetwork } from './network.ts'

describe('the published worker package', () => {
  let net: TestNetwork | undefined
  afterAll(async () => { await net?.stop() })

  it('packs into one tarball that runs from an empty folder with npx, offline, and does real work', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ar-pack-'))
    const tarball = execFileSync(process.execPath, [join(ROOT, 'worker', 'scripts', 'pack.mjs'), '--out', out], { encoding: 'utf8' }).trim()
    expect(basename(tarball)).toMatch(/^autoresearch-worker-\d+\.\d+\.\d+\.tgz$/)
    const empty = mkdtempSync(join(tmpdir(), 'ar-empty-'))
    copyFileSync(tarball, join(empty, basename(tarball)))
    // Asynchronous: the coordinator this worker talks to runs in this very process.
    const npx = async (args: string[]): Promise<{ status: number, stdout: string, stderr: string }> => {
      try {
        const { stdout, stderr } = await promisify(execFile)('npx', ['--offline', '--yes', `./${basename(tarball)}`, ...args], { cwd: empty, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_cache: join(empty, '.npm-cache') } })
        return { status: 0, stdout, stderr }
      } catch (err) {
        const e = err as { code?: number, stdout?: string, stderr?: string }
        return { status: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) }
      }
    }

    const help = await npx(['--help'])
    expect(help.status, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/^Usage: autoresearch-worker/)
    expect(help.stdout).toContain('--coordinator <multiaddr>')

    net = await TestNetwork.start(join(ROOT, 'examples', 'toy-regression'))
    const run = await npx(['--coordinator', net.address, '--max-experiments', '2', '--state', join(empty, 'state'), '--identity', join(empty, 'id.key'), '--json'])
    expect(run.status, run.stderr).toBe(0)
    const rows = readFileSync(join(empty, 'state', 'results.tsv'), 'utf8').trim().split('\n')
    expect(rows[0]).toBe('commit\tmetric\tmemory_gb\tstatus\tdescription')
    expect(rows.length).toBeGreaterThanOrEqual(3)
  })

  it('refuses `npm publish` of a workspace as it is, pointing at the real release step', () => {
    // --offline: the refusal comes before npm would ask the registry anything.
    const publish = (workspace: string, ...flags: string[]): { status: number | null, output: string } => {
      const r = spawnSync('npm', ['publish', '--dry-run', '--offline', ...flags, '-w', workspace], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
      return { status: r.status, output: r.stdout + r.stderr }
    }
    const worker = publish('worker')
    expect(worker.status, worker.output).not.toBe(0)
    expect(worker.output).toContain('refusing to publish autoresearch-worker from its workspace')
    expect(worker.output).toContain('`npm run pack -w worker`, then `npm publish worker/dist/autoresearch-worker-')
    for (const [workspace, name] of [['verifier', 'autoresearch-verifier'], ['coordinator', 'autoresearch-coordinator']]) {
      const r = publish(workspace as string)
      expect(r.status, r.output).not.toBe(0)
      expect(r.output).toContain(`refusing to publish ${name as string} from its workspace`)
      expect(r.output).toContain('is not published yet')
    }
    // Without scripts "private" still stops it before anything is sent.
    const unscripted = publish('worker', '--ignore-scripts')
    expect(unscripted.output).toContain('Skipping workspace autoresearch-worker, marked as private')
    expect(unscripted.output).not.toContain('Publishing to')
  })
})
