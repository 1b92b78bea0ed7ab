"""The class report's detailed sections as HTML: item analysis, mistakes, problems, similarity."""

from __future__ import annotations

from typing import Any

from coursekit.grading.copies import MIN_NODES
from coursekit.grading.report_markup import (
    esc,
    figure_png,
    heading,
    number,
    paragraph,
    share,
    students_list,
    table_head,
    unavailable,
)
from coursekit.i18n import N_, _
from coursekit.plots.report import case_map

__all__ = ["CLUSTERS_SHOWN", "INLINE_IDS", "PROBLEM_WORDS", "cases_section", "mistakes_section", "problems_section",
           "similarity_section"]

#: groups of students with the same code shown per exercise (the rest behind a disclosure, all in report.json)
CLUSTERS_SHOWN = 20
#: a group of at most this many students lists its ids in the table itself
INLINE_IDS = 8

#: what each kind of problem means, for the reader
PROBLEM_WORDS = {
    "unreadable": N_("the notebook could not be read (not notebook JSON, not a Python notebook, no code cells)"),
    "not_read": N_("the file could not be read (missing, a folder or a pipe, a link out of the folder, too large)"),
    "submission": N_("the notebook could not be graded"),
    "timeout": N_("an exercise ran out of time (an endless loop or a very slow answer)"),
    "limit": N_("an exercise went over the time or memory limit"),
    "crash": N_("the student's code ended its worker process (a crash, os._exit, a signal)"),
    "invalid": N_("the student's worker sent back data the grader refused"),
    "not_run": N_("an exercise was not run: the submission's time ran out, or its code kept stopping the worker"),
    "cell_timeout": N_("a notebook cell ran out of time; it was skipped"),
    "cell_stopped": N_("a notebook cell stopped the worker; it was skipped"),
    "other_files": N_("other files handed in with the notebook were not graded"),
    "exercise_other": N_("another problem while grading an exercise"),
}
_FLAGS = {"almost_all_fail": N_("almost everyone fails"), "almost_none_fail": N_("almost nobody fails")}


def _title(section: dict[str, Any], key: str = "exercise") -> str:
    """An exercise's heading: its title (in the reader's language where the catalogue has it) and its id."""
    return heading(f"{_(section['title'])} ({section[key]})", 3)


def _case_text(case: dict[str, Any]) -> str:
    label = _(case["label"]) if case["label"] else ""
    if case["hidden"]:
        words = _("hidden case {number}").format(number=case["number"])
        return esc(f"{words}: {label}" if label else words)
    text = esc(label or _("case {number}").format(number=case["number"]))
    return text + (f"<br><code>{esc(case['call'])}</code>" if case.get("call") else "")


def _kind(case: dict[str, Any]) -> str:
    kind = _("hidden") if case["hidden"] else _("public")
    return kind + (" · " + _("gradient") if case["gradient"] else "")


