"""A hostile submissions zip: every attack gets a row or a reason, or the whole zip a clear refusal, never a traceback.

Nothing is ever written outside the private temporary folder: the tests look for escaped files next to
the zip, in the working directory and in the temporary folder's parent.
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from coursekit.cli import main
from coursekit.exercises import notebooks
from coursekit.grading import archive
from coursekit.grading.archive import ArchiveRefused, unpacked
from coursekit.grading.roster import read_class

from .test_lms import SCALED, nb, write_zip

GOOD_NB = nb(SCALED, "good")


def _central(data: bytes) -> list[int]:
    """Offsets of the central directory records of a zip's bytes."""
    end = data.rfind(b"PK\x05\x06")
    count, _, start = struct.unpack("<HLL", data[end + 10:end + 20])
    found, at = [], start
    for _ in range(count):
        assert data[at:at + 4] == b"PK\x01\x02"
        found.append(at)
        name, extra, comment = struct.unpack("<HHH", data[at + 28:at + 34])
        at += 46 + name + extra + comment
    return found


def patch(path: Path, member: str, offset: int, fmt: str, value: int) -> Path:
    """Overwrite one field of `member`'s central directory record (its header is what zipfile believes)."""
    data = bytearray(path.read_bytes())
    for at in _central(bytes(data)):
        length = struct.unpack("<H", data[at + 28:at + 30])[0]
        if data[at + 46:at + 46 + length].decode() == member:
            struct.pack_into(fmt, data, at + offset, value)
    path.write_bytes(bytes(data))
    return path


def canvas_with(tmp_path: Path, *extra: tuple[str, bytes]) -> Path:
    """A small Canvas download (two honest students) plus the hostile members."""
    return write_zip(tmp_path / "submissions.zip", [("doejane_101_5001_00_start_here.ipynb", nb(SCALED, "jane")),
                                                   ("smithbob_102_5002_00_start_here.ipynb", nb(SCALED, "bob")),
                                                   *extra])


def _escaped(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*evil*")]


def _problems(archive_path: Path) -> dict[str, str]:
    roster = read_class(archive_path, known=notebooks())
    return {e.student: e.problem for e in roster.entries} | {name: why for name, why in roster.skipped}


def test_names_that_climb_out_or_are_absolute_are_never_unpacked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = canvas_with(tmp_path, ("../../evil.ipynb", GOOD_NB), ("/tmp/evil_abs.ipynb", GOOD_NB),
                       ("..\\..\\evil_win.ipynb", GOOD_NB), ("C:\\evil_drive.ipynb", GOOD_NB),
                       ("doejane_101_5009_../../evil_inside.ipynb", GOOD_NB))
    with unpacked(path) as found:
        written = [m.path for m in found.members if m.path is not None]
        assert all(p.is_relative_to(found.root) for p in written) and len(written) == 2
        reasons = {m.name: m.reason for m in found.members if m.refused}
    assert reasons["../../evil.ipynb"].startswith("its name climbs out of the archive's folder")
    assert reasons["/tmp/evil_abs.ipynb"].startswith("its name is an absolute path")
    assert reasons["../../evil_win.ipynb"].startswith("its name climbs out")  # backslashes are folder separators
    assert reasons["C:/evil_drive.ipynb"].startswith("its name is an absolute path")
    assert _escaped(tmp_path, Path("/tmp")) == []
    problems = _problems(path)
    assert problems["../../evil.ipynb"].startswith("not named like a file of a Canvas download (its name climbs")
    assert problems["doejane_101"] == "" and problems["smithbob_102"] == ""


def test_a_zip_slip_in_a_flat_class_is_listed_and_the_class_graded(tmp_path):
    path = write_zip(tmp_path / "flat.zip", [("ada.ipynb", GOOD_NB), ("../evil.ipynb", GOOD_NB)])
    roster = read_class(path, known=notebooks())
    assert [e.student for e in roster.entries] == ["ada"]
    assert ("../evil.ipynb", "its name climbs out of the archive's folder (`..`); such members are never unpacked") \
        in roster.skipped
    assert _escaped(tmp_path) == []


def test_a_symbolic_link_in_the_zip_is_refused_and_its_student_gets_a_row(tmp_path):
    path = canvas_with(tmp_path)
    with zipfile.ZipFile(path, "a") as zf:
        link = zipfile.ZipInfo("ohara_106_5008_00_start_here.ipynb")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/shadow")
        fifo = zipfile.ZipInfo("lee_107_5010_00_start_here.ipynb")
        fifo.create_system = 3
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, "")
    with unpacked(path) as found:
        assert not any(p.is_symlink() for p in found.root.rglob("*"))
    problems = _problems(path)
    assert problems["ohara_106"] == ("not read: ohara_106_5008_00_start_here.ipynb: it is a symbolic link stored in "
                                     "the zip; links are never unpacked")
    assert problems["lee_107"].endswith("it is a special file (a FIFO or a device) stored in the zip; it is never "
                                        "unpacked")


