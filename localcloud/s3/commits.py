"""Group commit of S3 mutations to disk: a request is answered once its change is durable, and one disk
write covers every change applied to the bucket while the previous write was running.

moto applies mutations one at a time (`apply_lock`); the disk write (fsyncs: milliseconds) happens
outside that lock, so a write burst costs one or two disk writes per bucket instead of one each. If a
disk write fails, the bucket in moto is put back to what is on disk and every request whose change was
undone gets the failure: nothing acknowledged is lost, nothing lives in memory only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from localcloud.s3.persistence import S3Mirror


@dataclass
class _Bucket:
    applied: int = 0  # changes moto has applied (tickets handed out)
    durable: int = 0  # changes settled on disk: written, or reported failed
    writing: bool = False
    failed: list[tuple[int, int, str]] = field(default_factory=list)  # (after, up to, why]


class GroupCommit:
    def __init__(self, mirror: S3Mirror, apply_lock: threading.Lock) -> None:
        self.mirror = mirror
        self.apply_lock = apply_lock  # held by the caller while moto applies a change
        self._cond = threading.Condition()
        self._buckets: dict[str, _Bucket] = {}

    def applied(self, bucket: str) -> int:
        """Call with `apply_lock` held, right after moto applied a change to `bucket`: its ticket."""
        with self._cond:
            state = self._buckets.setdefault(bucket, _Bucket())
            state.applied += 1
            return state.applied

    def wait_durable(self, bucket: str, ticket: int) -> None:
        """Return once the change `ticket` is on disk; OSError if writing it failed (and it was undone)."""
        while True:
            with self._cond:
                state = self._buckets[bucket]
                while state.durable < ticket and state.writing:
                    self._cond.wait()
                if state.durable >= ticket:
                    for after, upto, why in state.failed:
                        if after < ticket <= upto:
                            raise OSError(why)
                    return
                state.writing = True
            self._write(bucket, state)

    def _write(self, bucket: str, state: _Bucket) -> None:
        failure: tuple[int, int, str] | None = None
        with self.apply_lock:  # a consistent copy: no change is half-applied while it is taken
            target = state.applied
            snapshot = self.mirror.snapshot(bucket)
        try:
            self.mirror.commit(snapshot)
        except OSError as exc:
            with self.apply_lock:  # undo in moto everything the disk does not have, and fail it all
                self.mirror.revert(bucket)
                target = state.applied
            failure = (state.durable, target, f"{exc.strerror or exc}")
        with self._cond:
            if failure is not None:
                state.failed = [*state.failed[-15:], failure]
            state.durable = max(state.durable, target)
            state.writing = False
            self._cond.notify_all()
