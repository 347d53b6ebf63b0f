"""One ask/tell round of a sweep and the rules that stop it, shared by the single-fidelity loop
(:mod:`genarch.sweeper._impl`) and the multi-fidelity loop (:mod:`genarch.sweeper.rung_loop`).

A round asks the optimizer for a batch, keeps the candidates not evaluated before (:meth:`ask`), numbers
the legal ones first and the rejected ones after them (job numbers follow from the replayed ask/tell
sequence, which is what makes a resume deterministic), and, once the batch ran, tells the optimizer every
candidate's loss (:meth:`tell`). Failures before the first success wait: their loss needs the scale the
first success sets (:meth:`genarch.sweeper.losses.Losses.hold_back`). The sweep stops when the optimizer
keeps proposing known points, when every new candidate keeps being an illegal model, or when too many
trials failed (:meth:`stop_before_ask`, :meth:`failure_stop`)."""

from dataclasses import dataclass, field
from typing import Any, Optional

from genarch.sweeper.run import Candidate


@dataclass
class Batch:
    asked: list[Candidate]   # everything the optimizer proposed this round
    new: list[Candidate]     # not evaluated before (legal or rejected)
    to_run: list[Candidate]  # new and legal: to train

    @property
    def rejected(self) -> list[Candidate]:
        """New but illegal models: never launched, recorded as rejected."""
        return [c for c in self.new if c not in self.to_run]


@dataclass
class Rounds:
    settings: Any  # SweeperSettings: budget, max_repeated_asks, max_failure_rate
    next_job: int = 0
    trained: int = 0
    failed: int = 0
    repeated: int = 0   # candidates in a row that were evaluated before
    rejected: int = 0   # new candidates in a row that were illegal models
    last_rejected: Optional[Candidate] = None
    held: list[Candidate] = field(default_factory=list)
    queued: list[dict[str, Any]] = field(default_factory=list)  # hydra.sweeper.points not asked yet, in order

    @property
    def budget_left(self) -> int:
        return self.settings.budget - self.trained

    def stop_before_ask(self) -> Optional[str]:
        """Why the sweep stops before asking again (the space exhausted, only illegal models), or None."""
        limit = self.settings.max_repeated_asks
        if self.repeated >= limit:
            return (f"stopped after {self.trained} trials: the last {self.repeated} candidates the optimizer proposed "
                    "were all evaluated before (the space is exhausted or the optimizer converged)")
        if self.rejected >= limit:
            last = self.last_rejected
            return (f"stopped after {self.trained} trials: the last {self.rejected} new candidates were all illegal "
                    f"models (hydra.sweeper.max_repeated_asks={limit}); the last one: {last.outcome.error} "
                    f"({' '.join(last.overrides)}); narrow the space or change the fixed overrides")
        return None

    def ask(self, impl: Any, optimizer: Any, size: int) -> Batch:
        """Ask ``size`` candidates; drop the known ones (:meth:`impl._dedupe`) and the illegal ones
        (:meth:`impl._reject`), and number the rest: the legal ones first, then the rejected."""
        asked = []
        for _ in range(size):
            cand = optimizer.ask()  # a queued point first (genarch.sweeper.points): its values as the stage wrote
            asked.append(impl.run.candidate(cand, params=self.queued.pop(0) if self.queued else None))
        new = impl._dedupe(asked)
        self.repeated = 0 if new else self.repeated + len(asked)
        to_run = [c for c in new if not impl._reject(c)]
        self.rejected = 0 if to_run else self.rejected + len(new)
        if new and not to_run:
            self.last_rejected = new[-1]
        batch = Batch(asked, new, to_run)
        for c in to_run + batch.rejected:
            c.job, self.next_job = self.next_job, self.next_job + 1
        return batch

    def tell(self, run: Any, optimizer: Any, batch: Batch) -> None:
        """Tell the optimizer each candidate's loss, in the order asked; a candidate without an outcome of its
        own (a duplicate within the batch, or a multi-fidelity entrant) takes the cached one: for an entrant,
        the last rung it reached."""
        for c in batch.asked:
            if c.outcome is None:
                c.outcome = run.cache[c.key]
            if run.losses.hold_back(c.outcome):
                self.held.append(c)
            else:
                optimizer.tell(c.cand, run.losses.loss(c.outcome))
            run.history.append(c)
        if self.held and run.losses.worst_loss is not None:  # the first success has set the scale
            for c in self.held:
                optimizer.tell(c.cand, run.losses.loss(c.outcome))
            self.held = []

    def count(self, trained: int, failed: int) -> None:
        self.trained += trained
        self.failed += failed

    @property
    def over_failure_rate(self) -> bool:
        """More trials failed than ``max_failure_rate`` allows: the sweep stops and its command fails."""
        return bool(self.trained) and self.failed / self.trained > self.settings.max_failure_rate

    def failure_stop(self, sweep_dir: Any, what: str = "trials failed") -> Optional[str]:
        """Why the sweep stops for its failure rate (``max_failure_rate``), or None."""
        rate = self.settings.max_failure_rate
        if not self.over_failure_rate:
            return None
        return (f"stopped: {self.failed} of {self.trained} {what}, over hydra.sweeper.max_failure_rate={rate}; "
                f"finished trials are kept in {sweep_dir} (ledger.jsonl); to go on, run the same command with a "
                "higher hydra.sweeper.max_failure_rate (it resumes); to read what finished: "
                f"python -m genarch.analyze {sweep_dir}")
