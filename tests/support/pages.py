"""What the page tests of several screens share: a hall with many services, text sizes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

# HALL_SCREENSHOTS=<folder> keeps the screenshots the page tests take.
SCREENSHOTS = os.environ.get("HALL_SCREENSHOTS", "")

# 13 services more than the small test hall's 3 (16 in all); the last, s12, has a long name.
LONG_NAME = "不动产登记与房屋交易税费及抵押登记综合受理服务专区"  # 24 characters
LONG_NAME_EN = "Real Estate Registration, Housing Transactions, Mortgages and Taxes"
MORE_SERVICES = [
    ("医保", "Medical Insurance"), ("公积金", "Housing Fund"), ("税务", "Taxation"),
    ("户籍", "Household Registration"), ("婚姻登记", "Marriage Registration"),
    ("民政", "Civil Affairs"), ("残联", "Disabled Persons' Federation"),
    ("工商", "Business Licences"), ("人才", "Talent Services"), ("交通", "Transport"),
    ("公证", "Notary"), ("水电气报装", "Water, Power and Gas Connections"),
    (LONG_NAME, LONG_NAME_EN),
]  # fmt: skip


def many_services() -> str:
    """The site-file tables of MORE_SERVICES (codes s0…s12), open round the clock."""
    return "".join(
        f"""
[[hall.services]]
code = "s{index}"
name = "{name}"
name_en = "{name_en}"
category = "其他"
prefix = "{chr(ord("D") + index)}"
zone = "A区"
floor = 1
hours = [["00:00", "24:00"]]
weekdays = [1, 2, 3, 4, 5, 6, 7]
"""
        for index, (name, name_en) in enumerate(MORE_SERVICES)
    )


# Every visible text node's computed font size, smallest first, with its text.
TEXT_SIZES = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const shown = Array.from(range.getClientRects()).some((r) => r.width > 0 && r.height > 0);
    const style = getComputedStyle(node.parentElement);
    if (!shown || style.visibility === "hidden" || Number(style.opacity) === 0) continue;
    found.push([parseFloat(style.fontSize), node.textContent.trim().slice(0, 40)]);
  }
  return found.sort((a, b) => a[0] - b[0]);
}"""


def text_sizes(page: Any) -> list[Any]:
    """Every visible text's font size in px, smallest first, as [size, text]."""
    return list(page.evaluate(TEXT_SIZES))


def shoot(page: Any, tmp_path: Path, name: str, *, full_page: bool = False) -> None:
    """Screenshot ``page`` into the test's folder (and HALL_SCREENSHOTS, when set)."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=full_page)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SCREENSHOTS) / name)
