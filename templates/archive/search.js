// Starts Pagefind's search UI in the archive's search box (pagefind/pagefind-ui.js, built with
// the archive). A file, not an inline script: the pages' Content-Security-Policy allows 'self'.
// Without JavaScript the box stays hidden and the pages read as they are.
//
// Pagefind keeps one index per language (each contribution page has its own <html lang>, so
// each is stemmed in its language): the page's language is searched first and the others are
// merged in, so a French word typed on an English page still finds the French contribution.
window.addEventListener("DOMContentLoaded", function () {
  var area = document.getElementById("search-area");
  var box = document.getElementById("search");
  var script = document.querySelector('script[src$="pagefind-ui.js"]');
  if (!area || !box || !script || typeof PagefindUI === "undefined") return;
  var bundle = script.src.replace(/pagefind-ui\.js$/, "");
  fetch(bundle + "pagefind-entry.json")
    .then(function (response) { return response.json(); })
    .then(function (entry) { start(bundle, Object.entries(entry.languages || {})); })
    .catch(function () { start(bundle, []); });

  function start(bundle, indexes) {
    var page = (document.documentElement.lang || "").toLowerCase();
    var codes = indexes.map(function (pair) { return pair[0]; });
    // Pagefind's own choice for this page: its language, its base language, else the largest.
    var primary = codes.indexOf(page) >= 0 ? page : codes.indexOf(page.split("-")[0]) >= 0
      ? page.split("-")[0]
      : (indexes.slice().sort(function (a, b) { return b[1].page_count - a[1].page_count; })[0] || [""])[0];
    area.hidden = false;
    new PagefindUI({
      element: "#search",
      bundlePath: bundle,
      showImages: false,
      showSubResults: false,
      resetStyles: false,
      autofocus: false,
      mergeIndex: codes.filter(function (code) { return code !== primary; })
        .map(function (code) { return { bundlePath: bundle, language: code }; }),
      translations: box.dataset.placeholder ? { placeholder: box.dataset.placeholder } : {},
    });
    // The input gets the visible label above it as its name (not a placeholder-only field).
    (function label() {
      var input = box.querySelector("input");
      if (input) input.setAttribute("aria-labelledby", "search-label");
      else window.requestAnimationFrame(label);
    })();
  }
});
