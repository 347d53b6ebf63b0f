"""Soak test of a sweep's ownership and resume: random ``kill -9``s and concurrent starts, N kills in all.

    nice -n 10 python -m experiments.soak --kills 55 --out experiments/results/soak

Each round runs one stage of the toy task (tests/reliability_toy.py: genarch's sweeper, the task protocol of
genarch.task, Hydra's basic or joblib launcher, in turn; ``--launchers``) into a fresh sweep directory until
it finishes:

* the sweep is started; once it owns its directory it is killed with SIGKILL after a random delay (mid-batch,
  or between batches), 1 to ``--max-kills-per-round`` times, and resumed *at once* with the same command
  (joblib workers of the killed sweep may still be training);
* with probability ``--concurrent`` a second sweep (same directory, another seed) is started while the first
  owns the directory: it must be refused;
* the last start runs to the end.

Then the round's directory is audited against what the toy wrote itself (``started.txt`` at the start of a
training, ``trained.txt`` when it completed, ``result.json``) and the ledger:

    trials lost          jobs of the budget without a finished (ok) end record, or missing from the results
    trials trained twice jobs whose training completed more than once (``trained.txt`` has > 1 line)
    mislabeled records   end records whose params differ from the job's start record or from its result.json
                         hparams, or whose value differs from result.json's
    resumes refused      restarts after a kill that did not finish or were refused (exit != 0)
    concurrent accepted  second sweeps into an owned directory that were not refused

All must be 0. Also counted: jobs a kill cut off that were started again (expected), and jobs of a killed
sweep still training in a joblib worker that the resume waited for (``--launchers joblib --sleep 8``
makes those common: a trial outlasts the resume's start-up). Results: ``<out>.json`` (every round) and
``<out>.md`` (the table)."""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from genarch.ledger import iter_records, load_trials
from genarch.sweeper import lock

REPO = Path(__file__).resolve().parents[1]
TOY = [sys.executable, str(REPO / "tests" / "reliability_toy.py")]


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HYDRA_FULL_ERROR": "0"}
    return env


def _args(sweep: Path, launcher: str, budget: int, sleep: float, seed: int) -> list[str]:
    extra = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"] if launcher == "joblib" else []
    hold = sweep.parent / f"{sweep.name}.hold"  # while it exists, the toy's trials wait (a concurrent start)
    return [f"hydra.sweep.dir={sweep}", f"hydra.sweeper.budget={budget}", "hydra.sweeper.num_workers=2",
            f"hydra.sweeper.seed={seed}", f"sleep={sleep}", f"+hold={hold}", *extra, "-m"]


def _owns(sweep: Path, pid: int) -> bool:
    holder = lock.current_holder(sweep)
    return holder is not None and holder.pid == pid


