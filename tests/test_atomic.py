"""The output-fault battery: unusable destinations, full disks and kills never leave half a result."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lstm_strategies.core.atomic import (
    MARKER,
    atomic_write_text,
    check_destination,
    child,
    claim_folder,
    listed_files,
    output_folder,
    remove_stale_temporaries,
    safe_name,
)
from lstm_strategies.core.errors import OutputError


def fill(folder: Path, tag: str) -> None:
    for name in ("returns.csv", "metrics.json", "tearsheet.html"):
        (folder / name).write_text(f"{tag} {name}")


def contents(folder: Path) -> set[str]:
    """The tags of the run files in an output folder (the tool's marker aside)."""
    assert (folder / MARKER).is_file()
    return {p.read_text().split()[0] for p in folder.iterdir() if p.name != MARKER}


def test_a_finished_folder_replaces_the_old_one_whole(tmp_path):
    out = tmp_path / "run"
    with output_folder(out) as tmp:
        fill(tmp, "old")
    with output_folder(out) as tmp:
        fill(tmp, "new")
    assert contents(out) == {"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary sibling left


def test_an_error_mid_run_keeps_the_previous_outputs(tmp_path):
    out = tmp_path / "run"
    with output_folder(out) as tmp:
        fill(tmp, "old")
    with pytest.raises(RuntimeError), output_folder(out) as tmp:
        (tmp / "returns.csv").write_text("new returns.csv")
        raise RuntimeError("killed half-way")
    assert contents(out) == {"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_path_under_a_file_is_refused_before_any_work(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputError, match="file.txt is a file, not a folder"):
        check_destination(tmp_path / "file.txt" / "out")


def test_a_read_only_destination_is_refused_before_any_work(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)  # root ignores chmod, so the OS answer is simulated
    with pytest.raises(OutputError, match="permission denied"):
        check_destination(tmp_path / "ro" / "out")


def test_a_full_disk_is_one_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "run"
    with output_folder(out) as tmp:
        fill(tmp, "old")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OutputError, match="the disk is full"), output_folder(out) as tmp:
        atomic_write_text(tmp / "metrics.json", "{}")
    monkeypatch.undo()
    assert contents(out) == {"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_killed_writer_leaves_the_old_folder_and_its_leftovers_are_cleaned(tmp_path):
    out = tmp_path / "run"
    with output_folder(out) as tmp:
        fill(tmp, "old")
    script = textwrap.dedent(f"""
        import time
        from lstm_strategies.core.atomic import output_folder
        with output_folder({str(out)!r}) as tmp:
            (tmp / "returns.csv").write_text("new returns.csv")
            print("written", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert contents(out) == {"old"}  # never a new file beside old ones
    assert len(list(tmp_path.iterdir())) == 2  # the killed writer's temporary folder
    with output_folder(out) as tmp:
        fill(tmp, "next")
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # the next writer removed the leftover


def test_a_killed_sweep_leaves_no_workers(tmp_path):
    script = textwrap.dedent("""
        import time
        from _workers import sleep_and_report_pid
        from lstm_strategies.core.executors import run_tasks
        for _ in run_tasks(sleep_and_report_pid, [{"seconds": 60}] * 2, "local", 2):
            pass
    """)
    pids_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"sweep_pids_{os.getpid()}"
    env = {**os.environ, "LSTM_STRATEGIES_PID_FILE": str(pids_file),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    pids_file.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 60
    while time.time() < deadline and (not pids_file.exists() or len(pids_file.read_text().split()) < 2):
        time.sleep(0.2)
    workers = [int(p) for p in pids_file.read_text().split()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    alive = workers
    while time.time() < deadline and alive:
        alive = [pid for pid in workers if _alive(pid)]
        time.sleep(0.2)
    pids_file.unlink(missing_ok=True)
    assert not alive, f"workers still running after the sweep was killed: {alive}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie has exited
        return fh.read().split()[2] != "Z"


# -- nothing the tool did not write is deleted ---------------------------------------------------

def user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "keep.txt").write_text("keep")
    (folder / "sub" / "y.txt").write_text("y")
    return folder


def test_a_folder_of_user_files_is_refused_and_left_whole(tmp_path):
    folder = user_folder(tmp_path)
    with pytest.raises(OutputError, match="did not write .*keep.txt"), output_folder(folder) as tmp:
        fill(tmp, "new")
    assert (folder / "keep.txt").read_text() == "keep" and (folder / "sub" / "y.txt").read_text() == "y"
    with pytest.raises(OutputError, match="did not write"):
        claim_folder(folder, "sweep")
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt", "sub"]


def test_a_user_file_appearing_during_the_run_stops_the_swap(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(OutputError, match="did not write"), output_folder(out) as tmp:
        fill(tmp, "new")
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("where", ["cwd", "parent_of_cwd", "home", "root"])
def test_the_working_folder_home_and_root_are_refused(tmp_path, monkeypatch, where):
    work = tmp_path / "work" / "project"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    out = {"cwd": Path("."), "parent_of_cwd": Path(".."), "home": Path("~"), "root": Path("/")}[where]
    with pytest.raises(OutputError, match="refusing"):
        check_destination(out)
    assert work.is_dir()


def test_an_empty_folder_and_an_earlier_output_are_replaced(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with output_folder(empty) as tmp:
        fill(tmp, "new")
    assert contents(empty) == {"new"}
    with output_folder(empty) as tmp:
        fill(tmp, "again")
    assert contents(empty) == {"again"}


@pytest.mark.parametrize("name", ["../../../x", "a/b", "..", ".hidden", "tab\tname", "x" * 101, "", " padded",
                                  "back\\slash"])
def test_unsafe_names_never_become_paths(tmp_path, name):
    with pytest.raises(OutputError):
        safe_name(name)
    with pytest.raises(OutputError):
        child(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_markup_is_a_legal_name_but_stays_under_the_root(tmp_path):
    name = 'q" onmouseover="alert(9)'
    assert child(tmp_path, name) == tmp_path / name


def test_an_over_long_path_component_is_one_clear_error(tmp_path):
    with pytest.raises(OutputError, match="too long"):
        check_destination(tmp_path / ("x" * 300) / "out")


def test_only_this_tools_dead_temporaries_are_cleaned_and_a_name_is_no_pattern(tmp_path):
    dead = 2 ** 22 + 12345  # above Linux's default pid_max: no such process
    ours = [f".run*.{dead}.ab_c1234.tmp", f".run*.{dead}.old.tmp"]
    users = [f".run*x.{dead}.ab_c1234.tmp", f".runs.{dead}.ab_c1234.tmp", f".run*.{dead}.notes.tmp.bak",
             f".run*.{dead}.ab_c1234.tmp-keep", "run*"]
    for name in ours + users:
        (tmp_path / name).mkdir()
        (tmp_path / name / "file").write_text("x")
    remove_stale_temporaries(tmp_path, "run*")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(users)


# -- an earlier output keeps what the user put into it (issue #28) ---------------------------------

def test_a_file_the_user_put_into_an_earlier_output_is_named_and_kept(tmp_path):
    """0.3.0 replaced a marked folder whole: notes and notebooks put into it were deleted with exit 0."""
    out = tmp_path / "run"
    with output_folder(out) as tmp:
        fill(tmp, "old")
    (out / "notes.txt").write_text("mine")
    (out / "analysis").mkdir()
    (out / "analysis" / "study.ipynb").write_text("{}")
    with pytest.raises(OutputError, match=r"did not write \(analysis/, notes.txt\).*nothing was changed"), \
            output_folder(out) as tmp:
        fill(tmp, "new")
    assert (out / "notes.txt").read_text() == "mine" and (out / "analysis" / "study.ipynb").read_text() == "{}"
    assert {p.read_text().split()[0] for p in out.glob("*.*") if p.name not in (MARKER, "notes.txt")} == {"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary sibling left
    (out / "notes.txt").unlink()
    shutil.rmtree(out / "analysis")
    with output_folder(out) as tmp:  # only what the tool wrote: replaced
        fill(tmp, "new")
    assert contents(out) == {"new"}


def test_the_marker_lists_every_file_written_nested_folders_included(tmp_path):
    out = tmp_path / "cmp"
    with output_folder(out, "comparison") as tmp:
        with output_folder(tmp / "a", "backtest report") as run:
            fill(run, "a")
        (tmp / "comparison.csv").write_text("x")
    assert listed_files(out) == {"comparison.csv", "a/" + MARKER, "a/metrics.json", "a/returns.csv",
                                 "a/tearsheet.html"}
    (out / "a" / "mine.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"a/mine.txt"), output_folder(out, "comparison") as tmp:
        (tmp / "comparison.csv").write_text("y")
    assert (out / "a" / "mine.txt").read_text() == "mine" and (out / "comparison.csv").read_text() == "x"


def test_an_output_written_before_the_file_list_is_refused_not_replaced(tmp_path):
    out = tmp_path / "old_run"
    out.mkdir()
    (out / MARKER).write_text('{"written_by": "lstm-strategies", "version": "0.3.0", "kind": "report"}\n')
    (out / "metrics.json").write_text("{}")
    with pytest.raises(OutputError, match=r"lists no files \(written by an lstm-strategies before 0.4.0.*metrics.json"
                                          r".*nothing was changed"), output_folder(out):
        pass
    assert (out / "metrics.json").read_text() == "{}"
    assert claim_folder(out, "sweep") == out  # filled in place: nothing is deleted, so it may be used


def test_a_link_to_an_earlier_output_writes_into_its_folder_and_the_link_stays(tmp_path):
    """0.3.0 replaced the link with a new folder, left it behind as .link_out.*.tmp and said 'Cannot call
    rmtree on a symbolic link; nothing was left half-written', which was false."""
    real = tmp_path / "real_out"
    with output_folder(real) as tmp:
        fill(tmp, "old")
    link = tmp_path / "link_out"
    link.symlink_to(real)
    with output_folder(link) as tmp:
        fill(tmp, "new")
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert contents(real) == {"new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link_out", "real_out"]
    assert check_destination(link) == real.resolve()


@pytest.mark.parametrize("target", ["missing", "file"])
def test_a_link_to_nothing_or_to_a_file_is_refused_before_anything_moves(tmp_path, target):
    link = tmp_path / "link_out"
    dest = tmp_path / ("missing" if target == "missing" else "file.txt")
    if target == "file":
        dest.write_text("mine")
    link.symlink_to(dest)
    message = "which does not exist" if target == "missing" else "symbolic link to the file"
    with pytest.raises(OutputError, match=message), output_folder(link) as tmp:
        fill(tmp, "new")
    with pytest.raises(OutputError, match=message):
        claim_folder(link, "sweep")
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == sorted({"link_out", dest.name} - {
        "missing"})
    if target == "file":
        assert dest.read_text() == "mine"


def test_a_failed_swap_puts_the_previous_outputs_back_and_says_so_truly(tmp_path, monkeypatch):
    import lstm_strategies.core.atomic as atomic

    out = tmp_path / "run"
    with output_folder(out) as tmp:
        fill(tmp, "old")
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)  # a file system without RENAME_EXCHANGE
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new folder into place
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputError, match="nothing was left half-written"), output_folder(out) as tmp:
        fill(tmp, "new")
    monkeypatch.undo()
    assert contents(out) == {"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_claimed_folder_keeps_the_users_files_and_never_overwrites_one(tmp_path):
    out = claim_folder(tmp_path / "sweep", "sweep")
    atomic_write_text(out / "results.csv", "a,b\n")
    assert listed_files(out) == {"results.csv"}
    (out / "notes.txt").write_text("mine")
    (out / "ranking.md").write_text("my own ranking")  # a user's file with an output's name
    assert claim_folder(out, "sweep") == out
    atomic_write_text(out / "results.csv", "a,b\n1,2\n")  # the tool's own file: rewritten
    with pytest.raises(OutputError, match=r"refusing to overwrite .*ranking.md: lstm-strategies did not write it"):
        atomic_write_text(out / "ranking.md", "| a |")
    assert (out / "ranking.md").read_text() == "my own ranking" and (out / "notes.txt").read_text() == "mine"
    assert listed_files(out) == {"results.csv"}
    with pytest.raises(OutputError, match="notes.txt, ranking.md"), output_folder(out):
        pass


def test_train_out_as_a_link_to_nothing_is_one_error_line_before_training(tmp_path, capsys):
    from lstm_strategies.cli.app import main

    (tmp_path / "model").symlink_to(tmp_path / "nowhere")
    assert main(["train", "--data", "btc_usdt_1h", "--train-end", "2020-12-31", "--out", str(tmp_path / "model")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: refusing") and "which does not exist" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_marker_that_is_not_json_protects_the_folder_as_an_old_one(tmp_path):
    out = tmp_path / "run"
    with output_folder(out) as tmp:
        fill(tmp, "old")
    (out / MARKER).write_text("edited by hand {")
    with pytest.raises(OutputError, match="lists no files"), output_folder(out):
        pass
    assert (out / "metrics.json").read_text() == "old metrics.json"
