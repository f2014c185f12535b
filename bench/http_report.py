"""The HTTP benchmark's figures: one point per scenario, store and concurrency, the targets,
and the table ``bench/bench_http.py`` prints (pure code: no network, no database)."""

from __future__ import annotations

import json
from dataclasses import dataclass

RESULT_PREFIX = "BENCH_RESULT "

HEALTH = "health"
PORTFOLIO = "portfolio (20 credentials)"
CREDENTIAL_PAGE = "credential page"
VERIFY = "POST /api/v1/verify"
ISSUE = "complete a project (issue)"
ISSUE_WORKERS = "complete a project, --workers 2"
BULK = "bulk issue (time)"


@dataclass(frozen=True)
class Target:
    """What a scenario should reach at ``concurrency`` (None: any row of it)."""

    concurrency: int | None
    share_of_health: float | None = None
    p99_ms: float | None = None
    seconds: float | None = None

    def describe(self) -> str:
        parts = []
        if self.share_of_health is not None:
            parts.append(f"≥{self.share_of_health:.0%} health")
        if self.p99_ms is not None:
            parts.append(f"p99≤{self.p99_ms:g}ms")
        if self.seconds is not None:
            parts.append(f"≤{self.seconds:g}s")
        at = f" @c={self.concurrency}" if self.concurrency is not None else ""
        return ", ".join(parts) + at


TARGETS: dict[str, Target] = {
    PORTFOLIO: Target(10, share_of_health=0.50, p99_ms=30),
    CREDENTIAL_PAGE: Target(10, share_of_health=0.50, p99_ms=30),
    VERIFY: Target(50, share_of_health=0.40, p99_ms=25),
    ISSUE: Target(8, share_of_health=0.25),
    ISSUE_WORKERS: Target(8, share_of_health=0.25),
    BULK: Target(None, seconds=15),
}


@dataclass
class Point:
    """One measured scenario at one concurrency on one store."""

    store: str
    scenario: str
    concurrency: int
    requests: int
    seconds: float
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    non_2xx: int = 0
    status_5xx: int = 0
    #: Of the 5xx, how many were 503 (the verifier's queue full: ``verify.busy``).
    status_503: int = 0
    #: Socket errors and timeouts (no HTTP answer at all); for bulk issuing, rows not issued.
    failed: int = 0
    wrong: int | None = None
    #: The scenario's server flags, e.g. "--workers 2" (for the health it is compared with).
    server: str = ""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def parse_wrk(output: str) -> dict[str, int]:
    """The figures ``bench/http_requests.lua`` printed at the end of a wrk run."""
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, int] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    raise ValueError(f"no {RESULT_PREFIX.strip()} line in the wrk output:\n{output[-2000:]}")


def point_from_wrk(
    store: str, scenario: str, concurrency: int, result: dict[str, int], *, server: str = ""
) -> Point:
    """A point from ``parse_wrk``'s figures; ``wrong`` is kept only for verification."""
    failed = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return Point(
        store=store,
        scenario=scenario,
        concurrency=concurrency,
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p95_ms=result["p95_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        non_2xx=result["requests"] - result["status_2xx"],
        status_5xx=result["status_5xx"],
        status_503=result.get("status_503", 0),
        failed=failed,
        wrong=result["wrong"] if scenario == VERIFY else None,
        server=server,
    )


def health_share(point: Point, points: list[Point]) -> float | None:
    """The point's throughput over health's on the same store, concurrency and server."""
    for other in points:
        if (
            other.scenario == HEALTH
            and other.store == point.store
            and other.concurrency == point.concurrency
            and other.server == point.server
            and other.per_second > 0
        ):
            return point.per_second / other.per_second
    return None


def verdict(point: Point, points: list[Point]) -> tuple[str, bool | None]:
    """The target shown beside ``point`` and whether it is met (None: no target here).

    Zero 5xx and zero wrong verdicts are targets of every row."""
    met: bool | None = point.status_5xx == 0 and not point.wrong
    shown = ["0 5xx"] if point.scenario != HEALTH else []
    target = TARGETS.get(point.scenario)
    if target is not None and target.concurrency in (None, point.concurrency):
        shown = [target.describe(), *shown]
        if target.share_of_health is not None:
            share = health_share(point, points)
            met = met and share is not None and share >= target.share_of_health
        if target.p99_ms is not None:
            met = met and point.p99_ms <= target.p99_ms
        if target.seconds is not None:
            met = met and point.seconds <= target.seconds and not point.non_2xx + point.failed
    if point.scenario == HEALTH:
        met = None if point.status_5xx == 0 else False
    return "; ".join(shown), met


def format_table(points: list[Point]) -> str:
    """The figures as a Markdown table, one row per point, targets beside them."""
    head = (
        "| store | scenario | c | req/s | p50 ms | p95 ms | p99 ms | non-2xx | 5xx | failed "
        "| wrong verdicts | × health | target | met |"
    )
    lines = [head, _rule(head)]
    for p in points:
        share = health_share(p, points)
        target, met = verdict(p, points)
        if p.scenario == BULK:
            rate = f"{p.requests / p.seconds:,.0f} rows/s" if p.seconds else "–"
            lat = (f"{p.seconds:.1f} s", "", "")
        else:
            rate = f"{p.per_second:,.0f}"
            lat = (f"{p.p50_ms:.1f}", f"{p.p95_ms:.1f}", f"{p.p99_ms:.1f}")
        lines.append(
            "| "
            + " | ".join(
                [
                    p.store,
                    p.scenario + (f" ({p.server})" if p.server and p.scenario == HEALTH else ""),
                    str(p.concurrency),
                    rate,
                    *lat,
                    str(p.non_2xx),
                    f"{p.status_5xx} (503: {p.status_503})" if p.status_503 else str(p.status_5xx),
                    str(p.failed),
                    "" if p.wrong is None else str(p.wrong),
                    "" if share is None or p.scenario in (HEALTH, BULK) else f"{share:.0%}",
                    target,
                    {True: "yes", False: "NO", None: ""}[met],
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def _rule(head: str) -> str:
    return "|" + "---|" * (head.count("|") - 1)