def test_a_member_over_the_size_limit_or_compressed_like_a_bomb_is_refused_from_its_header(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_NOTEBOOK_BYTES", 3 * 2**20)
    zeros = b" " * (4 * 2**20)  # 4 MB that deflate to about 4 KB
    bomb = b"{" + b" " * (2 * 2**20) + b"}"  # 2 MB, under the size limit, compressed about 1000 times
    path = canvas_with(tmp_path, ("ohara_106_5008_00_start_here.ipynb", zeros),
                       ("lee_107_5010_00_start_here.ipynb", bomb))
    problems = _problems(path)
    assert problems["ohara_106"] == ("not read: ohara_106_5008_00_start_here.ipynb: file too large: 4 MB unpacked, "
                                     "over the 3 MB limit")
    assert "it would unpack to" in problems["lee_107"] and "times its compressed size (over 200 times): a zip bomb" \
        in problems["lee_107"]


def test_a_header_that_lies_about_the_size_is_caught_while_unpacking(tmp_path):
    path = canvas_with(tmp_path, ("ohara_106_5008_00_start_here.ipynb", GOOD_NB))
    patch(path, "ohara_106_5008_00_start_here.ipynb", 24, "<L", 100)  # declares 100 bytes, holds thousands
    problems = _problems(path)
    assert problems["ohara_106"].startswith("not read: ohara_106_5008_00_start_here.ipynb: it cannot be unpacked (")
    assert "the zip is damaged" in problems["ohara_106"]
    assert problems["doejane_101"] == ""


def test_an_archive_whose_notebooks_add_up_to_too_much_is_refused_as_a_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 2 * len(GOOD_NB))
    path = canvas_with(tmp_path, ("ohara_106_5008_00_start_here.ipynb", nb(SCALED, "third")))
    with pytest.raises(ArchiveRefused, match=r"submissions.zip cannot be graded: its notebooks would take .* GB "
                                             r"unpacked, over the 0 GB limit \(a zip bomb\?\)"):
        read_class(path, known=notebooks())


def test_too_many_members_are_refused_from_the_end_record_before_the_list_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_MEMBERS", 10)
    path = write_zip(tmp_path / "many.zip", [(f"s{i}_{i}_{i}_x.txt", b"") for i in range(11)])
    read = []
    monkeypatch.setattr(zipfile.ZipFile, "infolist", lambda self: read.append(1) or [])
    with pytest.raises(ArchiveRefused, match="it holds 11 members, over the limit of 10: an LMS download"):
        read_class(path, known=notebooks())
    assert read == []


def test_encrypted_members_and_unknown_compression_are_refused_with_the_reason(tmp_path):
    path = canvas_with(tmp_path, ("ohara_106_5008_00_start_here.ipynb", GOOD_NB),
                       ("lee_107_5010_00_start_here.ipynb", GOOD_NB))
    patch(path, "ohara_106_5008_00_start_here.ipynb", 8, "<H", 0x1)  # the "encrypted" flag
    patch(path, "lee_107_5010_00_start_here.ipynb", 10, "<H", 99)  # WinZip's AES method
    problems = _problems(path)
    assert problems["ohara_106"].endswith("it is encrypted (password-protected); download the submissions again "
                                          "without a password")
    assert problems["lee_107"].endswith("it is compressed with method 99, which cannot be read (AES encryption)")


