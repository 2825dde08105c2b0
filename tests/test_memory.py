"""The memory cap (migrants.memory): the command runs under MIGRANTS_MAX_MEMORY of address space,
and a MemoryError, the cap's or the machine's, ends in exit 2 with one line and nothing written."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from migrants import memory
from migrants.cli import main
from migrants.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_sizes_are_parsed_and_a_cap_too_small_to_run_is_refused():
    assert memory.parse_size("8G") == 8 * 2 ** 30
    assert memory.parse_size("2000m") == 2000 * 2 ** 20
    assert memory.parse_size("2.5GiB") == int(2.5 * 2 ** 30)
    assert memory.parse_size("none") is None
    for bad, says in (("abc", "expected a size"), ("-1G", "expected a size"), ("1G", "at least 1.5G")):
        with pytest.raises(ConfigError, match=f"MIGRANTS_MAX_MEMORY '{bad}': .*{says}"):
            memory.parse_size(bad)


def test_a_bad_limit_is_one_line_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "migrants.cli", "validate", "tiny"], capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"),
                                         "MIGRANTS_MAX_MEMORY": "lots"})
    assert r.returncode == 2 and "MIGRANTS_MAX_MEMORY 'lots'" in one_line(r.stderr)


#: in the child: the run asks for REQUEST bytes more than its cap, but less than any machine that
#: runs these tests has, so only the cap refuses it; it notes the limit in force where it stands
CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path

    import numpy as np

    import migrants.model
    from migrants import memory

    noted, request, out = sys.argv[1:]

    def greedy(self, *a, **k):  # a month that asks for far more memory than any bound foresaw
        Path(noted).write_text(str(memory.current_limit()))
        np.ones(int(request), dtype=np.uint8)
        raise AssertionError("the cap let it through")

    migrants.model.MigrationModel.run = greedy
    from migrants.cli import main

    sys.argv = ["migrants", "run", "tiny", "--months", "1", "--quiet", "--out", out]
    sys.exit(main())
""")


def test_the_command_runs_under_the_cap_and_out_of_memory_is_one_line(tmp_path):
    out, noted = tmp_path / "work" / "run", tmp_path / "limit.txt"
    request = memory.parse_size("2.5G")
    r = subprocess.run([sys.executable, "-c", CHILD, str(noted), str(request), str(out)], capture_output=True,
                       text=True, timeout=120, cwd=ROOT, env={"PATH": "/usr/bin:/bin",
                                                              "PYTHONPATH": str(ROOT / "src"),
                                                              "MIGRANTS_MAX_MEMORY": "1.5G"})
    line = one_line(r.stderr)
    assert r.returncode == 2 and line.startswith("error: out of memory: migrants run") and "1.5G" in line, line
    assert int(noted.read_text()) == memory.parse_size("1.5G")
    assert not (tmp_path / "work").exists() or list((tmp_path / "work").iterdir()) == []  # no run, no lock


def test_a_memory_error_anywhere_in_a_command_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    import migrants.model

    def greedy(self, *a, **k):
        raise MemoryError

    monkeypatch.setattr(migrants.model.MigrationModel, "run", greedy)  # in the simulation
    out = tmp_path / "run"
    assert main(["run", "tiny", "--months", "1", "--quiet", "--out", str(out)]) == 2
    assert one_line(capsys.readouterr().err).startswith("error: out of memory: migrants run")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(migrants.model.MigrationModel, "__init__", greedy)  # in building it (loading)
    assert main(["run", "tiny", "--months", "1", "--quiet", "--out", str(out)]) == 2
    assert one_line(capsys.readouterr().err).startswith("error: out of memory: scenario tiny")
    assert list(tmp_path.iterdir()) == []
