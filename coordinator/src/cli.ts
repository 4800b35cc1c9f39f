import '@autoresearch/protocol'
import { resolve } from 'node:path'
import { Command } from 'commander'
import { describeEvent } from './events.ts'
import { initHome } from './home.ts'
import { serveCoordinator } from './serve.ts'

const program = new Command('autoresearch-coordinator')
  .description('Host an autoresearch cause: publish its best commit, take signed submissions, lease verification, merge verified improvements.')
  .showHelpAfterError()

program.command('init')
  .description('make a coordinator home from a cause directory (its files become the first best)')
  .requiredOption('--home <dir>', 'coordinator home to create')
  .requiredOption('--from <cause dir>', 'directory holding autoresearch.json and the cause files')
  .action(async (opts: { home: string, from: string }) => {
    const { causeId, commit, paths } = await initHome(resolve(opts.home), resolve(opts.from))
    console.log(`initialised ${causeId} in ${paths.home}`)
    console.log(`  best commit      ${commit}`)
    console.log(`  identity         ${paths.identity}`)
    console.log(`  host's verifier  ${paths.verifierIdentity} (allowlisted in ${paths.config})`)
    console.log(`next: autoresearch-coordinator serve --home ${opts.home}`)
  })

program.command('serve')
  .description('serve the cause on libp2p and HTTP until interrupted')
  .requiredOption('--home <dir>', 'coordinator home made by init')
  .option('--listen <multiaddr...>', 'libp2p listen addresses', ['/ip4/0.0.0.0/tcp/4001'])
  .option('--http-port <port>', 'HTTP port for the status API (0 picks a free one)', '8080')
  .option('--http-host <host>', 'HTTP bind address', '127.0.0.1')
  .option('--json', 'print events as JSON lines instead of text')
  .action(async (opts: { home: string, listen: string[], httpPort: string, httpHost: string, json?: boolean }) => {
    const running = await serveCoordinator({ home: resolve(opts.home), listen: opts.listen, httpPort: Number(opts.httpPort), httpHost: opts.httpHost })
    const print = (line: string, json: object): void => { console.log(opts.json === true ? JSON.stringify(json) : line) }
    print([`coordinator ready: ${running.coordinator.causeId}`, ...running.multiaddrs.map((a) => `  libp2p ${a}`), `  http   ${running.httpUrl}`].join('\n'),
      { event: 'ready', causeId: running.coordinator.causeId, multiaddrs: running.multiaddrs, http: running.httpUrl })
    running.coordinator.on('event', (e) => { print(describeEvent(e), { event: e.type, ...e }) })
    let stopping = false
    const stop = (): void => {
      if (stopping) return
      stopping = true
      running.stop().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })

program.parseAsync().catch((err: Error) => {
  console.error(`autoresearch-coordinator: ${err.name}: ${err.message}`)
  process.exit(1)
})
