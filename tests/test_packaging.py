"""The wheel carries the templates and the default policy, found through importlib.resources."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_ships_templates_and_policies_and_finds_them_when_installed(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("govreport-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "govreport/templates/report.html.j2" in names
    assert "govreport/templates/report.css" in names
    assert "govreport/results/results.schema.json" in names
    assert "govreport/policies/default.yaml" in names
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    probe = (
        "from govreport.resources import templates_dir, default_policy_path;"
        "print(templates_dir()); print(default_policy_path())"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert Path(out[0]) == site / "govreport" / "templates"
    assert Path(out[1]).is_file() and Path(out[1]).is_relative_to(site)
