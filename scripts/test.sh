#!/usr/bin/env bash
# The project's test command (README: `npm test`): type check, lint, format check, then the
# whole vitest suite. It ends with one line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."

# The integration tests (test/integration) run a real Dovecot + Postfix on loopback high ports
# from a temporary folder (scripts/mailstack.sh); install the Debian packages when missing
# (apt-get, as root), and python3-icalendar for test/calendar/crossparse.test.ts. Without them
# those tests fail, they are not skipped.
bash scripts/mailstack.sh install || exit 1

npx tsc -p tsconfig.json --noEmit || exit 1
npx eslint . || exit 1
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }

results="$(mktemp -t vitest-results.XXXXXX.json)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
code=$?
node scripts/test-summary.mjs "$results" || code=1
rm -f "$results"
exit $code
