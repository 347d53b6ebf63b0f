"""How much can pruning a stage buy on the surrogate task? A census of the search space.

    python -m experiments.efficiency.headroom                 # after efficiency.py --out efficiency_20seeds
    python -m experiments.efficiency.headroom --samples 200000 --source efficiency_20seeds
    python -m experiments.efficiency.headroom --render-only  # the markdown again from the JSON

The efficiency target (staged search reaches the flat search's final best in at most a third of the
flat search's trials) is missed on the surrogate (ratio 0.57). This script measures why, without
running a search: it draws ``--samples`` configurations uniformly from the stage-1 space exactly as
nevergrad's RandomSearch drew them in the runs it explains (a choice uniformly, an interval uniformly,
a log interval uniformly in its logarithm, an integer interval rounded from a draw between its end
integers, as the sweeper set the bounds before session 22; since then the draw reaches half a step past
each end, genarch.sweeper.params.INTEGER_CELL), scores every one with the surrogate, and so knows for
any sub-space the chance ``p`` that one random trial in it reaches a given target. With stages of
``n_k`` trials swept at random, a staged run has reached the target after ``n`` trials with
probability ``1 - prod_k (1 - p_k) ** n_k`` over the stages begun by then; its *predicted median
trials-to-reach* is the first ``n`` where that passes 1/2.

Per seed of the source table (target = that seed's flat final best) it reports:

* ``p0``: the chance in the whole space;
* the stages the analysis actually wrote for staged_random (``conf/stage/eff_s<seed>_<k>.yaml``):
  ``p_k`` in each, the predicted median, and the observed trials-to-reach (a check of the model);
* *oracles* that know the surrogate: after every stage they restrict the space greedily by 1, 2, 3
  or 4 single-parameter cuts, each the cut that raises ``p`` most (a choice to one value, an interval
  to one of its quarters); their predicted median is what pruning that fast could reach at best with
  the same stage sizes. A cut must keep at least ``--min-samples`` samples: past that the census
  cannot tell a cut's ``p`` apart from noise and the oracle stops cutting, which bites only in late
  stages (a third of the flat search's median falls inside stage 2, so stage 2's ``p`` decides);
* the ``p`` that stage 2 would need for the median to fall within a third of the flat search's median.

Before it reports anything it checks itself: the sampled configurations' scores must match the
random-search runs' (two-sample Kolmogorov-Smirnov), and re-scoring the random-search trials from
the parameters their ledgers recorded must give exactly the recorded values (the parameter ->
hyperparameter map).
Writes experiments/results/efficiency_headroom.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import yaml

from experiments.efficiency.efficiency import final_best, seed_dirs, stage_name
from experiments.efficiency.surrogate import Surrogate, design, encode
from experiments.tables import RESULTS, ROOT, RUNS, fmt, md_table, write_json

HERE = Path(__file__).resolve().parent
ORACLE_CUTS = (1, 2, 3, 4)  # cuts an oracle makes after each stage
SPACE_FILE = HERE / "conf" / "stage" / "eff_tfbs.yaml"
# override key of a config-group choice -> the resolved hyperparameter the surrogate reads
GROUP_HPARAM = {"model/residual": "model.residual.kind", "model/reduction": "model.reduction.kind",
                "model/rnn": "model.rnn.kind", "model/pooling": "model.pooling.kind", "optimizer": "optimizer.name"}


def hparam_key(override_key: str) -> str:
    return GROUP_HPARAM.get(override_key, override_key)


def space_specs(path: Path = SPACE_FILE) -> dict[str, dict[str, Any]]:
    """The stage file's swept parameters as genarch sweeper specs (the sweeper's own parser)."""
    from genarch.sweeper.params import spec_from_yaml

    params = yaml.safe_load(path.read_text())["hydra"]["sweeper"]["params"]
    specs = {k: spec_from_yaml(k, v).spec for k, v in params.items()}
    constants = [k for k, s in specs.items() if s["kind"] == "constant"]
    if constants:
        raise ValueError(f"{path}: the census expects every parameter swept; constant: {constants}")
    return specs


class Census:
    """``n`` configurations drawn uniformly from a space, as arrays per parameter, with their scores.

    A choice parameter is kept as the index of its value in the full space's list (``codes``), a
    scalar as its value (``values``)."""

    def __init__(self, specs: Mapping[str, Mapping[str, Any]], n: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.specs, self.n = dict(specs), n
        self.codes: dict[str, np.ndarray] = {}
        self.values: dict[str, np.ndarray] = {}
        for key, spec in self.specs.items():
            if spec["kind"] == "choice":
                self.codes[key] = rng.integers(len(spec["values"]), size=n)
            else:
                lo, hi = float(spec["lower"]), float(spec["upper"])
                x = np.exp(rng.uniform(math.log(lo), math.log(hi), n)) if spec["log"] else rng.uniform(lo, hi, n)
                self.values[key] = np.round(x) if spec["integer"] else x
        self.scores = np.zeros(n)
        self._cuts: dict[str, list[tuple[str, np.ndarray]]] = {}

    def config(self, i: int) -> dict[str, Any]:
        out = {}
        for key, spec in self.specs.items():
            if key in self.codes:
                out[key] = spec["values"][int(self.codes[key][i])]
            else:
                v = float(self.values[key][i])
                out[key] = int(v) if spec["integer"] else v
        return out

    def score(self, surrogate: Surrogate, chunk: int = 20000) -> None:
        for start in range(0, self.n, chunk):
            rows = [encode(to_hparams(self.config(i))) for i in range(start, min(self.n, start + chunk))]
            X, _, _ = design(rows, surrogate.categories)
            self.scores[start:start + len(rows)] = surrogate.forest.predict(X)

    def mask(self, domains: Mapping[str, Any]) -> np.ndarray:
        """Samples inside a stage's space (``Domain`` per parameter; absent = unrestricted)."""
        ok = np.ones(self.n, dtype=bool)
        for key, dom in domains.items():
            spec = self.specs.get(key)
            if spec is None:
                raise KeyError(f"stage parameter {key!r} is not in the census space {sorted(self.specs)}")
            if key in self.codes:
                inside = [j for j, v in enumerate(spec["values"]) if dom.contains(v)]
                ok &= np.isin(self.codes[key], inside)
            elif dom.kind == "interval":
                low, high = dom.bounds()
                ok &= (self.values[key] >= low) & (self.values[key] <= high)
            else:  # a scalar fixed (or listed) by the stage: the domain's own equality, once per distinct value
                distinct, where = np.unique(self.values[key], return_inverse=True)
                inside = np.array([dom.contains(float(x)) for x in distinct], dtype=bool)
                ok &= inside[where.reshape(-1)]
        return ok

    def cuts(self, key: str) -> list[tuple[str, np.ndarray]]:
        """The single-parameter cuts an oracle may make: a choice to one value, an interval to a quarter."""
        if key not in self._cuts:
            self._cuts[key] = self._make_cuts(key)
        return self._cuts[key]

    def _make_cuts(self, key: str) -> list[tuple[str, np.ndarray]]:
        spec = self.specs[key]
        if key in self.codes:
            return [(f"{key}={v}", self.codes[key] == j) for j, v in enumerate(spec["values"])]
        lo, hi, x = float(spec["lower"]), float(spec["upper"]), self.values[key]
        if spec["log"]:
            lo, hi, x = math.log(lo), math.log(hi), np.log(x)
        edges = np.linspace(lo, hi, 5)
        out = []
        for a, b in zip(edges[:-1], edges[1:]):
            shown = (math.exp(a), math.exp(b)) if spec["log"] else (a, b)
            out.append((f"{key} in [{shown[0]:.3g}, {shown[1]:.3g}]", (x >= a) & (x <= b)))
        return out


