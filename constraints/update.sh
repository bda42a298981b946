#!/usr/bin/env bash
# Moves the pins: for python3 and the newest Python 3.13/3.12, a fresh venv with the newest
# releases of jaxgan's dependencies (pip install -e ".[test]"), frozen into
# constraints/python3.X.txt. Then run `bash .ci/run` and commit the files on their own
# (constraints/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=constraints/pythons.sh
source constraints/pythons.sh

freeze_with() {
  minor="$("$@" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  full="$("$@" -c 'import sys; print(sys.version.split()[0])')"
  venv="$(mktemp -d)/venv"
  "$@" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/pip" install -q -e ".[test]"
  out="constraints/python$minor.txt"
  {
    echo "# The exact versions .ci/run tests on Python $minor (CPU; installed $(date +%F) on Python $full)."
    echo "# Install them with: pip install -e \".[test]\" -c $out"
    echo "# Updated deliberately, in a commit of its own, after the whole suite passed on the new versions:"
    echo "# see constraints/README.md."
    "$venv/bin/pip" freeze --all --exclude-editable | grep -v '^#'
  } >"$out"
  echo "wrote $out ($(grep -E '^(jax|flax)==' "$out" | tr '\n' ' '))"
  rm -rf "$(dirname "$venv")"
}

freeze_with python3
newest="$(newest_python)"
# shellcheck disable=SC2086
if [ -n "$newest" ]; then freeze_with $newest; fi
