"""LMS downloads in: Canvas, Moodle and Gradescope zips (and their unzipped folders) graded as the class they are.

Each zip is generated in the layout its LMS writes (names as in Canvas's content_zipper.rb, Moodle's
mod/assign downloader and Gradescope's export), with resubmissions, late and anonymous files, blind
marking, a group submission and students who handed in no notebook.
"""

from __future__ import annotations

import csv
import json
import os
import time
import zipfile
from pathlib import Path

import pytest

from coursekit.exercises import notebooks
from coursekit.grading.batch import grade
from coursekit.grading.roster import read_class

from .conftest import SEED
from .corpus import FIRST, GOOD, SHIFT_FIRST, notebook, others

SCALED = "def scale_and_shift(x, a, b):\n    return a * x + b  # {tag}"
WRONG = "def scale_and_shift(x, a, b):\n    return a * (x + b)  # {tag}"


def nb(body: str, tag: str) -> bytes:
    """A notebook of the warm-up assignment whose answer is `body`, made unique by `tag` (no byte-identical flags)."""
    return json.dumps(notebook([FIRST, *others(), body.format(tag=tag)])).encode()


def write_zip(path: Path, members: list[tuple[str, bytes] | tuple[str, bytes, tuple[int, ...]]]) -> Path:
    """A zip of (name, bytes[, date_time]) members, deflated, in the given order."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, *date in members:
            info = zipfile.ZipInfo(name, date_time=date[0] if date else (2024, 3, 1, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def unzip(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(into)  # the test's own, trusted zip
    return into


def rows(out: Path, name: str = "gradebook.csv") -> dict[str, dict[str, str]]:
    with open(out / name, newline="") as handle:
        return {row["student"] if "student" in row else row["Student"]: row for row in csv.DictReader(handle)}


# ---------------------------------------------------------------- Canvas


def canvas_zip(path: Path) -> Path:
    return write_zip(path, [
        ("doejane_101_5001_00_start_here.ipynb", nb(WRONG, "jane first")),
        ("doejane_101_5007_00_start_here-1.ipynb", nb(SCALED, "jane again")),  # the resubmission: higher file id
        ("smithbob_102_5999_00_start_here-2.ipynb", nb(WRONG, "bob older")),
        ("smithbob_102_6000_00_start_here.ipynb", nb(SCALED, "bob newest")),  # the file id decides, not -N
        ("leeann_LATE_103_5003_hw3.ipynb", nb(SCALED, "ann late")),  # named otherwise: its metadata says the notebook
        ("anon_x7Yq2_5005_00_start_here.ipynb", nb(SCALED, "anonymous")),
        ("kimmy_104_5006_answers.pdf", b"%PDF-1.4"),
        ("parkpat_105_text.html", b"<p>my answer is 42</p>"),
        ("ohara_106_5008_00_start_here.ipynb", nb(WRONG, "ohara")),
        ("ohara_106_5009_notes.txt", b"scratch"),
    ])


def test_a_canvas_zip_grades_each_students_latest_upload_and_keeps_the_canvas_user_id(tmp_path, sandbox):
    archive = canvas_zip(tmp_path / "submissions.zip")
    report = grade(submissions=archive, out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    assert report.assignment == "00_start_here" and report.students == 7
    assert repr(report).startswith("Graded 00_start_here for 7 students of a Canvas download (seed ")
    book = rows(tmp_path / "out")
    expect = {  # student: (lms_id, source, total)
        "doejane_101": ("101", "doejane_101_5007_00_start_here-1.ipynb", "1"),
        "smithbob_102": ("102", "smithbob_102_6000_00_start_here.ipynb", "1"),
        "leeann_103": ("103", "leeann_LATE_103_5003_hw3.ipynb", "1"),
        "anon_x7Yq2": ("anon_x7Yq2", "anon_x7Yq2_5005_00_start_here.ipynb", "1"),
        "kimmy_104": ("104", "kimmy_104_5006_answers.pdf", "0"),
        "parkpat_105": ("105", "parkpat_105_text.html", "0"),
        "ohara_106": ("106", "ohara_106_5008_00_start_here.ipynb", "0"),
    }
    for student, (lms_id, source, total) in expect.items():
        assert (book[student]["lms_id"], book[student]["source"], book[student]["total"]) == (lms_id, source, total)
    assert book["leeann_103"]["flags"] == "Canvas marks the submission late"
    assert book["kimmy_104"]["problem"] == "not read: kimmy_104_5006_answers.pdf: not a notebook (.ipynb)"
    assert book["parkpat_105"]["problem"] == "not read: parkpat_105_text.html: not a notebook (.ipynb)"
    assert book["ohara_106"]["problem"] == "" and book["doejane_101"]["problem"] == ""  # an extra file is no problem
    meta = json.loads((tmp_path / "out" / "gradebook.meta.json").read_text())
    assert meta["layout"] == "canvas"
    assert ["doejane_101_5001_00_start_here.ipynb",
            "an earlier upload of doejane_101_5007_00_start_here-1.ipynb (superseded)"] in meta["skipped"]
    assert ["smithbob_102_5999_00_start_here-2.ipynb",
            "an earlier upload of smithbob_102_6000_00_start_here.ipynb (superseded)"] in meta["skipped"]
    assert ["ohara_106_5009_notes.txt", "not a notebook (.ipynb)"] in meta["skipped"]


def test_the_canvas_import_file_has_the_columns_canvas_matches_on(tmp_path, sandbox):
    archive = canvas_zip(tmp_path / "submissions.zip")
    grade(submissions=archive, out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    lines = (tmp_path / "out" / "canvas.csv").read_text().splitlines()
    assert lines[0] == "Student,ID,SIS User ID,SIS Login ID,Section,00_start_here"
    assert lines[1] == "Points Possible,,,,,1"
    # the anonymous id cannot be matched to a Canvas user; a student with no notebook gets no score (not a 0)
    assert lines[2:] == ["doejane_101,101,,,,1", "kimmy_104,104,,,,", "leeann_103,103,,,,1", "ohara_106,106,,,,0",
                         "parkpat_105,105,,,,", "smithbob_102,102,,,,1"]


def test_an_unzipped_canvas_folder_reads_as_the_zip_does(tmp_path):
    archive = canvas_zip(tmp_path / "submissions.zip")
    from_zip = read_class(archive, known=notebooks())
    from_folder = read_class(unzip(archive, tmp_path / "unzipped"), known=notebooks())
    assert from_folder.layout == from_zip.layout == "canvas" and from_zip.root == archive
    same = [(e.student, e.lms_id, e.source, e.data, e.problem, e.flags) for e in from_zip.entries]
    assert [(e.student, e.lms_id, e.source, e.data, e.problem, e.flags) for e in from_folder.entries] == same
    assert from_folder.skipped == from_zip.skipped


def test_a_canvas_download_with_a_stray_notebook_gives_it_a_row_without_an_lms_id(tmp_path):
    archive = write_zip(tmp_path / "c.zip", [("doejane_101_5001_00_start_here.ipynb", nb(SCALED, "j")),
                                             ("smithbob_102_5002_00_start_here.ipynb", nb(SCALED, "b")),
                                             ("answer_key.ipynb", nb(SCALED, "key"))])
    roster = read_class(archive, known=notebooks())
    key = next(e for e in roster.entries if e.source == "answer_key.ipynb")
    assert (key.student, key.lms_id, key.flags) == ("answer_key", "", ("named unlike the rest of the download: no LMS "
                                                                        "id",))


# ---------------------------------------------------------------- Moodle


def moodle_zip(path: Path) -> Path:
    return write_zip(path, [
        ("Jane Doe_1234567_assignsubmission_file_/00_start_here.ipynb", nb(SCALED, "jane")),  # Moodle 3.x: trailing _
        ("Bob Smith_1234568_assignsubmission_file/sub folder/my answers.ipynb", nb(WRONG, "bob")),  # 4.x, a subfolder
        ("Ann Lee_1234569_assignsubmission_onlinetext_/onlinetext.html", b"<p>42</p>"),
        ("Participant_1234570_assignsubmission_file_/00_start_here.ipynb", nb(SCALED, "blind")),  # blind marking
        ("Cy Young_1234571_assignsubmission_file_/first try.ipynb", nb(SCALED, "cy old"), (2024, 3, 1, 9, 0, 0)),
        ("Cy Young_1234571_assignsubmission_file_/second try.ipynb", nb(WRONG, "cy new"), (2024, 3, 2, 9, 0, 0)),
        ("Dee Dee_1234572_assignsubmission_file_00_start_here.ipynb", nb(SCALED, "dee")),  # without folders
        ("__MACOSX/Jane Doe_1234567_assignsubmission_file_/._00_start_here.ipynb", b"\x00\x05\x16\x07"),
    ])


def test_a_moodle_zip_gives_one_row_per_participant_with_the_participant_id(tmp_path, sandbox):
    archive = moodle_zip(tmp_path / "moodle.zip")
    report = grade(submissions=archive, out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    assert report.students == 6
    book = rows(tmp_path / "out")
    expect = {
        "Jane%20Doe_1234567": ("1234567", "Jane Doe_1234567_assignsubmission_file_/00_start_here.ipynb", "1"),
        "Bob%20Smith_1234568": ("1234568", "Bob Smith_1234568_assignsubmission_file/sub folder/my answers.ipynb", "0"),
        "Ann%20Lee_1234569": ("1234569", "Ann Lee_1234569_assignsubmission_onlinetext_", "0"),
        "Participant_1234570": ("1234570", "Participant_1234570_assignsubmission_file_/00_start_here.ipynb", "1"),
        "Cy%20Young_1234571": ("1234571", "Cy Young_1234571_assignsubmission_file_/second try.ipynb", "0"),  # latest
        "Dee%20Dee_1234572": ("1234572", "Dee Dee_1234572_assignsubmission_file_00_start_here.ipynb", "1"),
    }
    for student, (lms_id, source, total) in expect.items():
        assert (book[student]["lms_id"], book[student]["source"], book[student]["total"]) == (lms_id, source, total)
    assert book["Ann%20Lee_1234569"]["problem"] == ("not read: Ann Lee_1234569_assignsubmission_onlinetext_/"
                                                    "onlinetext.html: not a notebook (.ipynb)")
    assert book["Cy%20Young_1234571"]["problem"] == ("not graded: Cy Young_1234571_assignsubmission_file_/first try."
                                                     "ipynb (it also answers 00_start_here)")
    meta = json.loads((tmp_path / "out" / "gradebook.meta.json").read_text())
    assert meta["layout"] == "moodle" and not (tmp_path / "out" / "canvas.csv").exists()
    assert ["__MACOSX/Jane Doe_1234567_assignsubmission_file_/._00_start_here.ipynb",
            "macOS metadata, not a submission"] in meta["skipped"]


def test_an_unzipped_moodle_folder_reads_as_the_zip_does(tmp_path):
    archive = moodle_zip(tmp_path / "moodle.zip")
    from_zip = read_class(archive, known=notebooks())
    folder = unzip(archive, tmp_path / "unzipped")
    stamp = time.mktime((2024, 3, 1, 9, 0, 0, 0, 0, -1))
    for name, day in (("first try", 1), ("second try", 2)):  # extractall does not keep dates: set them
        path = folder / "Cy Young_1234571_assignsubmission_file_" / f"{name}.ipynb"
        os.utime(path, (stamp + 86400 * (day - 1),) * 2)
    from_folder = read_class(folder, known=notebooks())
    assert [(e.student, e.lms_id, e.source, e.problem) for e in from_folder.entries] == \
        [(e.student, e.lms_id, e.source, e.problem) for e in from_zip.entries]


# ---------------------------------------------------------------- Gradescope


GRADESCOPE_META = """\
submission_1001:
  :submitters:
  - :name: Jane Doe
    :sid: '11'
    :email: jane@uni.edu
  :created_at: 2024-03-01 10:00:00.000000000 -08:00
  :score: 0.0
