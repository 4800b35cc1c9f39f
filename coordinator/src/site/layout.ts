import { h, type Html } from './html.ts'

const NAV: Array<[string, string]> = [['/', 'Overview'], ['/queue', 'Queue'], ['/hypotheses', 'Hypotheses'], ['/contributors', 'Contributors'], ['/files', 'Files'], ['/about', 'About']]

/** The page shell: one stylesheet, one deferred script, no inline code (see the CSP in respond.ts). */
export function layout (opts: { title: string, cause: string, path: string, body: Html }): string {
  return String(h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · ${opts.cause} · autoresearch</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/site.css">
<script src="/assets/live.js" defer></script>
</head>
<body>
<header class="top">
<a class="brand" href="/">${opts.cause}<small> · autoresearch</small></a>
<nav>${NAV.map(([href, label]) => h`<a href="${href}"${opts.path === href ? h` aria-current="page"` : ''}>${label}</a>`)}</nav>
<span id="live" class="live" hidden>live</span>
</header>
<main id="main">
${opts.body}
</main>
<footer>
<p>Data as JSON under <a href="/api/status">/api/…</a> · <a href="/api/candidates.csv">candidates.csv</a> · <a href="/api/contributors.csv">contributors.csv</a> · <a href="/api/results.tsv">results.tsv</a></p>
</footer>
</body>
</html>
`)
}
