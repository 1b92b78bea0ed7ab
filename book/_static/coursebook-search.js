// Search results quote the pages' text, where math is still TeX source: \( ... \). Typeset it there as on
// the pages; a quote cut in the middle of a formula drops that formula's piece rather than show raw TeX.
// The quotes leave out the page's buttons and tables of contents ("Light Dark ... Contents").
(() => {
  if (typeof Search === "undefined" || !Search.makeSearchSummary || !Search.htmlToText) return;
  const pageText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => {
    const page = new DOMParser().parseFromString(htmlString, "text/html");
    page.querySelectorAll(".bd-header-article, .bd-sidebar-secondary, .onlyprint, .prev-next-area").forEach(e => e.remove());
    return pageText(page.documentElement.outerHTML, anchor);
  };
  const pairs = [["\\(", "\\)"], ["\\[", "\\]"]];
  const wholeFormulas = (text) => {
    for (const [open, close] of pairs) {
      const firstClose = text.indexOf(close);
      const firstOpen = text.indexOf(open);
      if (firstClose > -1 && (firstOpen === -1 || firstClose < firstOpen)) {
        text = "..." + text.slice(firstClose + close.length);
      }
      const lastOpen = text.lastIndexOf(open);
      if (lastOpen > -1 && text.indexOf(close, lastOpen) === -1) {
        text = text.slice(0, lastOpen) + "...";
      }
    }
    return text;
  };
  const summarise = Search.makeSearchSummary;
  Search.makeSearchSummary = (htmlText, keywords, anchor) => {
    const summary = summarise(htmlText, keywords, anchor);
    if (!summary) return summary;
    summary.textContent = wholeFormulas(summary.textContent);
    summary.classList.add("math");  // MathJax typesets only elements of class "math"
    if (window.MathJax && MathJax.startup) {
      MathJax.startup.promise.then(() => MathJax.typesetPromise([summary]));
    }
    return summary;
  };
})();
