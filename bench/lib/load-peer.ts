/**
 * One process of simulated volunteers for the load suite: `--peers` libp2p peers, each
 * with its own identity, that connect to the coordinator the way a worker does (an
 * `info` request, then the cause's best topic) and stay connected. Stdout is JSON
 * lines: `ready` once every peer sees the coordinator on the topic, `disconnected`
 * when a peer loses its coordinator, and one `announcement` per announcement received,
 * with its delay from the body's `time` (the coordinator's clock is this machine's).
 */
import { parseArgs } from 'node:util'
import { Announcement, bestTopic, CoordinatorClient, createNode, Identity, parseMessage, verifySignature, type AutoresearchNode } from '@autoresearch/protocol'

const { values } = parseArgs({
  options: {
    coordinator: { type: 'string' }, peers: { type: 'string', default: '25' }, label: { type: 'string', default: '0' }, 'max-seconds': { type: 'string', default: '900' }
  }
})
const emit = (event: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(event) + '\n') }

const nodes: AutoresearchNode[] = []
let stopping = false
async function stop (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    await Promise.race([Promise.all(nodes.map(async (n) => n.stop())), new Promise((resolve) => setTimeout(resolve, 3000))])
  }
  process.exit(code)
}
process.on('SIGTERM', () => { void stop(0) })
process.on('SIGINT', () => { void stop(0) })
// No orphans: a bench that died without stopping us (reparented) or a run past its bound ends this process.
const parent = process.ppid
setInterval(() => { if (process.ppid !== parent) void stop(1) }, 1000).unref()
setTimeout(() => { emit({ event: 'expired' }); void stop(1) }, Number(values['max-seconds']) * 1000).unref()

// Every peer dials from 127.0.0.1, as volunteers behind one NAT would: gossipsub's
// IP-colocation penalty once silenced such peers (see protocol/src/node.ts).
const address = values.coordinator as string
let key = ''
let topic = ''
for (let i = 0; i < Number(values.peers); i++) {
  const peer = `${values.label}.${i}`
  const node = await createNode({ identity: Identity.generate() })
  nodes.push(node)
  const info = await new CoordinatorClient(node, address).info({ signal: AbortSignal.timeout(30_000) })
  key = info.coordinatorKey
  topic = bestTopic(info.causeId)
  node.addEventListener('peer:disconnect', () => { emit({ event: 'disconnected', peer }) })
  node.services.pubsub.addEventListener('message', (evt) => {
    const receivedAt = Date.now()
    if (evt.detail.topic !== topic) return
    try {
      const { body, signature } = parseMessage(Announcement, evt.detail.data)
      const verified = body.causeId === info.causeId && verifySignature('announcement', body, signature, info.coordinatorKey)
      emit({ event: 'announcement', peer, commit: body.best.commit, seq: body.best.seq, latencyMs: receivedAt - body.time, verified })
    } catch (err) {
      emit({ event: 'announcement', peer, verified: false, error: (err as Error).message })
    }
  })
  node.services.pubsub.subscribe(topic)
}

// Gossipsub exchanges subscriptions both ways when its stream opens; seeing the
// coordinator's subscription means ours has been sent to it too.
const deadline = Date.now() + 60_000
const subscribed = (): number => nodes.filter((n) => n.services.pubsub.getSubscribers(topic).length > 0).length
while (subscribed() < nodes.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
emit({ event: 'ready', peers: nodes.length, subscribed: subscribed(), coordinatorKey: key })
