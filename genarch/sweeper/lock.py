"""One owner per sweep directory, and one run per job, even across a ``kill -9``.

The sweep lock
    :func:`acquire_sweep` takes an exclusive ``flock`` on ``<sweep_dir>/.genarch/sweep.lock`` and writes the
    holder (host, pid, start time, heartbeat) into it. The kernel drops the lock when the process dies, so a
    ``kill -9`` leaves nothing to clean up; a second sweep into the same directory is refused with one line
    naming the holder (:class:`SweepLocked`). The process keeps the lock for its life (the post-sweep
    analysis included); the same process may take it again (a second sweep run in process).

    On a shared filesystem ``flock`` may be unsupported (``ENOLCK``/``EOPNOTSUPP``) or local to one host
    (Lustre ``localflock``, NFS mounted ``nolock``). Two guards cover that: the holder's heartbeat, rewritten
    every :data:`HEARTBEAT_S` seconds, and a holder from another host whose heartbeat is fresher than
    :data:`STALE_S` is refused even where this host's ``flock`` succeeded; and where ``flock`` fails, an
    ``O_EXCL`` file ``sweep.owner`` (host, pid, heartbeat) stands in for it and is taken over only when its
    holder is dead (same host) or silent for :data:`STALE_S` seconds. See docs/stages.md.

The job locks
    :class:`JobLocked` wraps the task function the launcher runs: each trial holds an exclusive ``flock`` on
    ``<sweep_dir>/.genarch/jobs/<job>.lock`` while it runs, and first checks that the sweep which launched it
    still owns the directory (else it does not run). A resumed sweep calls :func:`wait_for_orphans` once it
    owns the directory: a job whose lock is still held belongs to a worker of the killed sweep (joblib and
    submitit workers outlive a ``kill -9`` of the sweep); the sweep waits for it, and the job's own end
    record in the ledger then counts as finished instead of it being trained a second time.

Everything here is picklable (launchers pickle the task function) and imports nothing of genarch's task."""

import errno
import json
import logging
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)

LOCK_DIR = ".genarch"
SWEEP_LOCK = "sweep.lock"
OWNER_FILE = "sweep.owner"  # the O_EXCL stand-in where flock is unsupported
JOBS_DIR = "jobs"
HEARTBEAT_S = 10.0
STALE_S = 60.0
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class SweepLocked(RuntimeError):
    """Another live sweep owns the directory; the message is one line naming it."""