submission_1002:
  :submitters:
  - :name: Bob Smith
    :sid: '12'
    :email: bob@uni.edu
  - :name: Cy Young
    :sid: ''
    :email: cy@uni.edu
  :created_at: 2024-03-01 11:00:00.000000000 -08:00
submission_1003:
  :submitters:
  - :name: Jane Doe
    :sid: '11'
    :email: jane@uni.edu
  :created_at: 2024-03-02 09:30:00.000000000 -08:00
"""


def gradescope_zip(path: Path, metadata: str = GRADESCOPE_META) -> Path:
    root = "assignment_4242_export/"
    return write_zip(path, [
        (root + "submission_metadata.yml", metadata.encode()),
        (root + "submission_1001/00_start_here.ipynb", nb(WRONG, "jane first")),
        (root + "submission_1002/00_start_here.ipynb", nb(SCALED, "the pair")),
        (root + "submission_1003/00_start_here.ipynb", nb(SCALED, "jane again")),
        (root + "submission_1004/work/00_start_here.ipynb", nb(WRONG, "unlisted")),
    ])


def test_a_gradescope_export_names_students_by_email_and_grades_a_group_once_per_member(tmp_path, sandbox):
    archive = gradescope_zip(tmp_path / "export.zip")
    report = grade(submissions=archive, out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    assert report.students == 4
    book = rows(tmp_path / "out")
    expect = {
        "jane@uni.edu": ("jane@uni.edu", "submission_1003/00_start_here.ipynb", "1"),  # her latest submission
        "bob@uni.edu": ("bob@uni.edu", "submission_1002/00_start_here.ipynb", "1"),
        "cy@uni.edu": ("cy@uni.edu", "submission_1002/00_start_here.ipynb", "1"),
        "submission_1004": ("1004", "submission_1004/work/00_start_here.ipynb", "0"),
    }
    for student, (lms_id, source, total) in expect.items():
        assert (book[student]["lms_id"], book[student]["source"], book[student]["total"]) == (lms_id, source, total)
    # the group's members share a file: that is their group, not a copy
    assert book["bob@uni.edu"]["flags"] == "handed in as one group submission (submission_1002) with cy@uni.edu"
    assert book["cy@uni.edu"]["flags"] == "handed in as one group submission (submission_1002) with bob@uni.edu"
    assert book["submission_1004"]["flags"] == "submission_1004 is not listed in submission_metadata.yml"
    meta = json.loads((tmp_path / "out" / "gradebook.meta.json").read_text())
    assert meta["layout"] == "gradescope"
    assert ["submission_1001", "an earlier submission of jane@uni.edu, superseded by submission_1003"] in \
        meta["skipped"]


def test_a_gradescope_export_with_unreadable_metadata_still_gives_every_folder_a_row(tmp_path):
    archive = gradescope_zip(tmp_path / "export.zip", metadata="submission_1001: [unclosed\n")
    roster = read_class(archive, known=notebooks())
    assert [e.student for e in roster.entries] == ["submission_1001", "submission_1002", "submission_1003",
                                                   "submission_1004"]
    assert roster.entries[0].flags[0].startswith("submission_1001 is not listed in submission_metadata.yml: "
                                                 "submission_metadata.yml cannot be read (")


def test_an_unzipped_gradescope_export_reads_as_the_zip_does(tmp_path):
    archive = gradescope_zip(tmp_path / "export.zip")
    from_zip = read_class(archive, known=notebooks())
    from_folder = read_class(unzip(archive, tmp_path / "unzipped"), known=notebooks())
    assert from_folder.layout == "gradescope"
    assert [(e.student, e.lms_id, e.source, e.data, e.flags) for e in from_folder.entries] == \
        [(e.student, e.lms_id, e.source, e.data, e.flags) for e in from_zip.entries]


# ---------------------------------------------------------------- the plain layouts, zipped


def test_a_zipped_flat_folder_and_a_zipped_nbgrader_tree_read_as_their_folders_do(tmp_path):
    flat = write_zip(tmp_path / "flat.zip", [("class/ada.ipynb", nb(SCALED, "ada")),
                                            ("class/ben.ipynb", nb(WRONG, "ben"))])
    roster = read_class(flat, known=notebooks())
    assert (roster.layout, [e.student for e in roster.entries]) == ("flat", ["ada", "ben"])
    tree = write_zip(tmp_path / "tree.zip", [("course/submitted/ada/ps1/00_start_here.ipynb", nb(SCALED, "ada")),
                                            ("course/submitted/ben/ps1/00_start_here.ipynb", nb(GOOD, "ben"))])
    roster = read_class(tree, known=notebooks())
    assert (roster.layout, [(e.student, e.source) for e in roster.entries]) == \
        ("nbgrader", [("ada", "ada/ps1/00_start_here.ipynb"), ("ben", "ben/ps1/00_start_here.ipynb")])


def test_a_zip_of_nothing_gradable_is_refused_with_the_expected_layouts(tmp_path):
    archive = write_zip(tmp_path / "empty.zip", [("readme.txt", b"hello")])
    with pytest.raises(FileNotFoundError, match="No notebooks found in .*empty.zip. Expected an LMS download"):
        read_class(archive, known=notebooks())


def test_a_file_that_is_not_a_zip_is_refused_with_what_to_pass(tmp_path):
    (tmp_path / "notes.ipynb").write_text(json.dumps(notebook([FIRST, SHIFT_FIRST])))
    with pytest.raises(ValueError, match="is a file but not a zip: pass the folder"):
        read_class(tmp_path / "notes.ipynb", known=notebooks())


def test_an_lms_download_that_names_no_student_is_refused(tmp_path):
    archive = write_zip(tmp_path / "export.zip", [("assignment_1_export/submission_metadata.yml", b"{}\n")])
    with pytest.raises(FileNotFoundError, match="No submissions found in .*export.zip: its gradescope layout names no"):
        read_class(archive, known=notebooks())
