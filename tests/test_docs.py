"""The docs stay readable and connected: a short front page, and no link that leads nowhere.

README.md is the front page (at most 200 lines); docs/ is the manual. Every relative link
and image in them must name a file or folder that exists, and an anchor (`page.md#part`)
must name a heading of that page, so moving a section cannot silently break the index.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
README_MAX_LINES = 200

# docs/parameters.md is written by the generator from the parameter declarations (the
# plan helper's `segbench docs`), so a checkout that has not generated it yet may lack it;
# its own test checks it is present and fresh. Every other target must exist.
GENERATED = {ROOT / "docs" / "parameters.md"}

# [text](target) and ![alt](target), with an optional "title" after the target
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without code: a `[x](y)` inside a code sample is not a link."""
    return FENCE.sub("", text)


def links(page: Path) -> list[str]:
    found = LINK.findall(_prose(page.read_text()))
    return [target for target in found
            if not target.startswith(("http://", "https://", "mailto:"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(_prose(page.read_text()))}


def test_readme_is_a_front_page_of_at_most_200_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; move detail into docs/ (at most "
        f"{README_MAX_LINES})")


def test_the_manual_has_pages_to_link():
    assert len(PAGES) > 1, "docs/ holds no Markdown pages"
    assert links(README), "README.md links to nothing"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in links(page):
        path_part, _, anchor = target.partition("#")
        if not path_part:  # a pure #anchor on this page
            if anchor and anchor not in anchors(page):
                broken.append(f"{target} (no such heading here)")
            continue
        resolved = (page.parent / path_part).resolve()
        if resolved in GENERATED:
            continue
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {path_part})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_links_outside_code_are_found_and_links_inside_code_are_not(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("See [the manual](docs/a.md#part) and ![pic](ui/x.png \"a title\").\n"
                    "```bash\necho [x](not-a-link.md)\n```\n"
                    "[web](https://example.com) [`q.sql`](cookbook/q.sql)\n")
    assert links(page) == ["docs/a.md#part", "ui/x.png", "cookbook/q.sql"]


def test_slug_matches_githubs_anchor_for_a_heading_with_code_and_punctuation():
    assert slug("Without Airflow: `segbench serve`") == "without-airflow-segbench-serve"
    assert slug("At a year's scale") == "at-a-years-scale"
    assert slug("Measuring it: `benchmarks/parity.py`") == "measuring-it-benchmarksparitypy"
