"""What a learner reads, as plain text, and the English prose left in it.

A message in Chinese may hold code and data that stay as they are: `backticked` spans, identifiers
(torch.autograd.grad, retain_graph=True), numbers and formulas, the text of an error the learner's code
raised (PyTorch's words, after "引发了 RuntimeError: "), the text of a warning it produced, and quotations
(“…”) of such texts. Anything else that reads as English (three or more English words in a row) is an
untranslated message.
"""

from __future__ import annotations

import html
import re

__all__ = ["CJK", "english_prose", "visible_text"]

CJK = re.compile(r"[\u4e00-\u9fff]")
_TAG = re.compile(r"<[^>]+>")
_CODE_HTML = re.compile(r"<code>.*?</code>", re.S)
_BACKTICKS = re.compile(r"`[^`\n]*`")
_QUOTED = re.compile(r"“[^”]*”")
# what the learner's own code produced: an error's text runs to the end of its line, a warning's to the
# sentence after it
_RAISED = re.compile(r"(引发了|raised) [A-Za-z_.]*(Error|Exception|Interrupt|Exceeded|NoGradient)\b: [^\n]*")
_WARNING = re.compile(r"(产生了警告：)[^\n]*?(?=。答案)")
_WORD = re.compile(r"\(?[A-Za-z]{2,}[)'’,.;:!?]*")


def visible_text(rendered: str) -> str:
    """HTML as the text a browser shows (code elements dropped), or text unchanged."""
    if "<" not in rendered:
        return rendered
    text = _CODE_HTML.sub(" ", rendered)
    text = re.sub(r"<(br|/div|/p|/li|/h\d)[^>]*>", "\n", text)
    return html.unescape(_TAG.sub("", text))


def english_prose(text: str, *, min_words: int = 3) -> list[str]:
    """Runs of `min_words` or more English words outside code, identifiers, learner output and quotations."""
    text = _RAISED.sub(" ", text)
    text = _WARNING.sub(r"\1", text)
    text = _QUOTED.sub(" ", _BACKTICKS.sub(" ", text))
    found, run = [], []
    for token in text.split():
        if _WORD.fullmatch(token):
            run.append(token)
            continue
        if len(run) >= min_words:
            found.append(" ".join(run))
        run = []
    if len(run) >= min_words:
        found.append(" ".join(run))
    return found
