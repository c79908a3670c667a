"""The documentation is checked: every relative link resolves, and every command shown in a shell block parses."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from pathlib import Path

import pytest

from biometrix.cli import main

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = sorted([README, *(REPO / "docs").glob("**/*.md")])
# the pages issue 31 asks for, each linked from the README
READER_PAGES = ("teller-guide.md", "admin-guide.md", "security.md", "models.md", "evaluation.md",
                "architecture.md", "signature-experiments.md")
REPO_FOLDERS = {"biometrix", "assets", "bench", "packaging", "docs", "tests"}  # a path into these must exist
README_LIMIT = 15_000  # bytes, as `wc -c` counts them

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
SHELL = {"bash", "sh", "shell", "console"}
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _prose(text: str) -> str:
    """The text outside fenced blocks and inline code, where a link is a link."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: Counter[str] = Counter()
    anchors = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        slug = _slug(heading)
        anchors.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
        seen[slug] += 1
    return anchors


def _links(page: Path) -> list[str]:
    return [t for t in LINK.findall(_prose(page.read_text())) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def _shell_commands(page: Path) -> list[str]:
    """Each command of the page's shell blocks: continuation lines joined, split at &&, ; and |, comments cut."""
    commands = []
    for language, body in FENCE.findall(page.read_text()):
        if language not in SHELL:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            commands += [part.strip() for part in re.split(r"&&|;|\|\|?", line.split(" #")[0]) if part.strip()]
    return commands


def _biometrix_argv(command: str) -> list[str] | None:
    """The arguments after ``biometrix`` (or ``.venv/bin/biometrix``), environment assignments skipped."""
    words = shlex.split(command, comments=True)
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    if not words or Path(words[0]).name != "biometrix":
        return None
    return words[1:]


def _cases() -> list[tuple[str, str]]:
    return [(page.relative_to(REPO).as_posix(), command) for page in PAGES for command in _shell_commands(page)
            if _biometrix_argv(command) is not None]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no heading '{anchor}' in {resolved.name})")
    assert not broken, f"{page.name}: broken links: {broken}"


@pytest.mark.parametrize(("page", "command"), _cases())
def test_every_biometrix_command_shown_names_a_real_subcommand_and_options(
        page: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _biometrix_argv(command)
    assert argv is not None
    path = _leading_words(argv)
    assert main([*path, "--help"]) == 0, f"{page}: 'biometrix {' '.join(path)} --help' failed: {command}"
    usage = capsys.readouterr().out
    assert usage.startswith("usage: biometrix"), usage[:200]
    missing = [w for w in argv if w.split("/")[0] in REPO_FOLDERS and not (REPO / w).exists()]
    assert not missing, f"{page}: files named in the command do not exist: {missing} in {command}"
    unknown = sorted({o for word in argv for o in OPTION.findall(word) if o not in usage} - {"--selftest"})
    assert not unknown, f"{page}: options not in 'biometrix {' '.join(path)} --help': {unknown} in {command}"


def _leading_words(argv: list[str]) -> list[str]:
    """The subcommand path: the words before the first option."""
    words = []
    for word in argv:
        if word.startswith("-"):
            break
        words.append(word)
    return words


def test_the_readme_is_short_and_links_every_readers_page() -> None:
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes, over {README_LIMIT}"
    targets = {(REPO / t.partition("#")[0]).resolve() for t in _links(README)}
    missing = [name for name in READER_PAGES if (REPO / "docs" / name).resolve() not in targets]
    assert not missing, f"README.md does not link {missing}"
    for name in READER_PAGES:
        assert (REPO / "docs" / name).is_file(), f"docs/{name} is missing"


def test_the_readme_keeps_the_install_and_test_commands_ci_runs() -> None:
    commands = _shell_commands(README)
    assert "python3 -m venv .venv" in commands
    assert ".venv/bin/pip install -e '.[cpu,train,eval,dev,convert]'" in commands
    assert ".venv/bin/python -m pytest -q" in commands
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install -q -e '.[cpu,train,eval,dev,convert]'" in ci and "python -m pytest -q" in ci
