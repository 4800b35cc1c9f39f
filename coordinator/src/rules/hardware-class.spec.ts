import { parseManifest } from '@autoresearch/protocol'
import { describe, expect, it } from 'vitest'
import { describeReference, leaseClass, referenceClass } from './hardware-class.ts'

const H100 = 'gpu:NVIDIA H100 80GB HBM3 (80 GiB) x1'
const A100 = 'gpu:NVIDIA A100-SXM4-40GB (40 GiB) x1'
const ANY = { matters: 'any' as const }
const CLASS = { matters: 'class' as const }

describe('hardware classes in the manifest', () => {
  const base = { name: 'c', editable: ['train.py'], train: { command: ['python3', 'train.py'] }, metric: { name: 'm', direction: 'minimize', stdoutPattern: 'm: ([0-9.]+)' }, verification: { minImprovement: 0 } }

  it('hardware does not matter unless the manifest says so, and a declared reference needs "class"', () => {
    expect(parseManifest(base).hardware).toEqual(ANY)
    expect(parseManifest({ ...base, hardware: { matters: 'class', reference: ` ${H100} ` } }).hardware).toEqual({ matters: 'class', reference: H100 })
    expect(() => parseManifest({ ...base, hardware: { matters: 'any', reference: H100 } })).toThrow(/hardware\.reference: a reference class only means something with hardware\.matters "class"/)
    expect(() => parseManifest({ ...base, hardware: { matters: 'gpu' } })).toThrow(/hardware\.matters/)
  })
})

describe('leaseClass', () => {
  it('with "any", every class verifies and nothing is recorded', () => {
    expect(leaseClass({ hardware: ANY, recorded: undefined, requester: A100, counts: true })).toEqual({ kind: 'any' })
    expect(leaseClass({ hardware: ANY, recorded: H100, requester: A100, counts: true })).toEqual({ kind: 'any' })
    expect(referenceClass(ANY, H100)).toBeUndefined()
  })

  it('the first counting verifier of a "class" cause sets the reference; one on probation does not', () => {
    expect(leaseClass({ hardware: CLASS, recorded: undefined, requester: H100, counts: true })).toEqual({ kind: 'match', reference: H100, record: true })
    expect(leaseClass({ hardware: CLASS, recorded: undefined, requester: H100, counts: false })).toEqual({ kind: 'undecided' })
  })

  it('after that only the reference class verifies; another class is told which class and why', () => {
    expect(leaseClass({ hardware: CLASS, recorded: H100, requester: H100, counts: true })).toEqual({ kind: 'match', reference: H100, record: false })
    const other = leaseClass({ hardware: CLASS, recorded: H100, requester: A100, counts: true })
    expect(other).toMatchObject({ kind: 'mismatch', reference: H100 })
    expect(other.kind === 'mismatch' && other.reason).toContain(`verified only on ${H100} (the class of its first verifier); this verifier is ${A100}`)
    // A key on probation of another class is refused too: its shadow runs would be compared with the reference's.
    expect(leaseClass({ hardware: CLASS, recorded: H100, requester: A100, counts: false }).kind).toBe('mismatch')
  })

  it('a reference the manifest names wins over the recorded one, and is never recorded over it', () => {
    const declared = { matters: 'class' as const, reference: A100 }
    expect(referenceClass(declared, H100)).toBe(A100)
    expect(leaseClass({ hardware: declared, recorded: undefined, requester: A100, counts: true })).toEqual({ kind: 'match', reference: A100, record: false })
    const refused = leaseClass({ hardware: declared, recorded: H100, requester: H100, counts: true })
    expect(refused.kind === 'mismatch' && refused.reason).toContain('(the class its manifest names)')
  })

  it('tells the host which class verifies and where that comes from', () => {
    expect(describeReference(CLASS, undefined)).toBe('no reference class yet: the first verifier to ask for work sets it')
    expect(describeReference(CLASS, H100)).toBe(`verified only on ${H100}, the class recorded for this cause`)
    expect(describeReference({ ...CLASS, reference: A100 }, H100)).toBe(`verified only on ${A100}, the class the manifest names (the recorded class ${H100} is not used while the manifest names one)`)
    expect(describeReference(ANY, undefined)).toContain('verifiers of every class take jobs')
  })

  it('classes are compared exactly: one more GPU or another memory size is another class', () => {
    expect(leaseClass({ hardware: CLASS, recorded: H100, requester: H100.replace('x1', 'x2'), counts: true }).kind).toBe('mismatch')
    expect(leaseClass({ hardware: CLASS, recorded: H100, requester: H100.replace('80 GiB', '94 GiB'), counts: true }).kind).toBe('mismatch')
  })
})