def to_hparams(config: Mapping[str, Any]) -> dict[str, Any]:
    return {hparam_key(k): v for k, v in config.items()}


def predicted_median(ps: Sequence[float], sizes: Sequence[int]) -> int | None:
    """First trial count at which a run with stage hit chances ``ps`` has reached the target with
    probability >= 1/2 (None: not within the budget)."""
    log_miss, n = 0.0, 0
    for p, size in zip(ps, sizes):
        for _ in range(size):
            n += 1
            log_miss += math.log1p(-min(p, 1 - 1e-12))
            if log_miss <= math.log(0.5):
                return n
    return None


def hit_chance(census: Census, mask: np.ndarray, target: float) -> tuple[float, int]:
    m = int(mask.sum())
    return (float((census.scores[mask] >= target).mean()) if m else float("nan")), m


def oracle(census: Census, target: float, sizes: Sequence[int], per_stage: int, min_samples: int):
    """Greedy best cuts after every stage: (hit chance per stage, cuts made)."""
    mask = np.ones(census.n, dtype=bool)
    hits = census.scores >= target
    ps, made = [float(hits.mean())], []
    for _ in sizes[1:]:
        for _ in range(per_stage):
            current, best = int(np.count_nonzero(mask)), None
            for key in census.specs:
                for label, cut in census.cuts(key):
                    sub = mask & cut
                    m = int(np.count_nonzero(sub))
                    if m < min_samples or m == current:
                        continue
                    p = np.count_nonzero(sub & hits) / m
                    if best is None or p > best[0]:
                        best = (p, label, sub)
            if best is None or best[0] <= float(hits[mask].mean()):
                break
            mask = best[2]
            made.append(best[1])
        ps.append(float(hits[mask].mean()))
    return ps, made