class JobNotOwned(RuntimeError):
    """A trial launched by a sweep that no longer owns its directory (it was killed, another resumed it)."""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    started: str  # ISO time the sweep took the directory

    @staticmethod
    def this_process() -> "Holder":
        return Holder(socket.gethostname(), os.getpid(), time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def alive(self) -> Optional[bool]:
        """Whether the holder process lives; None where this host cannot tell (another host)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        return f"host {self.host}, pid {self.pid}, started {self.started}"


def _read_holder(path: Path) -> tuple[Optional[Holder], Optional[float]]:
    """The holder recorded in ``path`` and its heartbeat (epoch seconds); (None, None) if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
        return Holder(str(data["host"]), int(data["pid"]), str(data["started"])), float(data.get("heartbeat", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


class SweepLock:
    """The lock of one sweep directory held by this process (see the module docstring)."""

    def __init__(self, sweep_dir: Path, holder: Holder, fd: Optional[int], owner_file: Optional[Path]) -> None:
        self.sweep_dir, self.holder, self._fd, self._owner_file = sweep_dir, holder, fd, owner_file
        self._stop = threading.Event()
        self._write()
        self._beat = threading.Thread(target=self._heartbeat, name="genarch-sweep-lock", daemon=True)
        self._beat.start()

    @property
    def mode(self) -> str:
        return "flock" if self._fd is not None else "owner-file"

    def _record(self) -> bytes:
        return (json.dumps({**asdict(self.holder), "heartbeat": time.time(), "mode": self.mode}) + "\n").encode()

    def _write(self) -> None:
        data = self._record()
        if self._fd is not None:
            os.pwrite(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))
        else:
            tmp = self._owner_file.with_name(f".{OWNER_FILE}.{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, self._owner_file)  # still ours: only the holder rewrites it

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._write()
            except OSError as exc:  # a full disk must not stop the sweep; the holder just looks older
                log.debug("sweep lock heartbeat not written: %s", exc)

    def release(self) -> None:
        self._stop.set()
        _HELD.pop(str(self.sweep_dir), None)
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1
        elif self._owner_file is not None:
            self._owner_file.unlink(missing_ok=True)


_HELD: dict[str, SweepLock] = {}  # sweep dir -> the lock this process holds (kept for the process's life)


def acquire_sweep(sweep_dir: "str | os.PathLike[str]") -> SweepLock:
    """Own ``sweep_dir`` for the life of this process, or raise :class:`SweepLocked` naming the holder."""
    sweep_dir = Path(sweep_dir).resolve()
    if str(sweep_dir) in _HELD:
        return _HELD[str(sweep_dir)]
    lock_dir = sweep_dir / LOCK_DIR
    (lock_dir / JOBS_DIR).mkdir(parents=True, exist_ok=True)
    path = lock_dir / SWEEP_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder, _ = _read_holder(path)
        raise SweepLocked(_refusal(sweep_dir, holder)) from None
    except (OSError, ImportError) as exc:
        os.close(fd)
        if isinstance(exc, OSError) and exc.errno not in _UNSUPPORTED:
            raise
        log.warning("flock is not supported on %s (%s): the sweep lock is the O_EXCL file %s", sweep_dir, exc,
                    lock_dir / OWNER_FILE)
        lock = SweepLock(sweep_dir, Holder.this_process(), None, _take_owner_file(sweep_dir, lock_dir / OWNER_FILE))
        _HELD[str(sweep_dir)] = lock
        return lock
    # flock may be local to this host on a shared filesystem: a live holder on another host still owns it
    holder, beat = _read_holder(path)
    if holder is not None and holder.host != socket.gethostname() and beat and time.time() - beat < STALE_S:
        os.close(fd)
        raise SweepLocked(_refusal(sweep_dir, holder, f"heartbeat {time.time() - beat:.0f} s ago"))
    lock = SweepLock(sweep_dir, Holder.this_process(), fd, None)
    _HELD[str(sweep_dir)] = lock
    return lock


def _take_owner_file(sweep_dir: Path, owner: Path) -> Path:
    for _ in range(2):
        try:
            fd = os.open(owner, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            holder, beat = _read_holder(owner)
            silent = time.time() - (beat or 0)
            if holder is not None and holder.alive() is not False and silent < STALE_S:
                raise SweepLocked(_refusal(sweep_dir, holder, f"heartbeat {silent:.0f} s ago")) from None
            # its holder is dead (same host) or silent: one taker wins the rename, the other retries
            try:
                os.replace(owner, owner.with_name(f".{OWNER_FILE}.stale.{os.getpid()}"))
            except FileNotFoundError:
                pass
            continue
        os.close(fd)
        return owner
    raise SweepLocked(f"{sweep_dir}: another sweep took this directory at the same moment; run the command again")


def _refusal(sweep_dir: Path, holder: Optional[Holder], note: str = "") -> str:
    who = holder.describe() if holder else "holder not recorded yet"
    return (f"{sweep_dir} is in use by another sweep ({who}{'; ' + note if note else ''}): wait for it to end, "
            "or give another hydra.sweep.dir")


def current_holder(sweep_dir: "str | os.PathLike[str]") -> Optional[Holder]:
    """The holder recorded for ``sweep_dir`` (of the flock file or the O_EXCL stand-in, the one with the
    latest heartbeat), or None."""
    lock_dir = Path(sweep_dir) / LOCK_DIR
    found = [_read_holder(lock_dir / name) for name in (SWEEP_LOCK, OWNER_FILE)]
    found = [(beat or 0.0, holder) for holder, beat in found if holder is not None]
    return max(found, key=lambda pair: pair[0])[1] if found else None


# ---------------------------------------------------------------- job locks


def job_lock_path(sweep_dir: Path, job: int) -> Path:
    return Path(sweep_dir) / LOCK_DIR / JOBS_DIR / f"{int(job)}.lock"


class _JobFlock:
    def __init__(self, path: Path, blocking: bool = True) -> None:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BaseException:
            os.close(self.fd)
            raise
        os.pwrite(self.fd, f"{socket.gethostname()} {os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        os.close(self.fd)


class JobLocked:
    """The launcher's task function, run under the job's lock and only while its sweep owns the directory."""

    def __init__(self, task_function: Callable[[Any], Any]) -> None:
        self.task_function = task_function
        self.owner: Optional[Holder] = None  # set by the sweep once it holds the directory

    def __call__(self, cfg: Any) -> Any:
        where = _job_of_this_process()
        if where is None:
            return self.task_function(cfg)
        sweep_dir, job = where
        try:
            held = _JobFlock(job_lock_path(sweep_dir, job))
        except OSError as exc:  # flock unsupported on this filesystem: run unguarded (docs/stages.md)
            log.debug("job lock not taken (%s)", exc)
            held = None
        try:
            if self.owner is not None:
                now = current_holder(sweep_dir)
                if now is not None and now != self.owner:
                    raise JobNotOwned(f"job {job} was launched by the sweep {self.owner.describe()}, but "
                                      f"{sweep_dir} now belongs to {now.describe()}: not run")
            return self.task_function(cfg)
        finally:
            if held is not None:
                held.release()


def _job_of_this_process() -> Optional[tuple[Path, int]]:
    """(sweep dir, job number) of the trial this process runs, from Hydra's job config."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return None
        hc = HydraConfig.get()
        return Path(str(hc.runtime.cwd), str(hc.sweep.dir)).resolve(), int(hc.job.num)
    except Exception:  # noqa: BLE001 - outside a sweep: nothing to lock
        return None


def wait_for_orphans(sweep_dir: "str | os.PathLike[str]", poll_s: float = 0.5) -> list[int]:
    """Wait until no job lock of ``sweep_dir`` is held (by a worker of a killed sweep); the jobs waited for."""
    jobs_dir = Path(sweep_dir) / LOCK_DIR / JOBS_DIR
    waited = []
    for path in sorted(jobs_dir.glob("*.lock"), key=lambda p: int(p.stem) if p.stem.isdigit() else -1):
        try:
            _JobFlock(path, blocking=False).release()
            continue
        except BlockingIOError:
            pass
        except OSError:
            continue  # flock unsupported: nothing to wait for
        log.warning("job %s is still running in a worker of an earlier sweep process (%s): waiting for it to end, "
                    "so that it is not trained twice (end that process to go on at once; the job then runs again)",
                    path.stem, path.read_text(encoding="utf-8").strip())
        waited.append(int(path.stem))
        while True:
            try:
                _JobFlock(path, blocking=False).release()
                break
            except BlockingIOError:
                time.sleep(poll_s)
    return waited


def own_sweep_dir(sweep_dir: "str | os.PathLike[str]", guard: Optional[JobLocked] = None) -> SweepLock:
    """What a sweep does first in its directory: own it (or raise :class:`SweepLocked`), tell its task
    function who launches the jobs, and wait for jobs still running in workers of a killed sweep."""
    held = acquire_sweep(sweep_dir)
    if guard is not None:
        guard.owner = held.holder
    if held.mode == "flock":
        wait_for_orphans(sweep_dir)
    return held
