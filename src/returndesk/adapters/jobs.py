"""Background work in a thread of this process: the embedded default (no broker needed).

Long requests (a what-if simulation over many cases) run here while the page shows their
progress. Jobs live in memory: a restart forgets them, which is fine for work that only
reads and can simply be started again.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from returndesk.domain.errors import DomainError
from returndesk.domain.ids import new_id

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(slots=True)
class Job:
    id: str
    owner: str  # who may see it: "staff:<id>"
    kind: str
    started_at: datetime
    done: int = 0
    total: int = 0
    finished: bool = False
    result: Any = None
    error: str | None = None  # a stable error code
    detail: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class InProcessJobs:
    def __init__(self, keep: int = 50) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def submit(self, owner: str, kind: str, work: Callable[[Progress], Any]) -> Job:
        job = Job(new_id(), owner, kind, datetime.now(UTC))
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)

        def progress(done: int, total: int) -> None:
            with job.lock:
                job.done, job.total = done, total

        def run() -> None:
            try:
                result = work(progress)
            except DomainError as exc:
                job.error, job.detail = exc.code, exc.detail
            except Exception:
                log.exception("job %s (%s) failed", job.id, kind)
                job.error = "generic"
            else:
                job.result = result
            finally:
                job.finished = True

        threading.Thread(target=run, name=f"job-{kind}", daemon=True).start()
        return job

    def get(self, job_id: str, owner: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None
