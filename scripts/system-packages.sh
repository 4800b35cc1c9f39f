#!/usr/bin/env bash
# The Debian/Ubuntu packages this project needs, in one place: `.ci/run` asks for `test`
# (everything the tests use), `npm run demo` for `demo`, and `build` is what `npm ci` needs
# where better-sqlite3 must be compiled (no prebuilt binary can be downloaded).
# Installs the missing ones with apt-get as root, or with `sudo -n` (never a password
# prompt, so it also works with no terminal); where it cannot, it installs nothing, names
# each missing package and prints the command that installs them, and exits 1.
#
# Usage: scripts/system-packages.sh [--check] demo|build|test...
#   --check   only report what is missing (exit 1 when something is); never install
# Programs are looked up on PATH only (apt-get and sudo too), so a caller controls both.
set -uo pipefail

check_only=false
groups=()
for arg in "$@"; do
  case "$arg" in
    --check) check_only=true ;;
    demo|build|test) groups+=("$arg") ;;
    *) echo "system-packages: unknown argument \"$arg\" (usage: $0 [--check] demo|build|test...)" >&2; exit 2 ;;
  esac
done
[ ${#groups[@]} -gt 0 ] || { echo "system-packages: name a group: demo, build or test" >&2; exit 2; }
wants () { [[ " ${groups[*]} " == *" $1 "* ]]; }

# The sandbox shows only the system's directories (docs/sandbox.md), so a python3 in
# ~/.pyenv or a conda env does not count: it must be one of these.
system_python () { for d in /usr/local/bin /usr/bin /bin; do [ -x "$d/python3" ] && return 0; done; return 1; }

need () { missing+=("$1"); why+=("$2"); }
# Fills `missing` and `why` with what the asked-for groups lack.
collect () {
  missing=()
  why=()
  if wants demo || wants test || wants build; then
    system_python || need python3 "runs the example causes (the sandbox sees only the system's python3) and node-gyp"
  fi
  if wants demo || wants test; then
    command -v bwrap >/dev/null 2>&1 || need bubblewrap "the sandbox every experiment runs in"
  fi
  if wants build || wants test; then
    command -v make >/dev/null 2>&1 || need make "builds better-sqlite3 from source where no prebuilt binary can be downloaded"
    command -v g++ >/dev/null 2>&1 || need g++ "compiles better-sqlite3"
  fi
  if wants test; then
    command -v slirp4netns >/dev/null 2>&1 || need slirp4netns "gives a prepare step its own network namespace (packages/runner/test/network.test.ts)"
    PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null 2>&1 || need iproute2 "sets up the routes inside that namespace"
    command -v chromium >/dev/null 2>&1 || need chromium "loads the site in its browser tests (tests/site-browser.test.ts)"
    # The sandbox runs the system's python3, so torch must be importable by it.
    /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need python3-torch "runs examples/tiny-gpt and its tests"
    # Without it python3-torch falls back to the reference BLAS, ~10x slower (a run would time out).
    { command -v dpkg >/dev/null 2>&1 && dpkg -s libopenblas0 >/dev/null 2>&1; } || need libopenblas0 "a fast BLAS for python3-torch"
  fi
}
collect
[ ${#missing[@]} -eq 0 ] && exit 0

for i in "${!missing[@]}"; do echo "system-packages: ${missing[$i]} is missing: ${why[$i]}" >&2; done

root=false; [ "${EUID:-$(id -u 2>/dev/null || echo 1)}" = 0 ] && root=true
fix="apt-get install -y ${missing[*]}"
$root || fix="sudo $fix"
refuse () {
  echo "system-packages: not installing: $1" >&2
  echo "system-packages: to fix, run \`$fix\` (Debian/Ubuntu; elsewhere install ${missing[*]} with your package manager), then run this again" >&2
  exit 1
}
$check_only && refuse "asked only to check"
command -v apt-get >/dev/null 2>&1 || refuse "no apt-get on PATH"
if $root; then
  as_root=(env); how="as root"
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
  as_root=(sudo -n env); how="through sudo -n"
else
  refuse "not root, and sudo is missing or asks for a password"
fi

echo "system-packages: installing ${missing[*]} with apt-get $how" >&2
"${as_root[@]}" apt-get update -qq >&2 &&
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
  { echo "system-packages: apt-get failed; to fix, run \`$fix\` by hand" >&2; exit 1; }
installed=("${missing[@]}")
collect
[ ${#missing[@]} -eq 0 ] && { echo "system-packages: installed ${installed[*]}" >&2; exit 0; }
echo "system-packages: installed, yet still not found on PATH (${PATH}): ${missing[*]}" >&2
exit 1
