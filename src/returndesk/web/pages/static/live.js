// Live pages: listen to the server's event stream (Server-Sent Events) and refresh the parts
// of the page marked data-live, without a reload. What a person is typing is never replaced.
(function () {
  "use strict";
  var anchor = document.querySelector("[data-live-url]");
  if (!anchor || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var busy = false;
  var again = false;

  function typingIn(el) {
    var active = document.activeElement;
    if (active && el.contains(active) && active.matches("input, textarea, select")) return true;
    return !!el.querySelector("form[data-dirty]") || (el.matches("form") && el.dataset.dirty);
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = doc.querySelector('[data-live="' + el.getAttribute("data-live") + '"]');
          if (fresh && !typingIn(el)) el.replaceWith(document.importNode(fresh, true));
        });
        document.documentElement.setAttribute("data-live-updated", String(Date.now()));
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  document.addEventListener("input", function (event) {
    var form = event.target && event.target.form;
    if (form) form.dataset.dirty = "1";
  });
  var source = new EventSource(anchor.getAttribute("data-live-url"));
  source.addEventListener("timeline", refresh);
  source.addEventListener("case_changed", refresh);
  source.addEventListener("open", function () { anchor.setAttribute("data-live-state", "open"); });
})();
