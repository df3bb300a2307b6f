#!/usr/bin/env bash
# Held-out NLU evaluation for the Chinese pipeline (config.yml + bot/data/nlu).
#  1. trains an NLU-only model into .cache/nlu-eval/models/ (fresh Rasa cache, so a changed
#     jieba user dictionary in bot/jieba is always picked up)
#  2. runs `rasa test nlu` on bot/tests/nlu_heldout.yml -> .cache/nlu-eval/results/
#  3. prints intent macro-F1, entity F1 (per extractor and end-to-end after synonym
#     mapping, duplicates across extractors merged), worst confusions and a
#     FallbackClassifier threshold sweep.
# Usage: bash scripts/nlu_eval.sh [--skip-train]
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore
RASA=.venv-rasa/bin/rasa
PY=.venv-rasa/bin/python
OUT=.cache/nlu-eval
MODEL="$OUT/models/nlu-eval.tar.gz"
TEST=bot/tests/nlu_heldout.yml
export RASA_CACHE_DIRECTORY="$OUT/rasa-cache"
mkdir -p "$OUT/models" "$OUT/results"

if [ "${1:-}" != "--skip-train" ]; then
  rm -rf "$RASA_CACHE_DIRECTORY" "$MODEL"
  echo "== training NLU model (log: $OUT/train.log)"
  start=$(date +%s)
  # CPU time is reported too: wall time depends on whatever else runs on the machine
  timecmd=()
  [ -x /usr/bin/time ] && timecmd=(/usr/bin/time -o "$OUT/train_cpu.txt" -f "cpu user=%Us sys=%Ss")
  "${timecmd[@]}" "$RASA" train nlu --config config.yml --nlu bot/data/nlu --out "$OUT/models" \
    --fixed-model-name nlu-eval >"$OUT/train.log" 2>&1 || { tail -30 "$OUT/train.log"; exit 1; }
  echo "training wall time: $(( $(date +%s) - start ))s ($(cat "$OUT/train_cpu.txt" 2>/dev/null)," \
    "load average: $(cut -d' ' -f1-3 /proc/loadavg))" | tee "$OUT/train_time.txt"
  if grep -q "Misaligned entity annotation" "$OUT/train.log"; then
    echo "WARNING: misaligned entity annotations (fix data or bot/jieba/userdict.txt):"
    grep -o "Misaligned entity annotation in message '[^']*'" "$OUT/train.log" | sort -u
  fi
fi

echo "== rasa test nlu on $TEST (log: $OUT/test.log)"
rm -rf "$OUT/results" && mkdir -p "$OUT/results"
"$RASA" test nlu --model "$MODEL" --nlu "$TEST" --out "$OUT/results" --successes --no-plot \
  >"$OUT/test.log" 2>&1 || { tail -30 "$OUT/test.log"; exit 1; }

echo "== summary"
"$PY" - "$OUT" "$MODEL" "$TEST" 2>"$OUT/summary.err" <<'PYEOF'
import asyncio, collections, json, logging, os, sys, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
out, model, test = sys.argv[1:4]
res = os.path.join(out, "results")

rep = json.load(open(os.path.join(res, "intent_report.json")))
labels = {k: v for k, v in rep.items() if isinstance(v, dict) and "support" in v
          and k not in ("macro avg", "weighted avg", "micro avg")}
print(f"intent macro-F1: {rep['macro avg']['f1-score']:.4f}   "
      f"accuracy: {rep.get('accuracy', float('nan')):.4f}   (n={rep['macro avg']['support']})")
for k, v in sorted(labels.items(), key=lambda kv: kv[1]["f1-score"])[:6]:
    print(f"   lowest F1  {k:24s} P={v['precision']:.2f} R={v['recall']:.2f} F1={v['f1-score']:.2f} n={v['support']}")
errs = json.load(open(os.path.join(res, "intent_errors.json")))
conf = collections.Counter((e["intent"], e["intent_prediction"]["name"]) for e in errs)
print("worst confusions (gold -> predicted):")
for (g, p), c in conf.most_common(8):
    ex = [e["text"] for e in errs if e["intent"] == g and e["intent_prediction"]["name"] == p][:2]
    print(f"   {c}x {g} -> {p}   e.g. {ex}")

