"""What a simulation prints: the dashboard's figures per day as JSON or a table, and a
side-by-side comparison of call-next settings on the same visitors."""

from __future__ import annotations

import unicodedata
from typing import Any

from .engine import DayResult, SimulationResult

KPI_ROWS = (
    ("tickets", "取号 tickets"),
    ("served", "办结 served"),
    ("no_show", "过号 no-shows"),
    ("wait_mean_s", "平均等候 mean wait (s)"),
    ("wait_p90_s", "等候P90 wait p90 (s)"),
    ("wait_max_s", "最长等候 max wait (s)"),
    ("handle_mean_s", "平均办理 mean handling (s)"),
    ("sla_share", "达标率 within SLA"),
)
CLASSES = (("normal", "普通 normal"), ("priority", "绿色通道 priority"),
           ("transferred", "转移后 after transfer"))  # fmt: skip


def day_json(day: DayResult) -> dict[str, Any]:
    return {
        "business_day": day.day.isoformat(),
        "visitors": day.visitors,
        "refused": day.refused,
        "left_waiting": day.left_waiting,
        "service_calls": day.service_calls,
        "classes": day.classes,
        "figures": day.figures,
    }


def result_json(result: SimulationResult, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "policy": policy or {},
        "tickets": result.tickets,
        "wall_s": round(result.wall_s, 3),
        "tickets_per_s": round(result.tickets_per_s, 1),
        "days": [day_json(d) for d in result.days],
    }


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 1 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    space = " " * (width - _width(text))
    return text + space if left else space + text


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(_pad(c, w, left=i == 0)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True)))  # fmt: skip

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def day_table(day: DayResult) -> str:
    """One day's hall figures, then each service's, as a printed table."""
    kpis = day.figures["kpis"]
    services = {s["service"]: s for s in day.figures["by_service"]}
    header = ["", "大厅 hall", *services]
    rows = [[label, _cell(kpis.get(key)), *(_cell(s.get(key)) for s in services.values())]
            for key, label in KPI_ROWS]  # fmt: skip
    extra = (f"visitors {day.visitors:,}, refused {day.refused:,}, still waiting at close "
             f"{day.left_waiting:,}, service calls {day.service_calls:,}")  # fmt: skip
    return f"== {day.day.isoformat()}  ({extra})\n{_table(header, rows)}"


def comparison_table(runs: list[tuple[str, SimulationResult]]) -> str:
    """Mean / p90 / max wait per visitor class, one column per call-next setting."""
    header = ["", *(name for name, _ in runs)]
    rows: list[list[str]] = []
    for key, label in CLASSES:
        for stat in ("wait_mean_s", "wait_p90_s", "wait_max_s"):
            cells = []
            for _, result in runs:
                values = [d.classes[key] for d in result.days if d.classes[key]["visitors"]]
                if not values:
                    cells.append("—")
                    continue
                # Days weigh by their visitors (mean), or take the worst day (p90, max).
                if stat == "wait_mean_s":
                    n = sum(v["visitors"] for v in values)
                    cells.append(_cell(sum(v[stat] * v["visitors"] for v in values) / n))
                else:
                    cells.append(_cell(max(v[stat] for v in values)))
            rows.append([f"{label} {stat.removeprefix('wait_').removesuffix('_s')} (s)", *cells])
    return _table(header, rows)
