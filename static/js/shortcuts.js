/* Keyboard shortcuts, listed in the page footer: "n" new note, "/" search,
   Ctrl+Enter (or Cmd+Enter) saves the form being written. Never while typing. */
(function () {
  "use strict";

  function typing(element) {
    var tag = element && element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (element && element.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target.form || (event.target.closest && event.target.closest("form"));
      if (form && form.querySelector("[data-submit-shortcut]")) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "/") {
      var search = document.getElementById("id_q");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      else { window.location.href = document.body.dataset.searchUrl || "/notes/?focus=search"; }
    } else if (event.key === "n") {
      var link = document.querySelector('[data-shortcut="n"]');
      if (link) { event.preventDefault(); link.click(); }
    }
  });

  // Arriving from "/" on another page: the search box is ready to type in.
  if (window.location.search.indexOf("focus=search") !== -1) {
    var box = document.getElementById("id_q");
    if (box) { box.focus(); }
  }
})();
