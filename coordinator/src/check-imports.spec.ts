import { describe, expect, it } from 'vitest'
import { describeFrozenImport, frozenStepImports, pythonImports } from './check-imports.ts'

const manifest = (editable: string[], evaluate = ['python3', 'evaluate.py'], prepare = ['python3', 'prepare.py']) => ({
  editable,
  prepare: { command: prepare, timeoutSeconds: 60, network: false },
  evaluate: { command: evaluate, timeoutSeconds: 60, seeded: false }
})

const scan = (m: ReturnType<typeof manifest>, files: Record<string, string>) => frozenStepImports(m, Object.keys(files), (p) => files[p] ?? '')

describe('the import statements of Python source', () => {
  it('reads import, from-import, relative, aliased, parenthesised and continued statements; skips comments and docstrings', () => {
    const source = [
      '"""Evaluates.',
      'import train  (in a docstring: not code)',
      '"""',
      'import os, json as j',
      'from model import (Net,',
      '    save)',
      'from .pkg.mod import a as b',
      'from .. import sibling',
      'import a.b.c \\',
      '  , d',
      '# import commented',
      'x = importlib.import_module("train")'
    ].join('\n')
    expect(pythonImports(source).map(({ line, module, level, names }) => ({ line, module, level, names }))).toEqual([
      { line: 4, module: 'os', level: 0, names: [] },
      { line: 4, module: 'json', level: 0, names: [] },
      { line: 5, module: 'model', level: 0, names: ['Net', 'save'] },
      { line: 7, module: 'pkg.mod', level: 1, names: ['a'] },
      { line: 8, module: '', level: 2, names: ['sibling'] },
      { line: 9, module: 'a.b.c', level: 0, names: [] },
      { line: 9, module: 'd', level: 0, names: [] },
      { line: 12, module: 'train', level: 0, names: [] }
    ])
  })
})

describe('a frozen step that imports an editable file', () => {
  it('catches `from train import …` in evaluate, naming the file, the line and the statement', () => {
    const m = manifest(['train.py'])
    const found = scan(m, { 'evaluate.py': 'import json\nfrom train import Model\n', 'prepare.py': 'import os\n', 'train.py': 'X = 1\n' })
    expect(found).toEqual([{ step: 'evaluate', file: 'evaluate.py', line: 2, statement: 'from train import Model', target: 'train.py', via: [] }])
    expect(describeFrozenImport(found[0]!, m)).toMatch(/^the evaluate step's evaluate.py, line 2: "from train import Model" imports train.py, which is editable \("train.py"\): the evaluate step runs only the protected files/)
  })

  it('catches an editable directory: a package, a namespace directory, `from pkg import submodule` and dotted modules', () => {
    const files = { 'compressor/__init__.py': '', 'compressor/matcher.py': '', 'src/util.py': '', 'evaluate.py': '', 'prepare.py': '' }
    for (const [line, target] of [['import compressor', 'compressor/__init__.py'], ['from compressor.matcher import tokens', 'compressor/__init__.py'], ['import src.util', 'src/'], ['from src import util', 'src/']] as const) {
      const found = scan(manifest(['compressor/', 'src/']), { ...files, 'evaluate.py': `${line}\n` })
      expect(found.map((f) => [f.line, f.target])).toEqual([[1, target]])
    }
    // A module under an editable directory reached through a protected package.
    const through = scan(manifest(['pkg/editable/']), { 'pkg/__init__.py': '', 'pkg/editable/x.py': '', 'evaluate.py': 'from pkg.editable import x\n', 'prepare.py': '' })
    expect(through.map((f) => f.target)).toEqual(['pkg/editable/'])
  })

  it('follows protected modules: prepare → helpers.py → train.py is caught in helpers.py, with the chain', () => {
    const m = manifest(['train.py'])
    const found = scan(m, { 'prepare.py': 'import helpers\n', 'helpers.py': 'import os\n\nfrom train import VOCAB\n', 'train.py': '', 'evaluate.py': '' })
    expect(found).toEqual([{ step: 'prepare', file: 'helpers.py', line: 3, statement: 'from train import VOCAB', target: 'train.py', via: ['prepare.py'] }])
    expect(describeFrozenImport(found[0]!, m)).toContain('the prepare step\'s helpers.py (imported by prepare.py), line 3')
  })

  it('resolves relative imports, `python3 -m`, scripts in a subdirectory and scripts run by path', () => {
    const files = { 'tools/__init__.py': '', 'tools/score.py': 'from . import model\nfrom .. import train\n', 'tools/model.py': '', 'train.py': '', 'prepare.py': '' }
    expect(scan(manifest(['tools/model.py']), files).map((f) => [f.file, f.line, f.target])).toEqual([])
    const viaM = scan(manifest(['tools/model.py'], ['python3', '-m', 'tools.score']), files)
    expect(viaM.map((f) => [f.file, f.line, f.target])).toEqual([['tools/score.py', 1, 'tools/model.py']])
    // A script in tools/ imports from its own directory (Python puts the script's directory first on sys.path).
    const inDir = scan(manifest(['tools/model.py'], ['python3', 'tools/run.py']), { ...files, 'tools/run.py': 'import model\n' })
    expect(inDir.map((f) => f.target)).toEqual(['tools/model.py'])
    const byPath = scan(manifest(['train.py']), { ...files, 'evaluate.py': 'import runpy\nrunpy.run_path("train.py")\n' })
    expect(byPath.map((f) => [f.line, f.target])).toEqual([[2, 'train.py']])
  })

  it('passes the standard library, protected modules and the train step\'s own imports', () => {
    const files = { 'evaluate.py': 'import json, math\nfrom model import Net\n', 'model.py': 'import torch\n', 'prepare.py': 'import random\n', 'train.py': 'from model import Net\n' }
    expect(scan(manifest(['train.py']), files)).toEqual([])
    // `import json` does not reach an editable json.py the cause does not have.
    expect(scan(manifest(['train.py', 'json.py']), files)).toEqual([])
  })
})
