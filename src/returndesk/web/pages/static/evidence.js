// Evidence uploads from the case pages over tus 1.0: in chunks, resumable. The upload's URL
// is remembered per file in localStorage, so after a reload or a dropped connection the next
// try asks the server where it stands (HEAD) and sends only the rest.
(function () {
  "use strict";
  var CHUNK = 5 * 1024 * 1024;
  var RETRIES = 4;

  function b64(text) { return btoa(unescape(encodeURIComponent(text))); }
  function wait(ms) { return new Promise(function (done) { setTimeout(done, ms); }); }

  document.querySelectorAll("form[data-evidence-upload]").forEach(function (form) {
    var messages = JSON.parse(form.querySelector("script[type='application/json']").textContent);
    var status = form.querySelector("[data-testid=upload-status]");
    var bar = form.querySelector("progress");
    var button = form.querySelector("button[type=submit]");

    function say(key, state) {
      status.textContent = messages[key] || messages.generic;
      status.setAttribute("data-state", state);
      status.setAttribute("data-code", key);
    }
    function headers(extra) {
      var out = { "Tus-Resumable": "1.0.0", "X-CSRF-Token": form.dataset.csrf };
      Object.keys(extra || {}).forEach(function (k) { out[k] = extra[k]; });
      return out;
    }
    function call(url, method, extra, body) {
      return fetch(url, { method: method, credentials: "same-origin", headers: headers(extra), body: body });
    }
    function refused(response) {
      return response.json().catch(function () { return {}; }).then(function (problem) {
        var error = new Error(problem.code || "generic");
        error.code = problem.code || "generic";
        throw error;
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) return;
      var kind = form.querySelector("select[name=kind]").value;
      var key = ["tus", form.dataset.case, kind, file.name, file.size, file.lastModified].join(":");

      function create() {
        var meta = "case_id " + b64(form.dataset.case) + ",kind " + b64(kind) +
          ",filename " + b64(file.name);
        return call(form.dataset.endpoint, "POST",
          { "Upload-Length": String(file.size), "Upload-Metadata": meta })
          .then(function (response) {
            if (!response.ok) return refused(response);
            var url = response.headers.get("Location");
            localStorage.setItem(key, url);
            return { url: url, offset: 0 };
          });
      }
      function locate() {
        var url = localStorage.getItem(key);
        if (!url) return create();
        return call(url, "HEAD", {}).then(function (response) {
          if (!response.ok) { localStorage.removeItem(key); return create(); }
          return { url: url, offset: parseInt(response.headers.get("Upload-Offset"), 10) };
        });
      }
      function send(state, retries) {
        bar.max = file.size;
        bar.value = state.offset;
        if (state.offset >= file.size) return Promise.resolve(state);
        var end = Math.min(state.offset + CHUNK, file.size);
        return call(state.url, "PATCH",
          { "Upload-Offset": String(state.offset), "Content-Type": "application/offset+octet-stream" },
          file.slice(state.offset, end))
          .then(function (response) {
            if (response.status === 409) {  // the server has a different offset: trust it
              return locate().then(function (again) { return send(again, retries); });
            }
            if (!response.ok) return refused(response);
            var next = { url: state.url, offset: parseInt(response.headers.get("Upload-Offset"), 10) };
            return send(next, RETRIES);
          }, function () {  // the network failed: ask where the server stands, then go on
            if (retries <= 0) { var error = new Error("network"); error.code = "network"; throw error; }
            return wait(1000 * (RETRIES - retries + 1)).then(locate).then(function (again) {
              return send(again, retries - 1);
            });
          });
      }

      button.disabled = true;
      bar.hidden = false;
      say("uploading", "busy");
      locate()
        .then(function (state) { return send(state, RETRIES); })
        .then(function () {
          localStorage.removeItem(key);
          say("done", "done");
          form.reset();
        })
        .catch(function (error) {
          var code = error && error.code ? error.code : "network";
          if (code !== "network") localStorage.removeItem(key);
          say(code, "error");
        })
        .then(function () { button.disabled = false; });
    });
  });
})();
