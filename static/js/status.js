/* Live status: while notes are queued or processing, ask the server how they are doing
   and swap in the re-rendered (server-escaped) fragment; stop once every note is final. */
(function () {
  "use strict";

  var interval = Number(document.body.dataset.pollMs) || 1500;
  var MAX_FAILURES = 5;

  function poll(makeUrl, apply) {
    var failures = 0;
    function tick() {
      if (document.hidden) { setTimeout(tick, interval); return; }
      fetch(makeUrl(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          failures = 0;
          if (apply(data)) { setTimeout(tick, interval); }
        })
        .catch(function () {
          // A network blip or an expired session: back off, give up after a few tries.
          failures += 1;
          if (failures < MAX_FAILURES) { setTimeout(tick, interval * 2 * failures); }
        });
    }
    setTimeout(tick, interval);
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function forgetQueuedMessages() {
    document.querySelectorAll(".message.queued").forEach(function (message) { message.remove(); });
  }

  var panel = document.getElementById("note-live");
  if (panel && panel.dataset.terminal === "true") { forgetQueuedMessages(); }
  if (panel && panel.dataset.terminal === "false") {
    var shown = null;
    poll(function () { return panel.dataset.statusUrl; }, function (data) {
      // Swap only on change: keeps focus, open details and screen readers quiet.
      if (data.html !== shown) {
        panel.innerHTML = data.html;
        shown = data.html;
        // The new buttons and forms (tags, suggestions) are htmx's to wire up.
        if (window.htmx) { window.htmx.process(panel); }
      }
      panel.dataset.terminal = String(data.terminal);
      // "Queued for enrichment" is no longer true once the note is done.
      if (data.terminal) { forgetQueuedMessages(); }
      var title = document.querySelector("[data-note-title]");
      if (title) { title.textContent = data.title; }
      return !data.terminal;
    });
  }

  var list = document.querySelector(".note-list[data-status-url]");
  if (list) {
    var pending = function () {
      return Array.prototype.map.call(
        list.querySelectorAll('.note-row[data-terminal="false"]'),
        function (row) { return row.dataset.noteId; }
      );
    };
    if (pending().length) {
      poll(function () {
        return list.dataset.statusUrl + "?ids=" + encodeURIComponent(pending().join(","));
      }, function (data) {
        var seen = {};
        data.notes.forEach(function (note) {
          seen[note.id] = true;
          var row = list.querySelector('.note-row[data-note-id="' + Number(note.id) + '"]');
          if (row) { row.replaceWith(fragment(note.html)); }
        });
        // A note deleted meanwhile is no longer reported: stop asking about it.
        pending().forEach(function (id) {
          if (!seen[id]) { list.querySelector('.note-row[data-note-id="' + id + '"]').dataset.terminal = "gone"; }
        });
        return pending().length > 0;
      });
    }
  }
})();
