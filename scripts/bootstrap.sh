#!/usr/bin/env bash
# Bring this machine to what `make test` and `make demo` need, and do nothing when it is
# already there: Debian packages (bindep.txt), the virtualenv from requirements.lock, the
# offline pip bootstrap for ansible-test, and the collection path ansible uses.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

say() { printf 'bootstrap: %s\n' "$*"; }

# 1. Debian packages named in bindep.txt for the "lab" and "test" profiles.
missing=()
while read -r pkg; do
  [ -n "$pkg" ] || continue
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done < <(sed -n 's/^\([a-z0-9][a-z0-9.+-]*\) \[platform:dpkg.*/\1/p' bindep.txt)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${missing[*]} (run as root, or install them first)" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/golive-apt.log 2>&1; then
    apt-get update -qq >>/tmp/golive-apt.log 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/golive-apt.log 2>&1 \
      || { say "apt-get install failed; see /tmp/golive-apt.log" >&2; tail -20 /tmp/golive-apt.log >&2; exit 1; }
  fi
fi

# 2. The virtualenv, exactly as pinned. The lock's hash is stamped inside the venv.
want=$(sha256sum requirements.lock | cut -d' ' -f1)
have=$(cat "$VENV/.requirements.lock.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  say "installing pinned Python packages into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v 'is ignored' || true
  # uv (pinned in the lock) installs the lock's ~250 wheels in seconds where pip takes most of a
  # minute; pip installs them when uv cannot (no network for its cache, an unknown platform).
  uv_pin=$(grep -i '^uv==' requirements.lock || true)
  if [ -n "$uv_pin" ] && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$uv_pin" 2>/dev/null \
      && "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -r requirements.lock; then
    :
  else
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock 2>&1 \
      | grep -v 'is ignored' || true
  fi
  "$VENV/bin/python" -m pip check
  echo "$want" > "$VENV/.requirements.lock.sha256"
fi

# 3. ansible-test fetches a pip bootstrap script from the network; give it a local one.
at_dir=$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" "$at_dir/_internal/python_requirements.py" | head -1)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [ -n "$pip_version" ] && [ ! -f "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp scripts/offline_get_pip.py "$cache"
  say "placed the offline pip bootstrap at $cache"
fi

# 4. A collections path in which golive.core is this checkout.
link=.cache/collections/ansible_collections/golive/core
if [ ! -L "$link" ]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn ../../../.. "$link"
fi
