"""Shares of a py-spy raw profile (``bench/profile_http.py --profile OUT``).

    .venv/bin/python bench/profile_shares.py OUT [--top 40] [--match TEXT ...]

Prints, for every function, the share of busy samples (a thread waiting for work or for
a socket left out) with it on the stack (inclusive) and at the top (self), largest
first; ``--match`` limits the list to frames containing a text.
"""

from __future__ import annotations

import argparse
from collections import Counter

#: Frames where a thread waits (a pool worker for work, the loop for sockets).
IDLE = (
    "Condition.wait ",
    "_worker (concurrent/futures/thread.py:81)",
    "EpollSelector.select ",
    "Event.wait ",
    "Lock.acquire",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", nargs="*", default=[])
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    idle = 0
    with open(args.raw) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            n = int(count)
            frames = stack.split(";")
            if frames[-1].startswith(IDLE):
                idle += n
                continue
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            own[frames[-1]] += n
    print(f"{total} busy samples ({idle} waiting left out)")
    rows = [f for f, _ in inclusive.most_common()]
    if args.match:
        rows = [f for f in rows if any(m in f for m in args.match)]
    for frame in rows[: args.top]:
        print(f"{100 * inclusive[frame] / total:5.1f}% {100 * own[frame] / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
