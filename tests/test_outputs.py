"""Output sets: written whole or not at all, under a lock; a bad --out fails before loading.

Fault tests: a run killed (``os._exit``, as kill -9: no ``finally`` runs) at each
step of the write phase, through :data:`govreport.outputs.step_hook`, in a
subprocess; disk full injected (ENOSPC from ``os.fsync``); a second process
holding the lock.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from govreport import outputs
from govreport.cli import cli
from govreport.outputs import OutputError, probe_out_dir, write_outputs

REPO = Path(__file__).resolve().parent.parent
OLD = {"results.json": b'{"old": 1}\n', "report.html": b"<p>old</p>", "checks.xml": b"<old/>"}
NEW = {
    "results.json": b'{"new": 2}\n',
    "report.html": b"<p>new</p>" * 1000,
    "checks.xml": b"<new/>",
    "report.pdf": b"%PDF new",
}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}.govreport"))


def test_write_replaces_the_set_as_a_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_outputs(OLD, out)
    assert snapshot(out) == OLD
    paths = write_outputs(NEW, out)
    assert snapshot(out) == NEW
    assert paths == [out / name for name in NEW]
    write_outputs(OLD, out)  # report.pdf of the earlier run does not survive
    assert snapshot(out) == OLD
    assert leftovers(tmp_path, "out") == []


def test_fallback_without_exchange_gives_the_same_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outputs, "use_exchange", False)
    out = tmp_path / "out"
    write_outputs(OLD, out)
    write_outputs(NEW, out)
    assert snapshot(out) == NEW
    assert leftovers(tmp_path, "out") == []


KILL = """
import os, sys
from pathlib import Path
from govreport import outputs
outputs.use_exchange = {exchange}
outputs.step_hook = lambda step: os._exit(9) if step == {step!r} else None
outputs.write_outputs({files!r}, Path({out!r}))
os._exit(0)
"""


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "rename"])
@pytest.mark.parametrize("step", ["written", "aside", "swapped", "removed"])
def test_a_kill_at_any_step_leaves_a_complete_set(
    tmp_path: Path, step: str, exchange: bool
) -> None:
    out = tmp_path / "out"
    write_outputs(OLD, out)
    code = KILL.format(exchange=exchange, step=step, files=NEW, out=str(out))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    assert done.returncode in (0, 9), done.stderr.decode()
    killed = done.returncode == 9
    if step == "aside" and exchange:
        assert not killed  # the exchange has no such step
    # The next run into --out (its probe) restores a set a killed run left aside.
    probe_out_dir(out)
    after = snapshot(out)
    if step == "written" or (step == "aside" and killed):
        assert after == OLD
    else:
        assert after == NEW
    assert leftovers(tmp_path, "out") == []  # the probe cleaned what the kill left


def test_a_set_left_aside_is_restored_before_a_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_outputs(OLD, out)
    os.rename(out, tmp_path / ".out.govreport-old-x1")
    (tmp_path / ".out.govreport-new-x2").mkdir()
    (tmp_path / ".out.govreport-new-x2" / "results.json").write_bytes(b"half")
    probe_out_dir(out)
    assert snapshot(out) == OLD
    assert leftovers(tmp_path, "out") == []


def test_disk_full_while_writing_keeps_the_old_set_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_outputs(OLD, out)

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs.os, "fsync", full)
    with pytest.raises(OutputError, match=r"--out .*out: cannot write the output set.*ENOSPC"):
        write_outputs(NEW, out)
    monkeypatch.undo()
    assert snapshot(out) == OLD
    assert leftovers(tmp_path, "out") == []


def test_disk_full_through_the_cli_is_exit_2_naming_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_outputs(OLD, out)
    results = REPO / "tests" / "fixtures" / "results_small.json"
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if len(data) > 1000:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(outputs.os, "write", full)
    result = CliRunner().invoke(cli, ["render", str(results), "--out", str(out), "--no-pdf"])
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert f"--out {out}" in result.output and "No space left on device" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert snapshot(out) == OLD
    assert leftovers(tmp_path, "out") == []


HOLD = """
import fcntl, os, sys, time
handle = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_concurrent_run_into_the_same_out_is_exit_2_naming_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_outputs(OLD, out)
    lock = tmp_path / ".out.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        with pytest.raises(OutputError, match="another govreport run"):
            write_outputs(NEW, out)
        results = REPO / "tests" / "fixtures" / "results_small.json"
        result = CliRunner().invoke(cli, ["render", str(results), "--out", str(out), "--no-pdf"])
        assert result.exit_code == 2
        assert str(lock) in result.output and "another govreport run" in result.output
        assert snapshot(out) == OLD
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
    write_outputs(NEW, out)  # released: the next run writes
    assert snapshot(out) == NEW


def test_probe_refuses_a_file_as_out(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        probe_out_dir(tmp_path / "file")
    with pytest.raises(OutputError, match=r"file/out: cannot write there.*ENOTDIR"):
        probe_out_dir(tmp_path / "file" / "out")


def test_probe_refuses_a_directory_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"holds files govreport did not write \('notes.txt'\)"):
        probe_out_dir(tmp_path / "out")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_probe_refuses_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="current directory"):
        probe_out_dir(Path("."))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_probe_refuses_a_read_only_parent(tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(OutputError, match=r"ro/out: cannot write there.*EACCES"):
            probe_out_dir(parent / "out")
    finally:
        parent.chmod(0o700)


def test_a_bad_out_fails_before_the_model_is_loaded(tmp_path: Path) -> None:
    """The model does not exist as a model: were it loaded first, the error would name it."""
    (tmp_path / "file").write_text("x")
    model = tmp_path / "model.pt"
    model.write_bytes(b"not a model")
    data = tmp_path / "d.csv"
    data.write_text("a,y\n1,0\n")
    args = ["run", "--model", str(model), "--data", str(data), "--target", "y"]
    result = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "file" / "out")])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: --out {tmp_path / 'file' / 'out'}: cannot write")
    assert "model" not in result.output.split("cannot write")[1]


def test_probe_leaves_nothing_behind(tmp_path: Path) -> None:
    probe_out_dir(tmp_path / "new" / "out")
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC, errno.EEXIST])
def test_probe_maps_each_os_error_to_an_output_error_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """A read-only or full file system, as the probe meets it (injected: tests run as root)."""

    def refuse(*_args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(code, os.strerror(code), str(kwargs.get("dir")))

    monkeypatch.setattr(outputs.tempfile, "mkstemp", refuse)
    name = errno.errorcode[code]
    with pytest.raises(
        OutputError, match=rf"^--out {tmp_path}/out: cannot write there .*\({name}\)$"
    ):
        probe_out_dir(tmp_path / "out")


def test_write_file_replaces_a_file_whole_and_maps_errors(tmp_path: Path) -> None:
    from govreport.outputs import write_file

    target = tmp_path / "rows.json"
    target.write_text("old")
    write_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.json"]
    with pytest.raises(OutputError, match=r"--out .*/missing/rows.json: cannot write it"):
        write_file(tmp_path / "missing" / "rows.json", b"x")
    with pytest.raises(OutputError, match="is a directory"):
        write_file(tmp_path, b"x")
