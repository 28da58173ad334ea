"""The README stays a front door, and no link in it or in docs/ leads nowhere.

Guides move and get renamed; a link into a moved section (``README.md#gpu``) fails silently on
GitHub, so every relative link of README.md and docs/**/*.md must name a file that exists and,
when it has one, an anchor that one of that file's headings makes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 220  # a front door: what, two commands, one output, three paths, links
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The text without fenced code blocks (``#SBATCH`` is no heading, ``[x](y)`` no link)."""
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor the headings of a Markdown file make (repeats get -1, -2, ... as on GitHub)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_prose(path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file (web and mail addresses left out)."""
    prose = _CODE_SPAN.sub("", _prose(path.read_text(encoding="utf-8")))
    return [t for t in _LINK.findall(prose) if not re.match(r"[a-z][a-z+.-]*:", t)]


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def broken(path: Path) -> list[str]:
    """The links of ``path`` that name a missing file or a heading its target does not have."""
    bad = []
    for target in links(path):
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{target} (no file {_shown(dest)})")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target} (no heading makes #{anchor} in {_shown(dest)})")
    return bad


def test_the_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into a "
        "guide under docs/guides/ and link it"
    )


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken(path) == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("2. Throughput vs `transformers.Trainer`", "2-throughput-vs-transformerstrainer"),
        ("Hydra's submitit launcher", "hydras-submitit-launcher"),
        (
            "Faults: failing trials, Ctrl-C, killed workers",
            "faults-failing-trials-ctrl-c-killed-workers",
        ),
        ("4. vs `Trainer.hyperparameter_search`", "4-vs-trainerhyperparameter_search"),
    ],
)
def test_slug_is_githubs_anchor(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_link_to_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("# Guide\n\n## Install it\n\n```\n# not a heading\n```\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](guide.md#install-it) [gone](missing.md) [moved](guide.md#gpu) "
        "[code](guide.md#not-a-heading) `[in code](nowhere.md)` [web](https://example.org/x.md) "
        "[here](#page)\n\n# Page\n\n```\n[in a block](nowhere.md)\n```\n"
    )
    assert [b.split(" ")[0] for b in broken(page)] == [
        "missing.md",
        "guide.md#gpu",
        "guide.md#not-a-heading",
    ]
