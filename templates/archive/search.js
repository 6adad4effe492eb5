// Starts Pagefind's search UI in the archive's search box (pagefind/pagefind-ui.js, built with
// the archive). A file, not an inline script: the pages' Content-Security-Policy allows 'self'.
// Without JavaScript the box stays hidden and the pages read as they are.
window.addEventListener("DOMContentLoaded", function () {
  var area = document.getElementById("search-area");
  var box = document.getElementById("search");
  if (!area || !box || typeof PagefindUI === "undefined") return;
  area.hidden = false;
  new PagefindUI({
    element: "#search",
    showImages: false,
    showSubResults: false,
    resetStyles: false,
    autofocus: false,
    translations: box.dataset.placeholder ? { placeholder: box.dataset.placeholder } : {},
  });
  // The input gets the visible label above it as its name (not a placeholder-only field).
  (function label() {
    var input = box.querySelector("input");
    if (input) input.setAttribute("aria-labelledby", "search-label");
    else window.requestAnimationFrame(label);
  })();
});
