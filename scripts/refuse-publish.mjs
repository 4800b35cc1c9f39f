#!/usr/bin/env node
// `prepublishOnly` of every workspace package: a workspace runs TypeScript sources and
// depends on workspace packages that are not on the registry, so publishing it as it is
// would ship a package that cannot run. Points at the real release step instead.
import { readFileSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'

const manifestPath = resolve(process.env.npm_package_json ?? 'package.json')
const pkg = JSON.parse(readFileSync(manifestPath, 'utf8'))
const workspace = basename(dirname(manifestPath))
const instead = pkg.scripts?.pack !== undefined
  ? `publish its bundle instead: \`npm run pack -w ${workspace}\`, then \`npm publish ${workspace}/dist/${pkg.name}-${pkg.version}.tgz\``
  : `${pkg.name} is not published yet: run it from a clone of the repository`
console.error(`refusing to publish ${pkg.name} from its workspace (TypeScript sources, unpublished workspace dependencies): ${instead} (docs/publishing.md)`)
process.exit(1)
