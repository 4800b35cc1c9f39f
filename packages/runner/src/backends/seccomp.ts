/**
 * A small seccomp filter for bwrap's --seccomp, in classic BPF: no nested user namespaces
 * (the kernel surface that unprivileged exploits need), no keyrings, bpf, perf events or
 * userfaultfd; other ABIs on the same machine (i386, x32) get ENOSYS so they cannot go around it.
 * Everything else is allowed: the namespaces and mounts do the isolating.
 */

import { SandboxSetupError } from '../errors.ts'

const LD_ABS_W = 0x20
const JEQ = 0x15
const JGE = 0x35
const JSET = 0x45
const RET = 0x06
const ALLOW = 0x7fff0000
const ERRNO = 0x00050000
const EPERM = 1
const ENOSYS = 38
const CLONE_NEWUSER = 0x10000000

interface Arch { audit: number, x32: boolean, nr: Record<'unshare' | 'clone' | 'clone3' | 'keyctl' | 'add_key' | 'request_key' | 'bpf' | 'perf_event_open' | 'userfaultfd', number> }

const ARCHES: Partial<Record<string, Arch>> = {
  x64: { audit: 0xc000003e, x32: true, nr: { unshare: 272, clone: 56, clone3: 435, keyctl: 250, add_key: 248, request_key: 249, bpf: 321, perf_event_open: 298, userfaultfd: 323 } },
  arm64: { audit: 0xc00000b7, x32: false, nr: { unshare: 97, clone: 220, clone3: 435, keyctl: 219, add_key: 217, request_key: 218, bpf: 280, perf_event_open: 241, userfaultfd: 282 } }
}

type Insn = { code: number, k: number, jt?: string, jf?: string } | { label: string }

/** The filter for this machine's architecture, or undefined where none is known (then bwrap runs without one). */
export function seccompFilter (arch: string = process.arch): Buffer | undefined {
  const a = ARCHES[arch]
  if (a === undefined) return undefined
  const denied = [a.nr.keyctl, a.nr.add_key, a.nr.request_key, a.nr.bpf, a.nr.perf_event_open, a.nr.userfaultfd]
  const prog: Insn[] = [
    { code: LD_ABS_W, k: 4 },
    { code: JEQ, k: a.audit, jf: 'enosys' },
    { code: LD_ABS_W, k: 0 },
    ...(a.x32 ? [{ code: JGE, k: 0x40000000, jt: 'enosys' }] : []),
    { code: JEQ, k: a.nr.unshare, jt: 'flags' },
    { code: JEQ, k: a.nr.clone, jt: 'flags' },
    // clone3 hides its flags in memory a filter cannot read; glibc falls back to clone.
    { code: JEQ, k: a.nr.clone3, jt: 'enosys' },
    ...denied.map((nr) => ({ code: JEQ, k: nr, jt: 'eperm' })),
    { code: RET, k: ALLOW },
    { label: 'flags' },
    // args[0], low 32 bits (both architectures are little-endian).
    { code: LD_ABS_W, k: 16 },
    { code: JSET, k: CLONE_NEWUSER, jt: 'eperm' },
    { code: RET, k: ALLOW },
    { label: 'eperm' },
    { code: RET, k: ERRNO | EPERM },
    { label: 'enosys' },
    { code: RET, k: ERRNO | ENOSYS }
  ]
  const at = new Map<string, number>()
  const code: Array<Exclude<Insn, { label: string }>> = []
  for (const insn of prog) {
    if ('label' in insn) at.set(insn.label, code.length)
    else code.push(insn)
  }
  const buf = Buffer.alloc(code.length * 8)
  code.forEach((insn, i) => {
    const jump = (label: string | undefined): number => {
      if (label === undefined) return 0
      const offset = (at.get(label) as number) - i - 1
      if (offset < 0 || offset > 255) throw new SandboxSetupError(`seccomp jump to ${label} out of range`)
      return offset
    }
    buf.writeUInt16LE(insn.code, i * 8)
    buf.writeUInt8(jump(insn.jt), i * 8 + 2)
    buf.writeUInt8(jump(insn.jf), i * 8 + 3)
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4)
  })
  return buf
}
