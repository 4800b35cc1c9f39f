/** Polls `condition` every 20 ms until it holds; throws, naming `what`, after `ms`. */
export async function until (condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
