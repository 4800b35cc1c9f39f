import type { credits } from '../../admin.ts'
import type { Coordinator } from '../../coordinator.ts'
import type { HomePaths } from '../../home.ts'
import type { Store } from '../../store/index.ts'

/** What the site reads of the store: its own views, the rows it shows (experiment reports, hypotheses and digests included), and what credits() reads. */
export type SiteStore = Pick<Store, 'views' | 'candidate' | 'candidateByCommit' | 'merges' | 'attestationsFor' | 'experiments' | 'experimentCount' | 'latestExperimentsOn' | 'experimentTally' | 'hypotheses' | 'experimentsOfHypothesis' | 'latestDigest' | 'hardwareReference' | 'latestRebase' | 'groupMembers' | 'isMergedCommit'> & Parameters<typeof credits>[0]

/** What the site reads of the coordinator: its cause, its status, its repository (for diffs) and its store. */
export type SiteDeps = Pick<Coordinator, 'manifest' | 'causeId' | 'status'> & { paths: Pick<HomePaths, 'gitdir'>, store: SiteStore }
