#!/usr/bin/env node
// Runs load-peer.ts through tsx's loader, as the project's bins do, so tests/processes.ts can start it.
import { register } from 'tsx/esm/api'
register()
await import('./load-peer.ts')
