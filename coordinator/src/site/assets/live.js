// Progressive enhancement for the leaderboard site: the pages are complete without
// it. On each coordinator event (server-sent events from /api/events) the page's
// <main> is fetched again and swapped in, at most once a second. Nothing from the
// event stream is ever written into the page: only the server's escaped HTML is.
(() => {
  'use strict'
  if (typeof EventSource === 'undefined' || typeof DOMParser === 'undefined') return
  const badge = document.getElementById('live')
  const show = (text, ok) => {
    if (badge === null) return
    badge.hidden = false
    badge.textContent = text
    badge.className = ok ? 'live on' : 'live'
  }
  let timer = null
  let last = 0
  let busy = false
  const refresh = async () => {
    timer = null
    if (busy) { schedule(); return }
    busy = true
    last = Date.now()
    try {
      const res = await fetch(location.href, { cache: 'no-cache', headers: { Accept: 'text/html' } })
      if (!res.ok) return
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html')
      const fresh = doc.querySelector('main')
      const main = document.querySelector('main')
      if (fresh !== null && main !== null) {
        main.replaceWith(document.adoptNode(fresh))
        document.title = doc.title
        document.documentElement.dataset.liveUpdates = String(Number(document.documentElement.dataset.liveUpdates || 0) + 1)
      }
    } catch (err) {
      // The next event tries again.
      console.debug('live update failed; the next event retries', err)
    } finally {
      busy = false
    }
  }
  const schedule = () => {
    if (timer !== null) return
    timer = setTimeout(refresh, Math.max(250, 1000 - (Date.now() - last)))
  }
  const source = new EventSource('/api/events')
  source.addEventListener('open', () => show('live', true))
  source.addEventListener('error', () => show('reconnecting…', false))
  for (const type of ['receipt', 'leased', 'verdict', 'merged', 'best-changed', 'stale', 'rebased', 'grouped', 'experiments-reported', 'hypotheses-posted', 'digest-written']) {
    source.addEventListener(type, schedule)
  }
})()
