import { describe, expect, it } from 'vitest'
import { describeHardware, hardwareClass, hardwareClassArg, MAX_CLASS_CHARS, parseNvidiaSmi } from './hardware.ts'

// What `nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits` prints.
const H100x2 = '0, NVIDIA H100 80GB HBM3, 81559\n1, NVIDIA H100 80GB HBM3, 81559\n'
const MIXED = '0, NVIDIA GeForce RTX 4090, 24564\n1, NVIDIA A100-SXM4-40GB, 40960\n2, NVIDIA GeForce RTX 4090, 24564\n'
const CPU = { model: 'AMD EPYC 7B13 64-Core Processor', count: 2, memoryBytes: 8 * 2 ** 30 }

describe('parseNvidiaSmi', () => {
  it('reads index, name and memory of each GPU, and narrows to CUDA_VISIBLE_DEVICES', () => {
    expect(parseNvidiaSmi(H100x2)).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 }
    ])
    expect(parseNvidiaSmi(MIXED, '1').map((g) => g.name)).toEqual(['NVIDIA A100-SXM4-40GB'])
    expect(parseNvidiaSmi(MIXED, ' 0,2 ').map((g) => g.index)).toEqual([0, 2])
    expect(parseNvidiaSmi(MIXED, '').length).toBe(3)
  })

  it('keeps a name with commas whole and leaves out lines that are not GPUs', () => {
    expect(parseNvidiaSmi('0, Odd, Name GPU, 1024\n')).toEqual([{ index: 0, name: 'Odd, Name GPU', memoryMiB: 1024 }])
    expect(parseNvidiaSmi('No devices were found\n\n')).toEqual([])
    expect(parseNvidiaSmi('x, Card, 1024\n0, Card, [N/A]\n')).toEqual([{ index: 0, name: 'Card', memoryMiB: 0 }])
  })
})

describe('hardwareClass', () => {
  it('names GPU model, memory and count; a GPU machine\'s CPU does not matter', () => {
    expect(hardwareClass(parseNvidiaSmi(H100x2), CPU)).toBe('gpu:NVIDIA H100 80GB HBM3 (80 GiB) x2')
    expect(hardwareClass(parseNvidiaSmi(H100x2, '1'), CPU)).toBe('gpu:NVIDIA H100 80GB HBM3 (80 GiB) x1')
    expect(hardwareClass(parseNvidiaSmi(H100x2), { ...CPU, count: 64 })).toBe(hardwareClass(parseNvidiaSmi(H100x2), CPU))
  })

  it('sets GPUs of the same model and memory apart from others by memory, in one order whatever the index order', () => {
    const a = hardwareClass([{ index: 0, name: 'NVIDIA A100-SXM4', memoryMiB: 40960 }], CPU)
    const b = hardwareClass([{ index: 0, name: 'NVIDIA A100-SXM4', memoryMiB: 81920 }], CPU)
    expect(a).not.toBe(b)
    expect(hardwareClass(parseNvidiaSmi(MIXED), CPU)).toBe('gpu:NVIDIA A100-SXM4-40GB (40 GiB) x1 + NVIDIA GeForce RTX 4090 (24 GiB) x2')
    expect(hardwareClass(parseNvidiaSmi(MIXED).reverse(), CPU)).toBe(hardwareClass(parseNvidiaSmi(MIXED), CPU))
  })

  it('without GPUs names the CPU model, cores and memory, spaces squeezed, within the protocol\'s length', () => {
    expect(hardwareClass([], { ...CPU, model: '  AMD  EPYC 7B13 64-Core Processor ' })).toBe('cpu:AMD EPYC 7B13 64-Core Processor x2 (8 GiB)')
    expect(hardwareClass([], { ...CPU, model: '' })).toBe('cpu:unknown cpu x2 (8 GiB)')
    expect(hardwareClass([], { ...CPU, model: 'x'.repeat(500) }).length).toBe(MAX_CLASS_CHARS)
  })
})

describe('describeHardware', () => {
  it('takes a given class instead of the detected one and still lists the GPUs', () => {
    const hw = describeHardware(parseNvidiaSmi(H100x2), 'gpu:test-class-a')
    expect(hw.class).toBe('gpu:test-class-a')
    expect(hw.gpus).toEqual(['NVIDIA H100 80GB HBM3 (80 GiB)', 'NVIDIA H100 80GB HBM3 (80 GiB)'])
    expect(describeHardware([]).class).toMatch(/^cpu:.+ x\d+ \(\d+ GiB\)$/)
    expect(describeHardware([], '  ').class).toBe(describeHardware([]).class)
  })

  it('--hardware-class refuses an empty or overlong class with commander\'s error', () => {
    expect(hardwareClassArg(' gpu:x ')).toBe('gpu:x')
    for (const bad of ['', '  ', 'x'.repeat(MAX_CLASS_CHARS + 1)]) expect(() => hardwareClassArg(bad)).toThrow(expect.objectContaining({ code: 'commander.invalidArgument' }))
  })
})
