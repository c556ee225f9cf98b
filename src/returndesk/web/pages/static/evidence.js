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
        error.status = response.status;
        throw error;
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) return;
      var kind = form.querySelector("select[name=kind]").value;
      var key = ["tus", form.dataset.case, kind, file.name, file.size, file.lastModified].join(":");

      // Errors worth trying again (the connection, or the server restarting) keep the upload;
      // a refusal (4xx with a code) ends it.
      function transient(error) {
        return !error || !error.status || error.status >= 500 || error.status === 429;
      }
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
          if (response.status === 404 || response.status === 410) {  // gone: start anew
            localStorage.removeItem(key);
            return create();
          }
          if (!response.ok) {
            var error = new Error(response.status === 401 ? "unauthenticated" : "network");
            error.code = error.message;
            error.status = response.status;
            throw error;
          }
          return { url: url, offset: parseInt(response.headers.get("Upload-Offset"), 10) };
        });
      }
      function patience(step, retries) {
        return step().catch(function (error) {
          if (retries <= 0 || !transient(error)) throw error;
          return wait(1000 * (RETRIES - retries + 1)).then(function () {
            return patience(function () { return locate().then(function (s) { return send(s); }); },
              retries - 1);
          });
        });
      }
      function send(state) {
        bar.max = file.size;
        bar.value = state.offset;
        if (state.offset >= file.size) return Promise.resolve(state);
        var end = Math.min(state.offset + CHUNK, file.size);
        return call(state.url, "PATCH",
          { "Upload-Offset": String(state.offset), "Content-Type": "application/offset+octet-stream" },
          file.slice(state.offset, end))
          .then(function (response) {
            if (response.status === 409) return locate().then(send);  // trust the server's offset
            if (!response.ok) return refused(response);
            var quality = response.headers.get("X-Evidence-Quality");
            if (quality) state.quality = quality.split(",")[0];
            return send({ url: state.url, offset: parseInt(response.headers.get("Upload-Offset"), 10),
                          quality: state.quality });
          });
      }

      button.disabled = true;
      bar.hidden = false;
      say("uploading", "busy");
      patience(function () { return locate().then(send); }, RETRIES)
        .then(function (state) {
          localStorage.removeItem(key);
          var hint = state && state.quality && messages["quality_" + state.quality];
          say(hint ? "quality_" + state.quality : "done", "done");
          form.reset();
        })
        .catch(function (error) {
          var code = error && error.code ? error.code : "network";
          if (!transient(error) && code !== "unauthenticated") localStorage.removeItem(key);
          say(transient(error) && code !== "unauthenticated" ? "network" : code, "error");
        })
        .then(function () { button.disabled = false; });
    });
  });
})();
