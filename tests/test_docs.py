"""The README's and the docs' Python examples run as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_the_docs_have_examples():
    assert len(_blocks(ROOT / "README.md")) >= 3
    assert len(_blocks(ROOT / "docs" / "api.md")) >= 6


@pytest.mark.parametrize("path", [p for p in DOCS if _blocks(p)], ids=lambda p: p.name)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    for i, block in enumerate(_blocks(path)):
        exec(compile(block, f"{path.name} block {i + 1}", "exec"), {})
