#!/bin/bash
# The exact-score MNIST study (experiments/mnist-gmm-k10.yaml), cheapest and most informative cells first; every
# step resumes after its last complete row, so rerunning this script continues where a killed run stopped.
#   tools/ground-truth/run-mnist-gmm-study.sh eval    # densepure-eval cells: DDS, smoothing, then DensePure by sigma
#   tools/ground-truth/run-mnist-gmm-study.sh exact   # exact posterior votes: K -> infinity (class mass), then K = 10
#                                                     # exact posterior samples classified by the Bayes classifier
#   tools/ground-truth/run-mnist-gmm-study.sh cnn     # the same with the CNN trained on mixture samples
#                                                     # (experiments/mnist-gmm-cnn.yaml; needs mnist-gmm-cnn.onnx)
#   tools/ground-truth/run-mnist-gmm-study.sh family  # the method family on the same draws
#                                                     # (experiments/mnist-gmm-family.yaml)
# Build first: pnpm --filter @densepure/eval... build && pnpm --filter @densepure/ground-truth build
# Results: experiments/reports/mnist-gmm-k10/ and experiments/reports/mnist-gmm-k10-exact/.
set -euo pipefail
cd "$(dirname "$0")/../.."
file=experiments/mnist-gmm-k10.yaml
[ "${1:-}" = cnn ] && file=experiments/mnist-gmm-cnn.yaml
[ "${1:-}" = family ] && file=experiments/mnist-gmm-family.yaml
case "${1:-}" in
  eval|cnn)
    # DDS and smoothing alone cost one model call per draw; DensePure's K = 1, 5, 10 share their chains, so each
    # sigma's three DensePure cells of one chain length run together (the id text 'b10-dp_sigma<s>_' selects them);
    # the 2-step chains (b = 2) last.
    for cells in dds_sigma1_ dds_sigma0.5_ dds_sigma0.25_ smoothing_sigma1_ smoothing_sigma0.5_ smoothing_sigma0.25_ \
                 b10-dp_sigma1_ b10-dp_sigma0.5_ b10-dp_sigma0.25_ b2-dp_sigma1_ b2-dp_sigma0.5_ b2-dp_sigma0.25_; do
      nice -n 10 node apps/eval/dist/bin.js run "$file" --results experiments/reports --cells "$cells"
    done
    if [ "$1" = cnn ]; then
      for s in sigma1_ sigma0.5_ sigma0.25_; do
        nice -n 10 node packages/ground-truth/dist/study/mnist-exact-vote.js "$file" --results experiments/reports --posterior-K 10 --cells "exact-posterior-K10_$s"
      done
    fi ;;
  exact)
    for s in sigma1_ sigma0.5_ sigma0.25_; do
      nice -n 10 node packages/ground-truth/dist/study/mnist-exact-vote.js "$file" --results experiments/reports --cells "exact-classmass_$s"
    done
    for s in sigma1_ sigma0.5_ sigma0.25_; do
      nice -n 10 node packages/ground-truth/dist/study/mnist-exact-vote.js "$file" --results experiments/reports --posterior-K 10 --cells "exact-posterior-K10_$s"
    done ;;
  family)
    # The one-shot methods first (DDS, DiffSmooth: one denoiser call per draw); each sigma's DensePure cells together
    # (the K = 20 chains hold the K = 10 soft vote's), the cascades last.
    for cells in dds_ diffsmooth- b2-dp_sigma1_ b2-dp_sigma0.5_ b2-dp_sigma0.25_ b2-dp_cascade; do
      nice -n 10 node apps/eval/dist/bin.js run "$file" --results experiments/reports --cells "$cells"
    done ;;
  *) echo "usage: $0 eval|exact|cnn|family" >&2; exit 2 ;;
esac
