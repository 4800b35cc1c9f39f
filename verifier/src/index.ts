export { Verifier, sleep, type VerifierOptions, type VerifierEvent } from './verifier.ts'

