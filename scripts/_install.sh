# Sourced by the set-up scripts: install Python packages into a virtual environment.
#
# uv installs the ~310 pinned wheels of .venv in about 15 s where pip takes a minute and a half
# (it resolves, downloads and unpacks in parallel), so set-up uses it when it can be had, and pip
# when not (offline, or EMILY_INSTALLER=pip). uv does not read pip's configuration, so the
# machine's pip settings (find-links, extra indexes, constraints: a local wheel mirror, a cap on
# torch) are passed on to it, and it may take a pin from any index, as pip does.
# Usage: install_packages VENV PIP-INSTALL-ARGUMENTS...

uv_version=0.13.9

# Machines with a local wheel mirror warn once per package about absent mirror folders: noise.
quiet() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }

# pip's own settings as uv options (`pip config list` prints key='value value ...').
pip_settings_for_uv() {
  local venv=$1 key value item
  while IFS='=' read -r key value; do
    value=${value#\'}; value=${value%\'}
    for item in $value; do
      case $key in
        *.find-links) printf '%s\n' --find-links "$item" ;;
        *.extra-index-url) printf '%s\n' --extra-index-url "$item" ;;
        *.index-url) printf '%s\n' --index-url "$item" ;;
        *.constraint) [[ -f $item ]] && printf '%s\n' --constraint "$item" ;;
      esac
    done
  done < <("$venv/bin/python" -m pip config list 2>/dev/null)
}

install_packages() {
  local venv=$1
  shift
  if [[ ${EMILY_INSTALLER:-uv} == uv ]] && quiet "$venv/bin/python" -m pip install -q "uv==$uv_version" 2>/dev/null; then
    local settings=()
    mapfile -t settings < <(pip_settings_for_uv "$venv")
    # Hard links from uv's cache (uv's own default on Linux; it copies where the cache is on
    # another file system): .venv from a clean clone in 7 s of wall, against 19 s copying.
    UV_LINK_MODE=${UV_LINK_MODE:-hardlink} "$venv/bin/uv" pip install -q --python "$venv/bin/python" \
      --index-strategy unsafe-best-match "${settings[@]}" "$@" && return
    echo "install: uv failed (above); installing with pip instead" >&2
  fi
  quiet "$venv/bin/python" -m pip install -q --upgrade pip
  quiet "$venv/bin/python" -m pip install -q "$@"
}