def test_duplicate_names_a_deep_name_and_a_file_that_is_also_a_folder_are_refused(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate it is asked to write
        path = canvas_with(tmp_path, ("ohara_106_5008_00_start_here.ipynb", GOOD_NB),
                           ("ohara_106_5008_00_start_here.ipynb", nb(SCALED, "the other one")),
                           ("/".join(["d"] * 40) + "/x.ipynb", GOOD_NB))
    problems = _problems(path)
    assert problems["ohara_106"].endswith("the zip holds 2 members named ohara_106_5008_00_start_here.ipynb; which "
                                          "one is the student's cannot be told")
    deep = next(v for k, v in problems.items() if k.startswith("d/d/"))
    assert "its name nests 40 folders deep, over the limit of 32" in deep
    tree = write_zip(tmp_path / "tree.zip", [("ada/ps1/a.ipynb", GOOD_NB), ("ada/ps1/a.ipynb/b.ipynb", GOOD_NB)])
    roster = read_class(tree, known=notebooks())
    assert "is both a file and a folder in the zip" in roster.entries[0].problem or \
        any("cannot be unpacked" in u for u in roster.entries[0].unread)


@pytest.mark.parametrize("content, expected", [
    (b"this is not a zip at all", "it is not a zip file (no end-of-archive record)"),
    (b"PK\x05\x06" + b"\x00" * 4, "it is not a zip file (no end-of-archive record)"),
])
def test_a_file_that_is_no_zip_is_refused(tmp_path, content, expected):
    path = tmp_path / "submissions.zip"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is a file but not a zip"):
        read_class(path, known=notebooks())
    with pytest.raises(ArchiveRefused, match=expected.replace("(", r"\(").replace(")", r"\)")):
        with unpacked(path):
            pass


def test_a_truncated_zip_is_refused(tmp_path):
    path = canvas_with(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + data[-22:])  # the end record survives, the members do not
    with pytest.raises(ArchiveRefused, match="cannot be graded: it is not a readable zip file"):
        read_class(path, known=notebooks())


def test_the_temporary_folder_is_private_and_removed_afterwards(tmp_path):
    path = canvas_with(tmp_path)
    with unpacked(path) as found:
        root = found.root
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
        assert all(stat.S_IMODE(os.stat(m.path).st_mode) == 0o600 for m in found.members if m.path)
    assert not root.exists()


@pytest.mark.parametrize("attack", ["bomb", "not_a_zip", "many"])
def test_the_command_refuses_a_hostile_zip_in_one_line(tmp_path, monkeypatch, capsys, attack):
    path = tmp_path / "submissions.zip"
    if attack == "bomb":
        monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 100)
        canvas_with(tmp_path)
    elif attack == "not_a_zip":
        path.write_bytes(b"\x00" * 100)
    else:
        monkeypatch.setattr(archive, "MAX_MEMBERS", 1)
        canvas_with(tmp_path)
    assert main(["grade", str(path), "--out", str(tmp_path / "out"), "--seed", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coursekit grade: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_class_whose_every_notebook_is_refused_says_why_and_grades_with_assignment(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_NOTEBOOK_BYTES", 100)
    path = canvas_with(tmp_path)  # both notebooks are over the (lowered) size limit
    with pytest.raises(ValueError, match=r"None of the 2 students' notebooks can be read \(e.g. doejane_101: file too "
                                         r"large: .* over the 0 MB limit\)\. Pass --assignment"):
        read_class(path, known=notebooks())
    roster = read_class(path, known=notebooks(), assignment="00_start_here")
    assert [e.problem.split(": ", 1)[0] for e in roster.entries] == ["not read", "not read"]
