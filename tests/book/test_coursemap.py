"""The landing page's course map: every numbered notebook present, in order, described as 00 describes it."""

import json
import re
from pathlib import Path

import pytest
from coursebook.coursemap import Lesson, course_map, course_map_markdown

ROOT = Path(__file__).resolve().parents[2]


def _write(folder: Path, name: str, *markdown: str) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": text} for text in markdown]
    folder.joinpath(f"{name}.ipynb").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                                            "cells": cells}))


def test_the_map_follows_the_notebooks_in_the_repository():
    lessons = course_map(ROOT / "notebooks")
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb") if re.match(r"\d\d_", p.name))
    assert [lesson.name for lesson in lessons] == names
    assert lessons[0].name == "00_start_here"
    # 00 calls itself "this page"; on the landing page its row says what it holds
    assert not lessons[0].teaches.lower().startswith("this page")
    assert all(lesson.teaches for lesson in lessons), [lesson.name for lesson in lessons if not lesson.teaches]
    assert all(not re.match(r"\d\d ·", lesson.title) for lesson in lessons)


def test_a_new_notebook_appears_even_before_00_describes_it(tmp_path):
    _write(tmp_path, "00_start_here", "# Start here\n\nWelcome.",
           "## The course map\n\n| # | Notebook | What it teaches |\n|---|---|---|\n"
           "| 00 | `00_start_here` | this page: set-up |\n| 01 | `01_gradients` | the gradient, $\\nabla f$ |\n")
    _write(tmp_path, "01_gradients", "# 01 · Gradients\n\ntext")
    _write(tmp_path, "08_build_autograd", "Intro first.", "# 08 · Build your own autograd\n")
    (tmp_path / "notes.ipynb").write_text("{}")  # not a numbered notebook: not in the map
    assert course_map(tmp_path) == [Lesson("00_start_here", "Start here", "Set-up"),
                                    Lesson("01_gradients", "Gradients", "The gradient, $\\nabla f$"),
                                    Lesson("08_build_autograd", "Build your own autograd", "")]


def test_the_map_is_a_table_of_links_to_the_pages():
    text = course_map_markdown([Lesson("03_activations", "Activation functions", "ReLU | GELU"),
                                Lesson("08_build_autograd", "A `tiny` <autograd>", "")])
    rows = text.splitlines()
    assert rows[0] == "| # | Notebook | What it teaches |"
    assert rows[2] == "| 03 | {doc}`Activation functions <notebooks/03_activations>` | ReLU \\| GELU |"
    assert rows[3] == "| 08 | {doc}`A \\`tiny\\` \\<autograd> <notebooks/08_build_autograd>` |  |"


def test_a_folder_without_numbered_notebooks_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no numbered notebooks"):
        course_map(tmp_path)


def test_the_chinese_map_follows_the_chinese_notebooks():
    chinese = ROOT / "notebooks" / "zh"
    if not (chinese / "00_start_here.ipynb").exists():
        pytest.skip("no Chinese edition in this tree (notebooks/zh/)")
    lessons = course_map(chinese)
    assert [lesson.name for lesson in lessons] == [lesson.name for lesson in course_map(ROOT / "notebooks")]
    assert all(lesson.teaches for lesson in lessons), [lesson.name for lesson in lessons if not lesson.teaches]
    assert not lessons[0].teaches.startswith(("本页", "this page"))
    assert all(re.search(r"[\u4e00-\u9fff]", lesson.title) for lesson in lessons), [x.title for x in lessons]


def test_a_chinese_map_drops_this_page_and_has_a_chinese_header(tmp_path):
    _write(tmp_path, "00_start_here", "# 00 · 从这里开始\n\n欢迎。",
           "## 课程地图\n\n| # | 笔记本 | 内容 |\n|---|---|---|\n"
           "| 00 | `00_start_here` | 本页：环境设置，设备 |\n"
           "| 01 | [`01_gradients`](01_gradients.ipynb) | 梯度，$\\nabla f$ |\n")
    _write(tmp_path, "01_gradients", "# 01 · 梯度\n\n正文")
    lessons = course_map(tmp_path)
    assert lessons == [Lesson("00_start_here", "从这里开始", "环境设置，设备"),
                       Lesson("01_gradients", "梯度", "梯度，$\\nabla f$")]
    rows = course_map_markdown(lessons, language="zh").splitlines()
    assert rows[0] == "| # | 笔记本 | 内容 |"
    assert rows[3] == "| 01 | {doc}`梯度 <notebooks/01_gradients>` | 梯度，$\\nabla f$ |"