def needed_stage2_chance(p0: float, size1: int, by: float) -> float | None:
    """The hit chance stage 2 needs for the predicted median to be <= ``by`` trials."""
    k = math.floor(by) - size1
    if k < 1:
        return None
    miss1 = (1 - p0) ** size1
    if miss1 <= 0.5:
        return 0.0
    return 1 - (0.5 / miss1) ** (1 / k)


def self_check(census: Census, surrogate: Surrogate, random_root: Path) -> dict[str, Any]:
    from scipy import stats

    from genarch.ledger import load_trials

    recorded, rows, where = [], [], []
    for _, sweep_dir in seed_dirs(random_root):
        for trial in load_trials(sweep_dir):
            if trial.status != "ok" or trial.value is None:
                continue
            missing = set(census.specs) - set(trial.params)
            if missing:
                raise ValueError(f"{sweep_dir}/ledger.jsonl job {trial.job}: no recorded value for {sorted(missing)}")
            rows.append(encode(to_hparams({k: trial.params[k] for k in census.specs})))
            recorded.append(trial.value)
            where.append(f"{sweep_dir}/ledger.jsonl job {trial.job}")
    if not recorded:
        raise FileNotFoundError(f"{random_root}: no finished random-search trials to check the census against")
    X, _, _ = design(rows, surrogate.categories)
    diff = np.abs(surrogate.forest.predict(X) - np.array(recorded))
    worst = float(diff.max())
    if worst > 1e-9:
        raise AssertionError(f"{where[int(diff.argmax())]}: re-scoring it from its parameters differs by {worst:.3g} "
                             "from its recorded value: the parameter -> hyperparameter map is wrong")
    ks = stats.ks_2samp(census.scores, recorded)
    return {"random_search_trials": len(recorded), "rescored_max_abs_diff": worst,
            "ks_statistic": float(ks.statistic), "ks_p": float(ks.pvalue),
            "score_quantiles_census": [float(q) for q in np.quantile(census.scores, [0.5, 0.9, 0.99, 0.999])],
            "score_quantiles_random_search": [float(q) for q in np.quantile(recorded, [0.5, 0.9, 0.99, 0.999])]}


def stage_files(seed_dir: Path, seed: int, count: int) -> list[Path]:
    return [SPACE_FILE] + [seed_dir / "conf" / "stage" / f"{stage_name(seed, k)}.yaml" for k in range(2, count + 1)]


