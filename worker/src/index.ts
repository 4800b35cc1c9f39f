export { Worker, type WorkerOptions, type WorkerEvent } from './worker.ts'
export { ResultsLog, type ResultRow, type ResultStatus } from './results.ts'
export { searchAgent, prng } from './agents/search.ts'
export type { Agent, AgentContext, Proposal } from './agents/types.ts'
