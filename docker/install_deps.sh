#!/usr/bin/env bash
# Installs what walship needs to build and run on Debian 12 (bookworm), only what is missing.
#   bash docker/install_deps.sh               build and runtime dependencies
#   bash docker/install_deps.sh --test-peers  also the peers the tests start: kcat, aws cli,
#                                             promtool, python3/botocore, node + s3rver
# s3rver goes into $WALSHIP_PEERS_DIR (default /opt/walship-test-peers, or
# ~/.cache/walship-test-peers when not root); its path is printed as WALSHIP_S3RVER_JS=...
# Run as root, or as a user with sudo; without either it prints what to install.
set -euo pipefail

test_peers=0
for arg in "$@"; do
  case "$arg" in
    --test-peers) test_peers=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install_deps.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

packages=(git ca-certificates build-essential cmake ninja-build pkg-config
  postgresql-15 postgresql-client-15 libpq-dev librdkafka-dev libprotobuf-dev
  protobuf-compiler libabsl-dev libzstd-dev prometheus-cpp-dev libgtest-dev libgmock-dev
  libcli11-dev libcurl4-openssl-dev libssl-dev zlib1g-dev)
if [[ $test_peers == 1 ]]; then
  packages+=(kcat awscli prometheus python3 python3-botocore python3-yaml docker-compose nodejs
    npm curl procps time openssl)
fi

missing=()
for pkg in "${packages[@]}"; do
  # A nodejs from another source (e.g. nodesource) bundles npm and conflicts with Debian's.
  if [[ $pkg == nodejs || $pkg == npm ]] && command -v "${pkg/nodejs/node}" >/dev/null 2>&1; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [[ $(id -u) == 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  sudo=(none)
fi

if ((${#missing[@]} > 0)); then
  if [[ ${sudo[0]-} == none ]]; then
    echo "install_deps.sh: not root and no sudo; please install as root:" >&2
    echo "  apt-get install -y --no-install-recommends --no-upgrade ${missing[*]}" >&2
    exit 1
  fi
  echo "install_deps.sh: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  # --no-upgrade: naming libpq-dev would otherwise upgrade a running PostgreSQL's packages.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends --no-upgrade "${missing[@]}"
else
  echo "install_deps.sh: all ${#packages[@]} packages already installed"
fi

if [[ $test_peers == 1 ]]; then
  if [[ -n ${WALSHIP_PEERS_DIR-} ]]; then
    peers_dir=$WALSHIP_PEERS_DIR
  elif [[ $(id -u) == 0 ]]; then
    peers_dir=/opt/walship-test-peers
  else
    peers_dir=${XDG_CACHE_HOME:-$HOME/.cache}/walship-test-peers
  fi
  s3rver_js=$peers_dir/node_modules/s3rver/bin/s3rver.js
  if [[ ! -f $s3rver_js ]]; then
    mkdir -p "$peers_dir"
    echo "install_deps.sh: installing s3rver into $peers_dir"
    (cd "$peers_dir" && npm install --no-audit --no-fund --no-save --loglevel=error s3rver@3.7.1)
  fi
  [[ -f $s3rver_js ]] || { echo "install_deps.sh: s3rver missing after npm install" >&2; exit 1; }
  echo "WALSHIP_S3RVER_JS=$s3rver_js"
fi
