#!/usr/bin/env bash
# Installs Slurm (slurmctld, slurmd, sbatch) and MUNGE from Debian's packages when they are missing.
# Needs root and apt-get. The packages' services are not started: the scale-out test starts its own
# daemons with a configuration of its own and stops them when it ends.
set -euo pipefail
have() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null 2>&1
if have; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install_slurm: Slurm is missing and installing it needs root (apt-get install slurm-wlm munge)." >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_slurm: Slurm is missing and this is not a Debian-like system (no apt-get)." >&2
    exit 1
fi
# keep the packages from starting their services (Debian's policy-rc.d protocol: exit 101 = not allowed)
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
echo "install_slurm: installing slurm-wlm and munge from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
have || { echo "install_slurm: the packages installed but slurmctld, slurmd, sbatch or munged is missing" >&2; exit 1; }
echo "install_slurm: $(slurmctld -V)"