def _wait_until_owned(proc: subprocess.Popen, sweep: Path, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if _owns(sweep, proc.pid):
            return True
        time.sleep(0.05)
    return False


def run_round(index: int, root: Path, rng: random.Random, opts: argparse.Namespace, kills_left: int) -> dict[str, Any]:
    sweep = root / f"round{index:03d}"
    launchers = opts.launchers.split(",")
    launcher = launchers[index % len(launchers)]
    args = _args(sweep, launcher, opts.budget, opts.sleep, seed=0)
    log = open(root / f"round{index:03d}.log", "w", encoding="utf-8")
    kills = min(kills_left, rng.randint(1, opts.max_kills_per_round))
    events: list[dict[str, Any]] = []
    resumes_refused = concurrent_started = concurrent_refused = 0
    done = False
    for start in range(kills + 1):
        proc = subprocess.Popen([*TOY, *args], cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        owned = _wait_until_owned(proc, sweep, timeout=120)
        if owned and rng.random() < opts.concurrent:  # a second sweep (another seed) into the owned directory
            hold = sweep.parent / f"{sweep.name}.hold"
            hold.touch()  # the owner's trials wait meanwhile, so the owner is alive throughout
            try:
                other = subprocess.run([*TOY, *_args(sweep, launcher, opts.budget, opts.sleep, seed=1)], cwd=REPO,
                                       env=_env(), capture_output=True, text=True, timeout=300)
            finally:
                hold.unlink()
            said = [line for line in (other.stdout + other.stderr).splitlines() if line.strip()]
            if proc.poll() is None:  # the owner lived through the whole attempt: it must have been refused
                refused = other.returncode != 0 and "is in use by another sweep" in (said or [""])[0]
                concurrent_started += 1
                concurrent_refused += refused
                events.append({"event": "concurrent start", "refused": refused, "rc": other.returncode,
                               "said": said[:2]})
        if start < kills and proc.poll() is None:
            time.sleep(rng.uniform(0, opts.max_kill_delay))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                events.append({"event": "kill -9", "after_start": start,
                               "ledger_records": len(list(iter_records(sweep)))})
                continue
        rc = proc.wait(timeout=600)
        events.append({"event": "run ended", "rc": rc})
        if rc != 0:
            resumes_refused += 1
        else:
            done = True
            break
    log.close()
    killed = sum(e["event"] == "kill -9" for e in events)
    said = (root / f"round{index:03d}.log").read_text(encoding="utf-8", errors="replace")
    orphan_waits = said.count("still running in a worker of an earlier sweep process")
    audit = audit_sweep(sweep, opts.budget) if done else {"trials_lost": opts.budget}
    return {"round": index, "launcher": launcher, "kills": killed, "finished": done,
            "resumes_refused": resumes_refused, "concurrent_started": concurrent_started,
            "concurrent_refused": concurrent_refused, "concurrent_accepted": concurrent_started - concurrent_refused,
            "orphan_waits": orphan_waits,
            **audit, "events": events}


def audit_sweep(sweep: Path, budget: int) -> dict[str, Any]:
    trials = {t.job: t for t in load_trials(sweep)}
    lost = sum(1 for job in range(budget) if job not in trials or not trials[job].ok)
    results = (sweep / "optimization_results.yaml").read_text(encoding="utf-8")
    if f"n_trials: {budget}" not in results:
        lost = max(lost, 1)
    twice = reruns = 0
    for job in range(budget):
        trained = sweep / str(job) / "trained.txt"
        started = sweep / str(job) / "started.txt"
        twice += trained.exists() and len(trained.read_text().splitlines()) > 1
        reruns += started.exists() and len(started.read_text().splitlines()) > 1
    starts: dict[int, dict[str, Any]] = {}
    mislabeled = 0
    for record in iter_records(sweep):
        if record.get("event") == "start":
            starts[record["job"]] = record
        elif record.get("event") == "end":
            start = starts.get(record["job"])
            result_file = sweep / str(record.get("dir") or record["job"]) / "result.json"
            result = json.loads(result_file.read_text()) if result_file.exists() else {}
            params = record.get("params") or {}
            if start is None or params != start.get("params"):
                mislabeled += 1
            elif record.get("status") == "ok" and (result.get("hparams") != params
                                                   or result["objective"]["value"] != record["objective"]["value"]):
                mislabeled += 1
    return {"trials_lost": lost, "trials_trained_twice": twice, "mislabeled_records": mislabeled,
            "interrupted_reruns": reruns}


def write_report(rounds: list[dict[str, Any]], out: Path, opts: argparse.Namespace, wall_s: float) -> dict[str, Any]:
    keys = ("kills", "trials_lost", "trials_trained_twice", "mislabeled_records", "resumes_refused",
            "concurrent_started", "concurrent_refused", "concurrent_accepted", "interrupted_reruns", "orphan_waits")
    totals = {k: sum(int(r.get(k, 0)) for r in rounds) for k in keys}
    totals["rounds"] = len(rounds)
    totals["rounds_finished"] = sum(r["finished"] for r in rounds)
    totals["trials"] = opts.budget * len(rounds)
    command = " ".join(["nice -n 10 python -m experiments.soak", f"--kills {opts.kills}", f"--seed {opts.seed}",
                        f"--budget {opts.budget}", f"--sleep {opts.sleep}", f"--launchers {opts.launchers}",
                        f"--out {opts.out}"])
    data = {"command": command, "wall_s": round(wall_s, 1), "totals": totals, "rounds": rounds,
            "settings": {k: v for k, v in vars(opts).items() if k != "out"}}
    out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    ok = all(totals[k] == 0 for k in ("trials_lost", "trials_trained_twice", "mislabeled_records",
                                       "resumes_refused", "concurrent_accepted"))
    lines = [
        "# Soak: random kill -9 and concurrent starts of a sweep (issue 36)", "",
        f"Command: `{command}` ({wall_s / 60:.1f} min on this machine's 2 shared cores).", "",
        "| what | count | must be |", "|---|---:|---:|",
        f"| kill -9 of the sweep process | {totals['kills']} | >= {opts.kills} |",
        f"| rounds (sweeps of {opts.budget} trials of {opts.sleep} s; launchers {opts.launchers}, in turn) "
        f"| {totals['rounds']} | |",
        f"| trials lost | {totals['trials_lost']} | 0 |",
        f"| trials trained twice (a completed training repeated) | {totals['trials_trained_twice']} | 0 |",
        f"| mislabeled ledger records | {totals['mislabeled_records']} | 0 |",
        f"| resumes refused or failed | {totals['resumes_refused']} | 0 |",
        f"| concurrent second sweeps started / refused / accepted | {totals['concurrent_started']} / "
        f"{totals['concurrent_refused']} / {totals['concurrent_accepted']} | accepted 0 |",
        f"| jobs started again after a kill cut their training off (expected) | {totals['interrupted_reruns']} | |",
        f"| jobs of a killed sweep still training in a joblib worker, waited for by the resume | "
        f"{totals['orphan_waits']} | |",
        "", f"Verdict: {'all counts 0' if ok else 'FAILED'}.", "",
    ]
    out.with_suffix(".md").write_text("\n".join(lines))
    return data


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="kill -9s in all (rounds are added until reached)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=6, help="trials per round")
    parser.add_argument("--sleep", type=float, default=0.6, help="seconds each toy trial trains")
    parser.add_argument("--launchers", default="basic,joblib", help="Hydra launchers, one per round in turn")
    parser.add_argument("--max-kills-per-round", type=int, default=3)
    parser.add_argument("--max-kill-delay", type=float, default=3.0, help="kill at uniform [0, this] s after owning")
    parser.add_argument("--concurrent", type=float, default=0.5, help="probability of a concurrent second start")
    parser.add_argument("--out", default="experiments/results/soak")
    parser.add_argument("--work", default=None, help="folder for the sweeps (default: a temporary folder)")
    opts = parser.parse_args(argv)
    import tempfile

    root = Path(opts.work or tempfile.mkdtemp(prefix="genarch-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    out = REPO / opts.out if not Path(opts.out).is_absolute() else Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(opts.seed)
    rounds: list[dict[str, Any]] = []
    started = time.time()
    while sum(r["kills"] for r in rounds) < opts.kills:
        left = opts.kills - sum(r["kills"] for r in rounds)
        rounds.append(run_round(len(rounds), root, rng, opts, left))
        r = rounds[-1]
        print(f"round {r['round']} ({r['launcher']}): kills {r['kills']}, lost {r.get('trials_lost')}, twice "
              f"{r.get('trials_trained_twice')}, mislabeled {r.get('mislabeled_records')}, refused resumes "
              f"{r['resumes_refused']}, concurrent {r['concurrent_refused']}/{r['concurrent_started']} refused",
              flush=True)
        write_report(rounds, out, opts, time.time() - started)
    data = write_report(rounds, out, opts, time.time() - started)
    print(json.dumps(data["totals"]))
    bad = ("trials_lost", "trials_trained_twice", "mislabeled_records", "resumes_refused", "concurrent_accepted")
    return 0 if all(data["totals"][k] == 0 for k in bad) else 1


if __name__ == "__main__":
    sys.exit(main())