def cases_section(data: dict[str, Any], limits: dict[str, float]) -> str:
    """Item analysis: each case's share of failing students, its discrimination and its flag."""
    parts = ["<section id='cases'>", heading(_("Item analysis")), unavailable(data, "cases")]
    if "cases" in data["unavailable"]:
        return "\n".join(parts + ["</section>"])
    parts.append(paragraph(_(
        "For each case: among the students who attempted its exercise and for whom the case ran, the share who "
        "failed it (a wrong result or an error). Discrimination is the point-biserial correlation between failing "
        "the case (1) or passing it (0) and the student's total score: clearly negative means that the students "
        "who fail the case score lower overall, as a good case should; near 0 or positive means that failing it "
        "says little about how well a student did. Hidden cases are shown by their label only.")))
    parts.append(paragraph(_(
        "Flagged: cases that at least {many}% or at most {few}% of the students failed (among cases that ran for "
        "at least {n} students). When (almost) everyone fails a case, the case or the exercise's instructions may "
        "be wrong; when (almost) nobody does, the case tests nothing the class finds hard.").format(
            many=round(limits["many"] * 100), few=round(limits["few"] * 100), n=int(limits["min_students"])),
        kind="note"))
    if data["unrecorded"]["cases"]:
        parts.append(paragraph(_("{n} answers were graded by an older grader that did not record their cases; they "
                                 "are not counted here.").format(n=data["unrecorded"]["cases"]), kind="note"))
    shown = [c for c in data["cases"] if c["share_failed"] is not None and c["discrimination"] is not None]
    if shown:
        parts.append(figure_png(
            lambda ax: case_map(ax, share_failed=[c["share_failed"] for c in shown],
                                discrimination=[c["discrimination"] for c in shown],
                                hidden=[c["hidden"] for c in shown], many=limits["many"], few=limits["few"]),
            width=7.5, height=3.6, alt=_("Each case's share of failing students against its discrimination"),
            caption=_("{n} of {total} cases; a case that everyone passed or everyone failed has no correlation and "
                      "is only in the table.").format(n=len(shown), total=len(data["cases"]))))
    titles = {e["id"]: e["title"] for e in data["exercises"]}  # the exercises' titles, whatever their order
    head = ["#", _("case"), _("kind"), _("ran"), _("failed"), _("discrimination"), _("flag")]
    for exercise in dict.fromkeys(c["exercise"] for c in data["cases"]):
        parts.append(_title({"title": titles.get(exercise, exercise), "exercise": exercise}))
        parts.append(table_head(head))
        for c in (c for c in data["cases"] if c["exercise"] == exercise):
            flag = _(_FLAGS[c["flag"]]) if c["flag"] in _FLAGS else ""
            parts.append(f"<tr class='{'flagged' if flag else ''}'><td class='n'>{c['number']}</td>"
                         f"<td>{_case_text(c)}</td><td>{esc(_kind(c))}</td><td class='n'>{c['ran']}</td>"
                         f"<td class='n'>{share(c['share_failed'])}</td>"
                         f"<td class='n'>{number(c['discrimination'])}</td>"
                         f"<td class='flag'>{esc(flag)}</td></tr>")
        parts.append("</table>")
    return "\n".join(parts + ["</section>"])


def mistakes_section(data: dict[str, Any]) -> str:
    """The recognised mistakes of each exercise, ranked by students, with their hints and ids."""
    parts = ["<section id='mistakes'>", heading(_("Mistakes: what to re-teach")), unavailable(data, "mistakes")]
    if "mistakes" in data["unavailable"]:
        return "\n".join(parts + ["</section>"])
    parts.append(paragraph(_("The mistakes the grader recognised, for each exercise, ranked by how many students "
                             "made them (on any of its cases), with the hint those students read. Each mistake's "
                             "students are listed behind its disclosure.")))
    every = sorted(((m["students"], s["exercise"], m["name"]) for s in data["mistakes"] for m in s["mistakes"]),
                   key=lambda t: (-t[0], t[1], t[2]))[:5]
    if every:
        counts = [_("{n} students").format(n=n) for n, _exercise, _name in every]
        items = "".join(f"<li><b>{esc(name)}</b> <code>{esc(exercise)}</code>: {esc(count)}</li>"
                        for (_n, exercise, name), count in zip(every, counts, strict=True))
        parts.append(paragraph(_("The most common across the class:")) + f"<ol>{items}</ol>")
    for section in data["mistakes"]:
        parts.append(_title(section))
        parts.append(paragraph(_("{attempted} attempted it, {failed} did not pass; {unrecognised} of those made no "
                                 "mistake the grader recognises.").format(**section)))
        if not section["mistakes"]:
            continue
        parts.append(table_head([_("mistake"), _("hint the students read"), _("students"), _("who")]))
        for m in section["mistakes"]:
            hint = _(m["hint"]) if m["hint"] else ""
            parts.append(f"<tr><td class='name'><b>{esc(m['name'])}</b></td><td>{esc(hint)}</td>"
                         f"<td class='n'>{m['students']} ({share(m['share'])})</td>"
                         f"<td>{students_list(m['ids'])}</td></tr>")
        parts.append("</table>")
    return "\n".join(parts + ["</section>"])


