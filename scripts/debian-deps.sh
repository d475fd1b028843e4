#!/usr/bin/env bash
# Installs the Debian packages the test suites need (the PyTorch oracle runs Debian's
# python3-torch with /usr/bin/python3; the weights oracle converts torchvision models, the zoo oracle
# reads torchvision's and torchaudio's model sources, the fuzz test torchvision's). Idempotent; run as root (CI is).
set -euo pipefail
need=()
for p in python3-torch python3-torchvision python3-torchaudio; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "sepconv tests need Debian packages: ${need[*]} (run: sudo apt-get install -y ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