for name in ("DIETClassifier", "RegexEntityExtractor"):
    path = os.path.join(res, f"{name}_report.json")
    if os.path.exists(path):
        r = json.load(open(path))
        ents = {k: v for k, v in r.items() if isinstance(v, dict) and "support" in v
                and k not in ("macro avg", "weighted avg", "micro avg", "no_entity")}
        mic = r.get("micro avg", {}).get("f1-score", float("nan"))
        mac = r.get("macro avg", {}).get("f1-score", float("nan"))
        per = " ".join(f"{k}={v['f1-score']:.2f}" for k, v in sorted(ents.items()))
        print(f"{name} entity F1 (rasa token-level): micro={mic:.4f} macro={mac:.4f} | {per}")

# ---- end-to-end pass: what the dialogue actually receives (all extractors + synonyms)
from rasa.core.agent import Agent
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
from rasa.shared.nlu.training_data.loading import load_data
syn = {k.lower(): v for k, v in load_data("bot/data/nlu").entity_synonyms.items()}
gold = load_data(test)
agent = Agent.load(model)
async def parse_all(msgs):
    return [await agent.parse_message(m.get("text")) for m in msgs]
msgs = gold.intent_examples
preds = asyncio.run(parse_all(msgs))

tp = collections.Counter(); fp = collections.Counter(); fn = collections.Counter()
ent_err = []
rows = []
for m, p in zip(msgs, preds):
    g = {(e["entity"], e["start"], e["end"], syn.get(str(e["value"]).lower(), e["value"]))
         for e in m.get("entities", [])}
    pr = {(e["entity"], e["start"], e["end"], e["value"]) for e in p.get("entities", [])}
    for x in pr & g: tp[x[0]] += 1
    for x in pr - g: fp[x[0]] += 1
    for x in g - pr: fn[x[0]] += 1
    if pr != g:
        ent_err.append((m.get("text"), sorted(g - pr), sorted(pr - g)))
    ranking = [r for r in p.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
    top = ranking[0]; second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    rows.append((m.get("intent"), top["name"], top["confidence"], top["confidence"] - second))
def prf(t, f_p, f_n):
    p = t / (t + f_p) if t + f_p else 0.0; r = t / (t + f_n) if t + f_n else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
T, FP, FN = sum(tp.values()), sum(fp.values()), sum(fn.values())
p, r, f = prf(T, FP, FN)
print(f"end-to-end entity F1 (exact span+type+normalised value): {f:.4f}  P={p:.3f} R={r:.3f}  (gold={T+FN})")
for k in sorted(set(tp) | set(fp) | set(fn)):
    print(f"   {k:9s} F1={prf(tp[k], fp[k], fn[k])[2]:.2f}  tp={tp[k]} fp={fp[k]} fn={fn[k]}")
for t, missed, extra in ent_err[:10]:
    print(f"   entity miss: {t}  missed={missed} extra={extra}")

# ---- FallbackClassifier threshold sweep (nlu_fallback counts as an error for every intent;
# a correct low-confidence prediction that falls back is a "lost" turn)
try:
    import yaml
    cfg = yaml.safe_load(open("config.yml"))
    fb = next(c for c in cfg["pipeline"] if c["name"] == "FallbackClassifier")
    amb = fb.get("ambiguity_threshold", 0.1)
    print(f"fallback sweep (configured threshold={fb.get('threshold')}, ambiguity={amb}):")
except Exception:
    amb = 0.1
n = len(rows); ok = sum(g == pr for g, pr, _, _ in rows); bad = n - ok
print(f"   raw: {ok}/{n} correct, {bad} wrong")
for th in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
    fall = [(g == pr) for g, pr, c, d in rows if c < th or d < amb]
    lost = sum(fall); caught = len(fall) - lost
    kept_acc = (ok - lost) / n
    print(f"   th={th:.1f}: fallback on {len(fall):3d} turns | correct lost {lost:3d} "
          f"({lost / max(ok, 1):.1%}) | errors caught {caught:3d}/{bad} | net {caught - lost:+d} "
          f"| acc-after-fallback {kept_acc:.3f}")
PYEOF
