"""The class report as one self-contained HTML page: figures inline as PNG, no script, a print stylesheet.

Renders the data of `coursekit.grading.report_data` in the current language (`coursekit.i18n`);
every text that came from a submission is escaped. Long lists of student ids sit behind a
`<details>` disclosure, which needs no script to open.
"""

from __future__ import annotations

from typing import Any

from coursekit.grading.report_data import FLAG_FEW, FLAG_MANY, FLAG_MIN_STUDENTS
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
from coursekit.grading.report_sections import (
    cases_section,
    mistakes_section,
    problems_section,
    similarity_section,
)
from coursekit.i18n import _, language
from coursekit.plots.report import exercise_outcomes, score_histogram

__all__ = ["STYLE", "render"]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1040px; margin: 2em auto;
       padding: 0 1em; line-height: 1.45; color: #1a1a1a; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #0072B2; padding-bottom: 0.15em; margin-top: 2em; }
h3 { margin-bottom: 0.3em; }
nav ol { columns: 2; }
.meta { color: #555; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f6f9; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { white-space: nowrap; }
tr.flagged td { background: #fff3e6; }
.flag { color: #a04000; font-weight: 600; white-space: nowrap; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.note { border-left: 4px solid #E69F00; padding: 0.3em 0.8em; background: #fffaf0; }
.unavailable { border-left: 4px solid #D55E00; padding: 0.3em 0.8em; background: #fff4f0; }
details { margin: 0.2em 0; }
summary { cursor: pointer; color: #0072B2; white-space: nowrap; }
.ids { font-family: monospace; font-size: 0.88em; word-break: break-word; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
@media print {
  body { max-width: none; margin: 0; font-size: 10pt; color: #000; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, tr, .note, .unavailable { break-inside: avoid; }
  summary { color: #000; }
  a { color: #000; text-decoration: none; }
  @page { margin: 15mm; }
}
"""


def _header(data: dict[str, Any]) -> str:
    facts = [_("seed {seed}").format(seed=data["seed"]) if data["seed"] is not None else "",
             _("graded with coursekit {version}").format(version=data["graded_with"]) if data["graded_with"] else "",
             _("report written by coursekit {version}").format(version=data["reported_with"])]
    title = _("Class report: {assignment}").format(assignment=data["assignment"])
    parts = [f"<h1>{esc(title)}</h1>", f"<p class='meta'>{esc(' · '.join(f for f in facts if f))}</p>"]
    if data["merged_shards"]:
        text = _("Merged from the shards {shards}.").format(shards=", ".join(data["merged_shards"]))
        if data["missing_shards"]:
            text += " " + _("Not merged yet: {shards}; their students are not in this report.").format(
                shards=", ".join(data["missing_shards"]))
        parts.append(f"<p class='note'>{esc(text)}</p>")
    if data["without_results"]:
        ids = [f"{r['student']} ({r['why']})" for r in data["without_results"]]
        text = _("{n} students of the gradebook are not in this report: their results cannot be read.").format(
            n=len(ids))
        parts.append(f"<p class='note'>{esc(text)}</p>{students_list(ids)}")
    names = [("scores", _("Scores")), ("exercises", _("Per exercise")), ("cases", _("Item analysis")),
             ("mistakes", _("Mistakes: what to re-teach")), ("problems", _("Problems")),
             ("similarity", _("Similarity"))]
    parts.append("<nav><ol>" + "".join(f"<li><a href='#{key}'>{esc(name)}</a></li>" for key, name in names)
                 + "</ol></nav>")
    return "\n".join(parts)


def _scores(data: dict[str, Any]) -> str:
    s = data["scores"]
    facts = [(_("Class size"), _("{n} students").format(n=s["students"])),
             (_("Graded"), _("{n} notebooks; {m} could not be graded at all").format(n=s["graded"],
                                                                                       m=s["not_graded"])),
             (_("With a problem"), _("{n} students (see Problems)").format(n=s["with_problems"])),
             (_("Mean"), _("{mean} of {max} points").format(mean=number(s["mean"]), max=number(s["max_total"]))),
             (_("Median"), number(s["median"])),
             (_("Range"), f"{number(s['lowest'])} – {number(s['highest'])}"),
             (_("Full marks"), f"{s['full_marks']}")]
    parts = ["<section id='scores'>", heading(_("Scores")), "<dl class='facts'>"]
    parts += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts]
    parts.append("</dl>")
    if s["students"]:
        hist = s["histogram"]
        parts.append(figure_png(
            lambda ax: score_histogram(ax, edges=hist["edges"], counts=hist["counts"], max_total=s["max_total"],
                                       median=s["median"]),
            width=7.5, height=3.2, alt=_("Histogram of the students' totals"),
            caption=_("Every student's total, including those whose notebook could not be graded (0 points). "
                      "The solid line marks the maximum.")))
    else:
        parts.append(paragraph(_("The gradebook lists no students."), kind="unavailable"))
    return "\n".join(parts + ["</section>"])


def _exercises(data: dict[str, Any]) -> str:
    rows = data["exercises"]
    parts = ["<section id='exercises'>", heading(_("Per exercise")), unavailable(data, "exercises")]
    if "exercises" not in data["unavailable"] and rows:
        parts.append(paragraph(_("Over the {n} students whose notebook could be graded; the hardest exercise (the "
                                 "lowest pass rate) first.").format(n=rows[0]["students"])))
        parts.append(figure_png(lambda ax: exercise_outcomes(ax, ids=[r["id"] for r in rows],
                                                             counts=[r["counts"] for r in rows]),
                                width=7.5, height=1.3 + 0.42 * len(rows), alt=_("Exercises by outcome"),
                                caption=_("Each bar splits the graded students by how the exercise went.")))
        head = [_("exercise"), _("points"), _("pass rate"), _("mean points"), _("not attempted"), _("with errors")]
        parts.append(table_head(head))
        for r in rows:
            parts.append(f"<tr><td>{esc(_(r['title']))} <code>{esc(r['id'])}</code></td><td class='n'>{r['points']:g}"
                         f"</td><td class='n'>{share(r['pass_rate'])}</td><td class='n'>{number(r['mean_points'])}"
                         f"</td><td class='n'>{share(r['not_attempted'])}</td><td class='n'>{share(r['errors'])}"
                         "</td></tr>")
        parts.append("</table>")
    return "\n".join(parts + ["</section>"])


def render(data: dict[str, Any]) -> str:
    """The whole report page for `data` (the output of `report_data`)."""
    title = _("Class report: {assignment}").format(assignment=data["assignment"])
    limits = {"many": FLAG_MANY, "few": FLAG_FEW, "min_students": FLAG_MIN_STUDENTS}
    body = [_header(data), _scores(data), _exercises(data), cases_section(data, limits), mistakes_section(data),
            problems_section(data), similarity_section(data)]
    return (f"<!doctype html>\n<html lang='{esc(language())}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")
