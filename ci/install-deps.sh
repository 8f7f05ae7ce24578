#!/usr/bin/env bash
# install-deps.sh — installs with apt-get whatever `make test` (libsodium-dev for every build;
# `make fuzz`: clang and
# its libFuzzer runtime; `make swarm-parallel`: GNU parallel; .clusterfuzzlite/build.sh:
# zip; tests/real: iproute2, nftables and libfuse3; the engine tests of tests/engines: Slurm
# with munge and sshd; tests/engines/test_k8s_job.py: Node.js and npm) needs and is
# missing, then the npm package kubernetes-models (the Kubernetes API schemas, which validate
# the Job manifest offline) into build/k8s-validator/, project-local, never global.
# Idempotent and quick when everything is present (no apt-get or npm call at all then).
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd gcc || need+=(gcc)
# the C library's headers and startup files, explicitly: gcc alone does not promise them
have_pkg libc6-dev || need+=(libc6-dev)
have_cmd make || need+=(make)
have_cmd nm || need+=(binutils)          # ci/lint.sh checks core's objects with nm -u
have_cmd perl || need+=(perl)            # ci/lint.sh strips comments with perl
# libsodium: the MAC of every serverM <-> backend datagram (net/key.c, the simulator, fuzz)
have_pkg libsodium-dev || need+=(libsodium-dev)
have_cmd clang || need+=(clang)
have_pkg libclang-rt-14-dev || need+=(libclang-rt-14-dev)
# GNU parallel, not moreutils' program of the same name (Debian's parallel diverts it)
parallel --version 2>/dev/null | grep -q 'GNU parallel' || need+=(parallel)
have_cmd zip || need+=(zip)              # the seed corpora of .clusterfuzzlite/build.sh
# pytest and gcovr are checked the way `make test` runs them: as modules of /usr/bin/python3
# (a gcovr or pytest elsewhere on PATH, e.g. in a virtualenv, is not what runs)
[ -x /usr/bin/python3 ] || need+=(python3)
/usr/bin/python3 -m pytest --version >/dev/null 2>&1 || need+=(python3-pytest)
/usr/bin/python3 -c 'import xdist' >/dev/null 2>&1 || need+=(python3-pytest-xdist) # make test-run's -n
/usr/bin/python3 -m gcovr --version >/dev/null 2>&1 || need+=(gcovr)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)   # workflow checks
# the namespace hosts of tests/real (alichain-hosts, sim/hosts/netns.c): ip and nft; setpriv
# (util-linux) runs the "without root" check
have_cmd ip || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need+=(iproute2)
have_cmd nft || [ -x /usr/sbin/nft ] || need+=(nftables)
have_cmd setpriv || need+=(util-linux)
# tests/engines: a private single-node Slurm (slurmctld, slurmd, munged) runs the shipped
# deploy/slurm-swarm.sh; namespace hosts run sshd for the GNU parallel recipe
# (docs/SCALING.md). Debian's policy-rc.d, where present, keeps the
# packages' own services from starting; the tests start private ones and stop them by pid.
[ -x /usr/sbin/slurmctld ] || need+=(slurmctld)
[ -x /usr/sbin/slurmd ] || need+=(slurmd)
have_cmd sbatch || need+=(slurm-client)
[ -x /usr/sbin/munged ] || need+=(munge)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
have_cmd ssh || need+=(openssh-client)
# the disk fault file system of real mode (sim/hosts/faultfs.c): libfuse3 to build, fuse3
# (the /dev/fuse helpers, fusermount3) to run; pkg-config finds the library
have_pkg libfuse3-dev || need+=(libfuse3-dev)
have_pkg fuse3 || need+=(fuse3)
have_cmd pkg-config || need+=(pkg-config)
# tests/engines/test_k8s_job.py: Node.js and npm run the Kubernetes schema validator
have_cmd node || need+=(nodejs)
have_cmd npm || need+=(npm)

# kubernetes-models, pinned: generated from the Kubernetes OpenAPI schemas (batch/v1 Job with
# backoffLimitPerIndex, maxFailedIndexes and podFailurePolicy's FailIndex); 4.x declares
# Node.js >= 14 (5.x wants 22; the machine's is 20). Installed with npm into a directory of
# the build, only when that version is not there yet.
K8S_MODELS_VERSION=4.5.1
K8S_VALIDATOR_DIR=build/k8s-validator
k8s_validator() {
  local pkg=$K8S_VALIDATOR_DIR/node_modules/kubernetes-models/package.json
  if [ -f "$pkg" ] && grep -q "\"version\": \"$K8S_MODELS_VERSION\"" "$pkg"; then return 0; fi
  echo "install-deps: npm install kubernetes-models@$K8S_MODELS_VERSION into $K8S_VALIDATOR_DIR"
  mkdir -p "$K8S_VALIDATOR_DIR"
  [ -f "$K8S_VALIDATOR_DIR/package.json" ] ||
    echo '{"name": "alichain-k8s-validator", "private": true}' >"$K8S_VALIDATOR_DIR/package.json"
  npm install --prefix "$K8S_VALIDATOR_DIR" --no-audit --no-fund --ignore-scripts --save-exact \
    "kubernetes-models@$K8S_MODELS_VERSION" >/dev/null ||
    { echo "install-deps: npm could not install kubernetes-models@$K8S_MODELS_VERSION" >&2; return 1; }
}
cd "$(dirname "$0")/.."

if [ ${#need[@]} -eq 0 ]; then
  k8s_validator
  echo "install-deps: everything present"
  exit 0
fi
echo "install-deps: installing ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install ${need[*]} (or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# the same checks again: an installed package that still does not run as make test runs it
# is a failure here, not a confusing one later
for mod in pytest gcovr; do
  /usr/bin/python3 -m "$mod" --version >/dev/null 2>&1 ||
    { echo "install-deps: /usr/bin/python3 -m $mod still does not run" >&2; exit 1; }
done
k8s_validator
echo "install-deps: done"
