"""Fuzz every loader for N minutes: anything but govreport's InputError is a finding.

    python benchmarks/fuzz.py 10              # 10 minutes per loader
    python benchmarks/fuzz.py 2 policy spec   # 2 minutes, two loaders

The targets and input strategies (valid documents with random edits, and random
text) are those of ``tests/test_fuzz.py`` (``tests/corpus/fuzzing.py``), run by
hypothesis in rounds of fresh random examples until the time is up. Prints one
line per loader (examples run, seconds) and exits 1 on the first finding, with
hypothesis's shrunk failing input.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from corpus.fuzzing import TARGETS, check  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402


def fuzz(name: str, seconds: float) -> tuple[int, str | None]:
    """Examples run on loader ``name`` in about ``seconds``, and the finding if any."""
    strategy = TARGETS[name][1]()
    count = 0

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(text=strategy)
    def one(text: str) -> None:
        nonlocal count
        count += 1
        check(name, text)

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            one()
        except Exception:  # a finding: hypothesis has shrunk it and says which input
            return count, traceback.format_exc()
    return count, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("minutes", type=float, help="minutes per loader")
    parser.add_argument("loaders", nargs="*", choices=[*sorted(TARGETS), []], default=[])
    args = parser.parse_args()
    failed = False
    for name in args.loaders or sorted(TARGETS):
        start = time.monotonic()
        count, finding = fuzz(name, args.minutes * 60)
        took = time.monotonic() - start
        verdict = "FINDING" if finding else "ok"
        print(f"{name:8} {count:8d} examples in {took:6.0f} s: {verdict}", flush=True)
        if finding:
            print(finding, file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
