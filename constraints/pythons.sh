# Sourced by .ci/run and constraints/update.sh: which Python interpreters the project tests.

# The newest Python among 3.13 and 3.12 (python3.X on PATH, else pyenv's newest 3.X), as a
# command; with "pinned", only one that has a constraints file here. Prints nothing if none.
newest_python() {
  for minor in 3.13 3.12; do
    if [ "${1:-}" = pinned ] && [ ! -f "constraints/python$minor.txt" ]; then continue; fi
    if command -v "python$minor" >/dev/null && "python$minor" -c "" 2>/dev/null; then
      echo "python$minor"; return
    fi
    if command -v pyenv >/dev/null; then
      version="$(pyenv versions --bare | grep -E "^${minor//./\\.}\\.[0-9]+$" | sort -V | tail -1)"
      if [ -n "$version" ]; then echo "env PYENV_VERSION=$version python$minor"; return; fi
    fi
  done
}

# The constraints file of interpreter "$@" (constraints/python3.X.txt), or nothing.
constraints_of() {
  minor="$("$@" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if [ -f "constraints/python$minor.txt" ]; then echo "constraints/python$minor.txt"; fi
}
