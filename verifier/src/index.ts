export { Verifier, sleep, type VerifierOptions, type VerifierEvent } from './verifier.ts'
export { describeVerifierEvent } from './describe.ts'
export { verifierHardware } from './slots.ts'

