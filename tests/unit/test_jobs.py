"""In-process background jobs: progress, results, errors, and who may see them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from returndesk.adapters.jobs import InProcessJobs, Job
from returndesk.domain.errors import ValidationFailed


def wait(job: Job, seconds: float = 5.0) -> Job:
    deadline = time.monotonic() + seconds
    while not job.finished:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.01)
    return job


def test_a_job_reports_progress_and_its_result() -> None:
    jobs = InProcessJobs()
    gate = threading.Event()

    def work(progress: Callable[[int, int], None]) -> str:
        progress(1, 4)
        gate.wait(5)
        progress(4, 4)
        return "done"

    job = jobs.submit("staff:a", "test", work)
    deadline = time.monotonic() + 5
    while job.done != 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert (job.done, job.total, job.finished) == (1, 4, False)
    gate.set()
    assert wait(job).result == "done"
    assert (job.done, job.total, job.error) == (4, 4, None)


def test_only_its_owner_sees_a_job() -> None:
    jobs = InProcessJobs()
    job = jobs.submit("staff:a", "test", lambda progress: 1)
    assert jobs.get(job.id, "staff:a") is job
    assert jobs.get(job.id, "staff:b") is None
    assert jobs.get("missing", "staff:a") is None


def test_errors_keep_their_code_and_unexpected_ones_become_generic() -> None:
    jobs = InProcessJobs()

    def refused(progress: Callable[[int, int], None]) -> None:
        raise ValidationFailed("bad draft", code="invalid_policy")

    def broken(progress: Callable[[int, int], None]) -> None:
        raise RuntimeError("boom")

    first = wait(jobs.submit("staff:a", "test", refused))
    assert (first.error, first.detail, first.result) == ("invalid_policy", "bad draft", None)
    second = wait(jobs.submit("staff:a", "test", broken))
    assert second.error == "generic"


def test_old_jobs_are_forgotten() -> None:
    jobs = InProcessJobs(keep=2)
    ids = [wait(jobs.submit("o", "test", lambda progress: None)).id for _ in range(3)]
    assert jobs.get(ids[0], "o") is None
    assert jobs.get(ids[2], "o") is not None
