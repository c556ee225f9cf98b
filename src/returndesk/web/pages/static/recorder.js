// Live video evidence from the case page: the camera (the back one on phones), recorded with
// MediaRecorder in one-second chunks, each sent to the server while recording, so the server
// can attest the video was made live. Failed chunks are sent again (the server accepts a
// repeat); the recording is finished once every chunk has arrived.
(function () {
  "use strict";
  var TIMESLICE = 1000;

  document.querySelectorAll("[data-evidence-recorder]").forEach(function (box) {
    var messages = JSON.parse(box.querySelector("script[type='application/json']").textContent);
    var base = box.dataset.endpoint;
    var csrf = box.dataset.csrf;
    var preview = box.querySelector("video");
    var start = box.querySelector("[data-testid=record-start]");
    var stop = box.querySelector("[data-testid=record-stop]");
    var status = box.querySelector("[data-testid=record-status]");
    var elapsed = box.querySelector("[data-testid=record-elapsed]");

    function say(key, state) {
      status.textContent = messages[key] || messages.generic;
      status.setAttribute("data-state", state);
      status.setAttribute("data-code", key);
    }
    function call(url, method, body, type) {
      var headers = { "X-CSRF-Token": csrf };
      if (type) headers["Content-Type"] = type;
      return fetch(url, { method: method, credentials: "same-origin", headers: headers, body: body })
        .then(function (response) {
          if (response.ok) return response.json();
          return response.json().catch(function () { return {}; }).then(function (problem) {
            var error = new Error(problem.code || "generic");
            error.code = problem.code || "generic";
            error.status = response.status;
            throw error;
          });
        });
    }
    function pickType() {
      var types = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp8", "video/webm", "video/mp4"];
      for (var i = 0; i < types.length; i++) {
        if (window.MediaRecorder && MediaRecorder.isTypeSupported(types[i])) return types[i];
      }
      return "";
    }

    if (!navigator.mediaDevices || !window.MediaRecorder || !pickType()) {
      start.disabled = true;
      say("unsupported", "error");
      return;
    }

    start.disabled = false;  // the page's button waits for this script: no click is lost
    start.addEventListener("click", function () {
      var type = pickType();
      var sent = Promise.resolve();
      var seq = 0;
      var failed = null;
      var began = 0;
      var timer = null;
      var recording = null;
      var stream = null;

      var recorder = null;
      // A chunk is tried for about half a minute (1, 2, 4, 5, 5… s apart) while the camera goes
      // on; if the connection stays away, the recording stops at once and says why.
      function send(blob, number) {
        var attempt = function (left, delay) {
          return call(base + "/" + recording.id + "/chunks/" + number, "PUT", blob,
            "application/octet-stream")
            .catch(function (error) {
              if (left <= 0 || (error.status && error.status < 500)) throw error;
              return new Promise(function (done) { setTimeout(done, delay); })
                .then(function () { return attempt(left - 1, Math.min(delay * 2, 5000)); });
            });
        };
        sent = sent.then(function () { if (!failed) return attempt(8, 1000); })
          .catch(function (error) {
            if (!error.code) { error.code = "network"; }
            failed = error;
            if (recorder && recorder.state !== "inactive") recorder.stop();
          });
      }

      start.disabled = true;
      say("starting", "busy");
      navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: true })
        .catch(function () { return navigator.mediaDevices.getUserMedia({ video: true }); })
        .then(function (media) {
          stream = media;
          preview.srcObject = stream;
          preview.hidden = false;
          return call(base, "POST", JSON.stringify({ mime_type: type, timeslice_ms: TIMESLICE }),
            "application/json");
        })
        .then(function (created) {
          recording = created;
          recorder = new MediaRecorder(stream, { mimeType: type });
          recorder.ondataavailable = function (event) {
            if (event.data && event.data.size) send(event.data, seq++);
          };
          recorder.onstop = function () {
            clearInterval(timer);
            stream.getTracks().forEach(function (track) { track.stop(); });
            preview.hidden = true;
            say("finishing", "busy");
            sent.then(function () {
              if (failed) throw failed;
              return call(base + "/" + recording.id + "/finish", "POST");
            }).then(function (item) {
              say(item.live_attested ? "done_live" : "done", "done");
              status.setAttribute("data-live-attested", item.live_attested ? "yes" : "no");
            }).catch(function (error) {
              say(error.code || "generic", "error");
            }).then(function () { start.disabled = false; });
          };
          stop.onclick = function () { stop.disabled = true; if (recorder.state !== "inactive") recorder.stop(); };
          recorder.start(TIMESLICE);
          began = Date.now();
          timer = setInterval(function () {
            elapsed.textContent = Math.round((Date.now() - began) / 1000) + " s";
          }, 500);
          stop.disabled = false;
          say("recording", "recording");
        })
        .catch(function (error) {
          if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
          var name = error && error.name;
          if (name === "NotAllowedError" || name === "SecurityError") say("camera_denied", "error");
          else if (name === "NotFoundError" || name === "OverconstrainedError") say("no_camera", "error");
          else say((error && error.code) || "generic", "error");
          start.disabled = false;
        });
    });
  });
})();