def main() -> None:
    from genarch.analysis.space import load_stage

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--source", default="efficiency_20seeds", help="results JSON of efficiency.py (surrogate task)")
    ap.add_argument("--method", default="staged_random")
    ap.add_argument("--min-samples", type=int, default=1000, help="an oracle cut keeps at least this many samples")
    ap.add_argument("--render-only", action="store_true", help="rewrite the markdown from the JSON, compute nothing")
    args = ap.parse_args()
    if args.render_only:
        out = json.loads((RESULTS / "efficiency_headroom.json").read_text())
        (RESULTS / "efficiency_headroom.md").write_text(render(out))
        return

    source = json.loads((RESULTS / f"{args.source}.json").read_text())
    runs = ROOT / source["runs"]
    sizes = list(source["stage_budgets"])
    budget = int(source["budget"])
    flat_median = float(source["summary"]["flat"]["median_trials_to_reach_flat_best"])
    third = flat_median / 3

    surrogate = Surrogate()
    specs = space_specs()
    census = Census(specs, args.samples)
    census.score(surrogate)
    check = self_check(census, surrogate, RUNS / "efficiency" / f"surrogate_b{budget}" / "random")
    print(json.dumps(check, indent=1))

    domains_cache: dict[Path, Any] = {}
    per_seed = {}
    for seed_text, flat_curve in sorted(source["curves"]["flat"].items(), key=lambda kv: int(kv[0])):
        seed = int(seed_text)
        target = final_best(flat_curve, budget)
        p0, _ = hit_chance(census, np.ones(census.n, dtype=bool), target)
        row: dict[str, Any] = {"target": target, "p0": p0,
                               "predicted_median_random": predicted_median([p0], [budget]),
                               "needed_stage2_p": needed_stage2_chance(p0, sizes[0], third)}
        seed_dir = runs / args.method / f"seed{seed}"
        observed = source["trials_to_reach_flat_best"].get(args.method, {}).get(seed_text, "absent")
        if seed_dir.is_dir() and observed != "absent":
            ps, counts = [], []
            for path in stage_files(seed_dir, seed, len(sizes)):
                if path not in domains_cache:
                    domains_cache[path] = load_stage(path).domains
                p, m = hit_chance(census, census.mask(domains_cache[path]), target)
                ps.append(p)
                counts.append(m)
            row.update({"analysis_p": ps, "analysis_samples": counts,
                        "predicted_median_analysis": predicted_median(ps, sizes), "observed": observed})
        for k in ORACLE_CUTS:
            ps, made = oracle(census, target, sizes, k, args.min_samples)
            row[f"oracle{k}_p"] = ps
            row[f"oracle{k}_cuts"] = made
            row[f"predicted_median_oracle{k}"] = predicted_median(ps, sizes)
        per_seed[seed] = row
        print(seed, {k: v for k, v in row.items() if not k.endswith("_cuts")}, flush=True)

    censored = budget + 1

    def med(key: str) -> float | None:
        vals = [r[key] for r in per_seed.values() if key in r]
        return float(statistics.median(censored if v is None else v for v in vals)) if vals else None

    summary = {
        "flat_median_trials_to_reach": flat_median, "a_third_of_it": third,
        "median_p0": float(statistics.median(r["p0"] for r in per_seed.values())),
        "median_needed_stage2_p": float(statistics.median(r["needed_stage2_p"] for r in per_seed.values())),
        "median_predicted": {name: med(f"predicted_median_{name}")
                             for name in ("random", "analysis", *(f"oracle{k}" for k in ORACLE_CUTS))},
        "median_observed_analysis": med("observed"),
        "median_stage2_p_analysis": float(statistics.median(r["analysis_p"][1] for r in per_seed.values()
                                                            if "analysis_p" in r)),
        **{f"median_stage2_p_oracle{k}": float(statistics.median(r[f"oracle{k}_p"][1] for r in per_seed.values()))
           for k in ORACLE_CUTS},
    }
    out = {"source": args.source, "method": args.method, "samples": args.samples, "min_samples": args.min_samples,
           "stage_budgets": sizes, "self_check": check, "summary": summary, "per_seed": per_seed,
           "command": f"python -m experiments.efficiency.headroom --samples {args.samples} --source {args.source}"}
    write_json(RESULTS / "efficiency_headroom.json", out)
    (RESULTS / "efficiency_headroom.md").write_text(render(out))
    print(json.dumps(summary, indent=1))


