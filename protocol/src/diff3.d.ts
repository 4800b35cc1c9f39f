/** Types for `diff3` 0.0.3 (it ships none): the line merge isomorphic-git's own merge uses. */
declare module 'diff3' {
  export type Diff3Item<T> = { ok: T[], conflict?: undefined } | { ok?: undefined, conflict: { a: T[], aIndex: number, o: T[], oIndex: number, b: T[], bIndex: number } }
  /** Merges `a` and `b`, both changed from `o`, hunk by hunk. */
  export default function diff3Merge<T> (a: T[], o: T[], b: T[]): Array<Diff3Item<T>>
}
