"""The plugin tutorials run verbatim: every file block is written and every console command run, in
order, in a fresh virtual environment with no network, and each command's shown output is checked.

A console block's lines starting ``$ `` are commands; the lines after one are its output. A line
``...`` stands for any lines, and a line ending in `` ...`` for any ending; otherwise the output
must be exactly what is shown. A file block names its
file in its info string (``title="path"``); blocks naming the same file are added to it in order.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from builders import REPO, make_venv

# One worker builds carecheck's wheel once for every test that installs it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wheel")]

TUTORIALS = REPO / "docs" / "plugins"
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```$", re.S | re.M)


def blocks(path: Path) -> list[tuple[str, str | None, str]]:
    """Each fenced block as (language, file title or None, text)."""
    found = []
    for language, info, text in FENCE.findall(path.read_text(encoding="utf-8")):
        title = re.search(r'title="([^"]+)"', info)
        found.append((language, title.group(1) if title else None, text))
    return found


def commands(text: str) -> list[tuple[str, list[str]]]:
    """A console block's commands, each with the output lines shown after it."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line.rstrip())
    return out


def matches(shown: list[str], actual: list[str]) -> bool:
    """Whether the output shown (with ``...`` for any lines) matches what the command printed."""
    def piece(line: str) -> str:
        if line == "...":
            return "(?:.*\n)*?"
        if line.endswith(" ..."):  # a line that goes on differently each time (a duration)
            return re.escape(line[:-3]) + ".*\n"
        return re.escape(line) + "\n"

    pattern = "".join(piece(line) for line in shown)
    return re.fullmatch(pattern, "".join(line + "\n" for line in actual)) is not None


@pytest.fixture(scope="module")
def tutorial_venv(tmp_path_factory, wheel):
    return make_venv(tmp_path_factory.mktemp("tutorial") / "env", wheel)


def run_tutorial(name: str, venv: Path, workdir: Path) -> int:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CARECHECK_", "PYTHON", "PIP_"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv), PIP_NO_INDEX="1",
               # pip reads "0" here as "do not isolate the build": build with the setuptools at hand
               PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1", HOME=str(workdir))
    written: set[str] = set()
    ran = 0
    for language, title, text in blocks(TUTORIALS / name):
        if title:
            path = workdir / title
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a" if title in written else "w", encoding="utf-8") as handle:
                handle.write(text)
            written.add(title)
        elif language == "console":
            for command, shown in commands(text):
                result = subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True,
                                        text=True, timeout=300)
                assert result.returncode == 0, f"{name}: $ {command}\n{result.stdout}{result.stderr}"
                while shown and not shown[-1]:
                    shown.pop()
                actual = result.stdout.rstrip("\n").splitlines()
                assert matches(shown, actual), (
                    f"{name}: $ {command}\nshown:\n" + "\n".join(shown) + "\nprinted:\n" + result.stdout)
                ran += 1
    return ran


def test_the_matcher_allows_gaps_only_where_shown():
    assert matches(["...", "b", "..."], ["a", "b", "c"])
    assert matches(["a", "b"], ["a", "b"])
    assert not matches(["a"], ["a", "b"])
    assert not matches(["...", "x", "..."], ["a", "b"])
    assert matches([], [])
    assert not matches([], ["a"])
    assert matches(["3 passed in ..."], ["3 passed in 0.41s"])
    assert not matches(["3 passed in ..."], ["2 passed in 0.41s"])


def test_the_domain_tutorial_and_its_tests_run_verbatim(tutorial_venv, tmp_path):
    ran = run_tutorial("domain-tutorial.md", tutorial_venv, tmp_path)
    assert ran == 9
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert [domain["domain"] for domain in verdict["domains"]] == ["medicines_review"]
    # The testing page tests the tutorial's domain with pytest, in the same environment.
    assert run_tutorial("testing.md", tutorial_venv, tmp_path) == 1


def test_the_adapter_tutorial_runs_verbatim(tutorial_venv, tmp_path):
    ran = run_tutorial("adapter-tutorial.md", tutorial_venv, tmp_path)
    assert ran >= 4