def problems_section(data: dict[str, Any]) -> str:
    """Timeouts, crashes, limit hits and unreadable files, grouped by kind with counts."""
    parts = ["<section id='problems'>", heading(_("Problems"))]
    if not data["problems"]:
        parts.append(paragraph(_("No problems: every notebook was graded normally.")))
        return "\n".join(parts + ["</section>"])
    parts.append(paragraph(_("What could not be graded normally, grouped by kind. A problem scores 0 on what it "
                             "broke; the rest of the notebook was graded.")))
    parts.append(table_head([_("kind"), _("students"), _("times"), _("for example"), _("who")]))
    for p in data["problems"]:
        words = _(PROBLEM_WORDS[p["kind"]]) if p["kind"] in PROBLEM_WORDS else p["kind"]
        examples = "".join(f"<li>{esc(e)}</li>" for e in p["examples"])
        parts.append(f"<tr><td>{esc(words)}</td><td class='n'>{p['students']}</td>"
                     f"<td class='n'>{p['occurrences']}</td><td><ul>{examples}</ul></td>"
                     f"<td>{students_list(p['ids'])}</td></tr>")
    return "\n".join(parts + ["</table>", "</section>"])


def _cluster_row(cluster: dict[str, Any]) -> str:
    ids = cluster["students"]
    who = f"<span class='ids'>{esc(', '.join(ids))}</span>" if len(ids) <= INLINE_IDS else students_list(ids)
    return f"<tr><td class='n'>{cluster['size']}</td><td class='n'>{cluster['passed']}</td><td>{who}</td></tr>"


def similarity_section(data: dict[str, Any]) -> str:
    """Answers with the same code after normalisation, and answers that are a reference's."""
    parts = ["<section id='similarity'>", heading(_("Similarity")), unavailable(data, "similarity")]
    if "similarity" in data["unavailable"]:
        return "\n".join(parts + ["</section>"])
    parts.append(paragraph(_(
        "This section flags answers for a person to look at; it accuses no one and changes no grade. Answers are "
        "compared after normalisation (names, comments, docstrings and formatting ignored). The same code can be "
        "written independently, taken from the course's own material, or the result of permitted work together; "
        "only a person who knows the class can tell. Answers of fewer than {n} syntax nodes are not clustered: "
        "short code is what anyone would write.").format(n=MIN_NODES), kind="note"))
    if data["unrecorded"]["similarity"]:
        parts.append(paragraph(_("{n} answers were graded by an older grader that did not record their code's normal "
                                 "form; they are not compared.").format(n=data["unrecorded"]["similarity"]),
                               kind="note"))
    for s in data["similarity"]:
        parts.append(_title(s))
        if not (s["compared"] or s["reference"] or s["course"]):
            parts.append(paragraph(_("No function answers to compare.")))
            continue
        facts = [_("{n} answers compared, {short} of them too short to cluster.").format(n=s["compared"],
                                                                                      short=s["short"])]
        parts.append(paragraph(" ".join(facts)))
        for key, words in (("reference", _("The code is the reference solution's: {n} students.")),
                           ("course", _("The answer is the course's own function: {n} students."))):
            if s[key]:
                parts.append(paragraph(words.format(n=len(s[key]))) + students_list(s[key]))
        if not s["clusters"]:
            parts.append(paragraph(_("No two other answers have the same code.")))
            continue
        parts.append(table_head([_("students with the same code"), _("of them passed"), _("who")]))
        parts += [_cluster_row(c) for c in s["clusters"][:CLUSTERS_SHOWN]]
        parts.append("</table>")
        rest = s["clusters"][CLUSTERS_SHOWN:]
        if rest:
            summary = _("{n} more groups, of {smallest} to {largest} students").format(
                n=len(rest), smallest=rest[-1]["size"], largest=rest[0]["size"])
            rows = "".join(_cluster_row(c) for c in rest)
            parts.append(f"<details><summary>{esc(summary)}</summary><table>{rows}</table></details>")
    return "\n".join(parts + ["</section>"])
