// The Chinese edition's search. Sphinx's Chinese search stems Latin words with the English stemmer, but
// Sphinx 9.0's language_data.js then asks for `ChineseStemmer`, which it never defines
// (sphinx-doc/sphinx#14229), and every page's search breaks. This page loads before language_data.js:
// ChineseStemmer is the English stemmer that language_data.js defines. Once Sphinx names it right, this
// is never called.
if (typeof window.ChineseStemmer === "undefined") {
  window.ChineseStemmer = function ChineseStemmer() {
    return new EnglishStemmer();  // a constructor that returns an object: `new ChineseStemmer()` is this one
  };
}
