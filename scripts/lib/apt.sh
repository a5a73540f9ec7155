# shellcheck shell=bash
# apt_install_missing TAG PACKAGE...: install the Debian packages that are not installed yet
# (idempotent, no terminal needed; sudo when not root). Sourced by the setup scripts.
apt_install_missing() {
  local tag=$1 pkg sudo=""
  shift
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "$tag: installing system packages: ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}
