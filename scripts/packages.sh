# Sourced by scripts/test and scripts/demo: installs the Debian packages given as
# arguments when they are missing (apt-get update first), with sudo when not root.
# Packages are test peers and build tools: their system services (kamailio, …) are
# kept from starting during the install, since the tests start their own instances.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "== installing: ${missing[*]}"
    local sudo="" policy=/usr/sbin/policy-rc.d made_policy=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ ! -e "$policy" ]; then
      # invoke-rc.d consults this file: exit 101 = "do not start services".
      printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
      $sudo chmod +x "$policy"
      made_policy=1
    fi
    local status=0
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" || status=$?
    [ -z "$made_policy" ] || $sudo rm -f "$policy"
    return "$status"
  fi
}