def render(out: Mapping[str, Any]) -> str:
    s, c = out["summary"], out["self_check"]
    mp = s["median_predicted"]
    n = lambda v: "not reached" if v is None else str(v)  # noqa: E731
    rows = []
    for seed, r in out["per_seed"].items():
        rows.append([seed, fmt(r["target"]), f"{r['p0']:.4f}", f"{r['needed_stage2_p']:.3f}",
                     f"{r['analysis_p'][1]:.4f}" if "analysis_p" in r else "-",
                     *(f"{r[f'oracle{k}_p'][1]:.4f}" for k in ORACLE_CUTS),
                     n(r.get("observed")), n(r.get("predicted_median_analysis")),
                     *(n(r[f"predicted_median_oracle{k}"]) for k in ORACLE_CUTS)])
    oracle_p = ", ".join(f"{k} cut{'s' * (k > 1)} {s[f'median_stage2_p_oracle{k}']:.4f}" for k in ORACLE_CUTS)
    oracle_n = ", ".join(f"{k} cut{'s' * (k > 1)} {mp[f'oracle{k}']:g}" for k in ORACLE_CUTS)
    lines = [
        "# Search efficiency: how much pruning a stage can buy (surrogate census)", "",
        f"Command: `{out['command']}`. {out['samples']:,} configurations drawn uniformly from "
        "`experiments/efficiency/conf/stage/eff_tfbs.yaml` as nevergrad's RandomSearch drew them in those runs "
        "(integer "
        "intervals between their end integers, as before session 22), each scored by "
        f"the surrogate. Stages of {out['stage_budgets']} trials, swept at random; target per seed = the flat "
        f"NGOpt search's final best in `{out['source']}`. An oracle cut keeps at least "
        f"{out['min_samples']:,} samples.", "",
        f"Self-check: re-scoring the {c['random_search_trials']} random-search trials from their recorded parameters "
        f"reproduces their values (max difference {c['rescored_max_abs_diff']:.1g}); census vs random-search scores: "
        f"KS statistic {c['ks_statistic']:.3f}, p {c['ks_p']:.2f}.", "",
        f"* Flat search: median {s['flat_median_trials_to_reach']:g} trials to its final best; a third of it is "
        f"{s['a_third_of_it']:.1f} trials.",
        f"* One random trial in the whole space reaches the target with median chance p0 = {s['median_p0']:.4f}. "
        f"To reach it within a third of the flat median, stage 2 (after {out['stage_budgets'][0]} trials of stage 1) "
        f"needs a chance of {s['median_needed_stage2_p']:.3f} (median over seeds), "
        f"{s['median_needed_stage2_p'] / max(s['median_p0'], 1e-12):.0f} times p0.",
        f"* Stage 2 as the analysis wrote it: {s['median_stage2_p_analysis']:.4f}. An oracle that knows the surrogate "
        f"and makes the best single-parameter cuts after each stage: {oracle_p}.",
        f"* Predicted median trials-to-reach (median over seeds; not reached = budget + 1): random "
        f"{mp['random']:g}; the analysis' stages {mp['analysis']:g} (observed {s['median_observed_analysis']:g}); "
        f"oracle with {oracle_n} a stage. Target: <= {s['a_third_of_it']:.1f}.", "",
        md_table(["seed", "target", "p0", "stage 2 needs p", "analysis stage 2 p",
                  *(f"oracle-{k} stage 2 p" for k in ORACLE_CUTS), "observed", "predicted (analysis)",
                  *(f"predicted (oracle-{k})" for k in ORACLE_CUTS)], rows), "",
        f"The greedy oracle's cuts per seed, in order (oracle-k makes k of them after each stage; the list ends "
        f"where no cut keeps {out['min_samples']:,} samples or raises the chance):", "",
    ]
    for seed, r in out["per_seed"].items():
        longest = max((r[f"oracle{k}_cuts"] for k in ORACLE_CUTS), key=len)
        lines.append(f"* seed {seed}: {'; '.join(longest) or 'none'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
