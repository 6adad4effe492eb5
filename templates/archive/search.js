// Starts Pagefind's search UI in the archive's search box (pagefind/pagefind-ui.js, built with
// the archive). A file, not an inline script: the pages' Content-Security-Policy allows 'self'.
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("search");
  if (!box || typeof PagefindUI === "undefined") return;
  box.hidden = false;
  new PagefindUI({
    element: "#search",
    showImages: false,
    showSubResults: false,
    resetStyles: false,
    autofocus: false,
    translations: box.dataset.placeholder ? { placeholder: box.dataset.placeholder } : {},
  });
});
