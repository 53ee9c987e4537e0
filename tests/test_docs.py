"""Help is documentation (STYLE R19): every command has help with an example and is listed in
the README's command table."""

import re
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from scanctl.cli.main import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def leaf_commands(command, prefix=()):
    children = getattr(command, "commands", None)
    if not children:
        yield prefix, command
        return
    for name, child in children.items():
        yield from leaf_commands(child, (*prefix, name))


def test_every_command_has_help_and_is_in_the_readme():
    root = typer.main.get_command(app)
    leaves = list(leaf_commands(root))
    assert len(leaves) >= 23
    runner = CliRunner()
    for path, command in leaves:
        assert command.help and "Example:" in command.help, " ".join(path)
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, " ".join(path)
        name = " ".join(path)
        group = path[0]
        listed = f"`{name}" in README or (
            len(path) > 1 and f"`{group} " in README and path[-1] in README
        )
        assert listed, f"{name} is missing from the README command table"


REFERENCE_START = "<!-- config-reference:start (scanctl config keys) -->"
REFERENCE_END = "<!-- config-reference:end -->"


def test_the_readme_configuration_reference_is_the_declaration():
    """The README's key tables are `scanctl config keys`, generated from the declarations:
    regenerate them with `make docs` when a key changes."""
    from scanctl.settings import reference_markdown

    start = README.index(REFERENCE_START) + len(REFERENCE_START)
    end = README.index(REFERENCE_END)
    assert README[start:end].strip() == reference_markdown().strip()


def test_the_readme_architecture_lists_every_package():
    """The README's Architecture tree names each top-level package and module of scanctl/."""
    root = Path(__file__).resolve().parents[1] / "scanctl"
    section = README[README.index("## Architecture") :]
    section = section[: section.index("\n## ", 4)]
    for path in sorted(root.iterdir()):
        if path.name.startswith(("_", ".")) or path.suffix not in ("", ".py"):
            continue
        name = f"{path.name}/" if path.is_dir() else path.name
        assert name in section, f"{name} is missing from the README's Architecture section"


DOCUMENTS = ("ENGINES.md", "PRODUCT.md", "STYLE.md", "../shared", "§")
JARGON = ("TEMA", "DEMA", "EMA", "regime", "panel", "hysteresis", "session ×")


def test_the_engines_are_described_in_plain_words():
    """The README's Engines section, its configuration example and each engine's registered
    description name no internal term and no document a user does not have (issue 14)."""
    from scanctl.engines.registry import engines

    section = README[README.index("## Engines") :]
    section = section[: section.index("\n## ", 4)]
    example = README[README.index("```toml\n[store]") :]
    example = example[: example.index("```\n", 8)]
    texts = {"Engines": section, "config example": example}
    texts |= {name: spec.description for name, spec in engines().items()}
    for where, text in texts.items():
        words = re.sub(r"`[^`]*`", "", text)  # what a user types or sees, like `regime_gate`
        found = [term for term in DOCUMENTS if term in text] + [t for t in JARGON if t in words]
        assert not found, f"{where}: {found}"
    for name in engines():
        assert f"- **{name}**: " in section
