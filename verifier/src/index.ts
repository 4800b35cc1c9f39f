export { Verifier, sleep, type VerifierOptions, type VerifierEvent } from './verifier.ts'
export { describeHardware } from './hardware.ts'
