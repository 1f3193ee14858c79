"""The README a newcomer reads: short, its set-up commands first, its Python example runs top to bottom, and
every page it links to exists."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_is_short_and_starts_with_its_commands():
    lines = README.split("\n")
    assert len(lines) <= 250
    first_command = next(i for i, line in enumerate(lines) if line.startswith("```bash"))
    assert first_command < 40
    bash = re.findall(r"```bash\n(.*?)```", README, re.S)
    assert bash[0].strip().endswith("maskcodec demo") and bash[1].strip().endswith("python -m pytest -q")


def test_readme_python_runs_top_to_bottom():
    for block in re.findall(r"```python\n(.*?)```", README, re.S):
        exec(compile(block, "README.md", "exec"), {})


def test_readme_and_docs_links_exist():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
