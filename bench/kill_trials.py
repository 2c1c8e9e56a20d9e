"""Kill trials of the headless scheduler (issue 5: 100 in the benchmark, 20 in CI).

Each trial (``tests/recovery_trials.kill_trial``) starts ``dagstudio scheduler`` on a DAG of sleeping tasks
with retries whose catchup creates three runs at once (5 tasks, one mapped over 2), SIGKILLs it while
tries are running, checks that no process of it survives (fork server and workers), restarts it and
checks that every run ends as Airflow would (the killed try a failed try, retried under the task's
retries), no duplicate run, every recorded try's process group gone and ``PRAGMA integrity_check`` ok.

    /tmp/devvenv/bin/python bench/kill_trials.py            # 100 trials, 2 at a time
    /tmp/devvenv/bin/python bench/kill_trials.py --trials 20 --parallel 1
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.recovery_trials import TrialResult, kill_trial  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=2, help="trials running at once (default 2)")
    parser.add_argument("--nap", type=float, default=0.3, help="seconds each task sleeps (default 0.3)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kill_trials_") as tmp:

        def one(seed: int) -> TrialResult:
            try:
                return kill_trial(Path(tmp) / f"trial{seed}", seed, nap=args.nap)
            except Exception as exc:  # a trial that could not finish is a failed trial
                return TrialResult(problems=[f"{type(exc).__name__}: {exc}"])

        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            results = list(pool.map(one, range(args.trials)))
    failed = {seed: r.problems for seed, r in enumerate(results) if r.problems}
    killed = collections.Counter(
        k.split("/", 1)[1].split("#")[0].split("[")[0] for r in results for k in r.killed_tries
    )
    seconds = [r.seconds for r in results if r.seconds]
    print(f"kill trials: {args.trials - len(failed)}/{args.trials} passed ({args.parallel} at a time, "
          f"{time.monotonic() - started:.1f} s in all)")  # fmt: skip
    if seconds:
        print(f"per trial: median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s")
    print(f"tries running when the scheduler was killed: {sum(killed.values())} "
          f"({', '.join(f'{task} {n}' for task, n in sorted(killed.items()))})")  # fmt: skip
    print(f"trials whose kill hit no recorded running try: {sum(1 for r in results if not r.killed_tries)}")
    for seed, problems in sorted(failed.items()):
        print(f"trial {seed}:")
        for problem in problems:
            print(f"  {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
