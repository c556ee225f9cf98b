// The video call page: WebRTC between the browsers of one call (each to each), signalled over
// the app's WebSocket. The page is inlined in the call page's <head> (web/pages/rendering.py,
// `inline_script`) so that the camera and the signalling socket start while the rest of the
// page loads: the person sees their own camera in the waiting room, and the others in the call
// connect to this page at once (`?lobby=1`), with nothing sent from here until Join is pressed
// (its senders carry no track; web/call_signals.py keeps the waiting seat out of the call's
// record and of the agent's tools). Join then only puts the camera on the ready connections.
// Whoever is in the call first offers to whoever arrives; perfect negotiation (MDN) on every
// pair, so either side may renegotiate later (ICE restart after a network change) without
// glare. The agent's tools ask the buyer's phone to switch cameras, turn the torch on, take a
// full-resolution still and show a pointer; recording (only after the buyer said yes) has each
// side send its own camera and microphone as live evidence.
// window.returndeskCall holds timings (first frames, marks) for tests and benchmarks.
(function () {
  "use strict";
  var cfg = window.returndeskCallConfig;
  if (!cfg) return;
  var M = cfg.messages, B = cfg.buttons;
  var api = "/api/v1/calls/" + cfg.call_id;
  var role = cfg.role;
  var root, statusEl, noticeEl, joinBtn, stage, remotes, localVideo, pointerEl, qualityEl;
  var hangBtn, muteBtn, consentBox, consentState, withdrawBtn, recordingEl, tools, toolStatus;
  function $(id) { return root.querySelector('[data-testid="' + id + '"]'); }

  var ws = null, me = null, iceServers = [], icePolicy = "all";
  var people = {};   // seat id -> {id, role, name, state: "lobby" | "joined"}
  var peers = {};    // seat id -> peer state (one RTCPeerConnection)
  var localStream = null, cameraTrack = null, facing = "user", sharing = null;
  var consent = cfg.consent, recording = null, wantRecording = false;
  var ended = false, retries = 0, stills = 0, mediaReady = null;
  var joined = false;     // the person pressed Join: the camera goes out, tools act
  var waitingConn = false;  // this socket connected before Join and has not said it joined
  var timing = window.returndeskCall = { firstFrame: {}, marks: {} };
  function mark(name) { if (!timing.marks[name]) timing.marks[name] = performance.now(); }
  var pageReady = new Promise(function (done) {
    if (document.readyState !== "loading") done();
    else document.addEventListener("DOMContentLoaded", function () { done(); });
  });
  function later(fn) { return pageReady.then(fn); }  // once the page's elements exist

  function say(key, state) {
    statusEl.textContent = M[key] || M.generic;
    statusEl.setAttribute("data-code", key);
    if (state) root.setAttribute("data-state", state);
  }
  function notice(key) {
    later(function () {
      noticeEl.hidden = !key;
      noticeEl.textContent = key ? (M[key] || M.generic) : "";
      noticeEl.setAttribute("data-code", key || "");
    });
  }
  function tool(key) { if (toolStatus) { toolStatus.textContent = M[key] || M.generic; toolStatus.setAttribute("data-code", key); } }
  function request(method, path, body, type, headers) {
    var h = { "X-Call-Token": cfg.token };
    if (type) h["Content-Type"] = type;
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(api + path, { method: method, headers: h, body: body }).then(function (r) {
      if (r.ok) return r.json();
      return r.json().catch(function () { return {}; }).then(function (p) {
        var e = new Error(p.code || "generic"); e.code = p.code || "generic"; e.status = r.status; throw e;
      });
    });
  }
  function send(message) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(message)); }

  // --- local media: camera and microphone, else sound only, else receive only ---
  // The call carries at most 960x720 (quick to encode, light on a phone's network); stills
  // are taken from the camera itself, at its own full resolution (takeStill).
  function video(face) {
    return { facingMode: face, width: { ideal: 640, max: 960 }, height: { ideal: 480, max: 720 } };
  }
  function getCamera(face) {
    var back = face === "environment";
    return navigator.mediaDevices.getUserMedia({ video: video(back ? { exact: face } : face), audio: false })
      .catch(function (error) {
        if (!back || error.name === "NotAllowedError") throw error;
        return navigator.mediaDevices.getUserMedia({ video: video({ ideal: face }), audio: false });
      });
  }
  function useStream(stream) {
    localStream = stream;
    cameraTrack = stream.getVideoTracks()[0] || null;
    later(function () { localVideo.srcObject = stream; });
    return stream;
  }
  // Camera and microphone in one request (the usual case, and the fastest); when that fails,
  // each alone, so that a blocked or missing camera still leaves the call with sound.
  function startMedia() {
    return navigator.mediaDevices.getUserMedia({
      video: video("user"), audio: true
    }).then(useStream, function () {
      var stream = new MediaStream();
      return getCamera(facing).then(function (video) {
        video.getVideoTracks().forEach(function (t) { stream.addTrack(t); });
      }, function (error) {
        var name = error && error.name;
        notice(name === "NotAllowedError" || name === "SecurityError" ? "camera_denied" : "no_camera");
      }).then(function () {
        return navigator.mediaDevices.getUserMedia({ audio: true, video: false }).then(function (audio) {
          audio.getAudioTracks().forEach(function (t) { stream.addTrack(t); });
        }, function () {
          if (!stream.getVideoTracks().length) notice("no_media");
        });
      }).then(function () { return useStream(stream); });
    });
  }
  function liveTransceivers(peer) {
    return peer.pc.getTransceivers().filter(function (t) {
      return !t.stopped && t.currentDirection !== "stopped";
    });
  }
  // What this page sends on each connection: its own tracks once joined, nothing before; and
  // to someone still waiting to join, nothing either, but for the agent's page (whoever is
  // about to join sees the agent at once, as a person entering a room would).
  function attach(peer) {
    var sends = joined && localStream && (peer.person.state !== "lobby" || role === "agent");
    liveTransceivers(peer).forEach(function (t) {
      var kind = t.receiver.track.kind;
      var track = null;
      if (sends) {
        track = kind === "video" ? (sharing ? sharing.track : cameraTrack) : (localStream.getAudioTracks()[0] || null);
      }
      if (t.sender.track !== track) t.sender.replaceTrack(track).catch(function () {});
    });
  }
  function replaceVideo(track) {
    localStream.getVideoTracks().forEach(function (t) { localStream.removeTrack(t); });
    if (track) localStream.addTrack(track);
    localVideo.srcObject = localStream;
    Object.keys(peers).forEach(function (id) { attach(peers[id]); });
  }

  // --- peer connections ---
  function caption(peer) {
    var person = peer.person;
    peer.caption.textContent = person.name + " · " + (cfg.roles[person.role] || person.role) +
      (person.state === "lobby" ? " · " + M.peer_lobby : "");
    peer.figure.setAttribute("data-state", person.state || "joined");
  }
  function view(person) {
    var figure = document.createElement("figure");
    figure.className = "call-remote";
    var video = document.createElement("video");
    video.autoplay = true; video.playsInline = true;
    video.muted = !joined;  // heard once this person joins (and may play sound)
    video.setAttribute("data-testid", "remote-video");
    video.setAttribute("data-peer-role", person.role);
    video.setAttribute("data-peer-id", person.id);
    var text = document.createElement("figcaption");
    figure.appendChild(video); figure.appendChild(text);
    later(function () { if (!figure.dropped) remotes.appendChild(figure); });
    if (role === "agent" && person.role === "buyer") {
      video.addEventListener("click", function (event) {
        if (!joined || person.state === "lobby") return;
        var box = video.getBoundingClientRect();
        var x = (event.clientX - box.left) / box.width, y = (event.clientY - box.top) / box.height;
        send({ type: "control", action: "pointer", to: person.id, x: x, y: y });
      });
    }
    return { figure: figure, video: video, caption: text };
  }
  function watchFirstFrame(peer) {
    var video = peer.video;
    var seen = function () {
      if (timing.firstFrame[peer.person.id]) return;
      timing.firstFrame[peer.person.id] = performance.timeOrigin + performance.now();
      mark("frame");
      video.setAttribute("data-first-frame", "yes");
    };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(seen);
    else video.addEventListener("playing", seen, { once: true });
  }
  function connect(person, offer) {
    if (peers[person.id]) return peers[person.id];
    var pc = new RTCPeerConnection({ iceServers: iceServers, iceTransportPolicy: icePolicy });
    var shown = view(person);
    var peer = { pc: pc, person: person, polite: me.id > person.id, makingOffer: false,
                 ignoreOffer: false, queue: Promise.resolve(), video: shown.video,
                 figure: shown.figure, caption: shown.caption, stream: new MediaStream(),
                 last: null, downSince: 0 };
    peers[person.id] = peer;
    caption(peer);
    peer.video.srcObject = peer.stream;
    watchFirstFrame(peer);
    pc.ontrack = function (event) {
      peer.stream.addTrack(event.track);
      peer.video.play().catch(function () {});
    };
    pc.onicecandidate = function (event) {
      send({ type: "signal", to: person.id, data: { candidate: event.candidate } });
    };
    pc.onnegotiationneeded = function () {
      peer.makingOffer = true;
      pc.setLocalDescription().then(function () {
        mark("sent_" + pc.localDescription.type);
        send({ type: "signal", to: person.id, data: { description: pc.localDescription } });
      }).catch(function () {}).then(function () { peer.makingOffer = false; });
    };
    pc.oniceconnectionstatechange = function () {
      mark("ice_" + pc.iceConnectionState);
      if (pc.iceConnectionState === "failed") pc.restartIce();
      showState();
    };
    pc.onconnectionstatechange = function () {
      peer.figure.setAttribute("data-connection", pc.connectionState);  // for automation
      showState();
    };
    if (offer) {
      // Sound and picture both ways from the start, whatever this side has yet: Join (or a
      // camera found later) only puts tracks on these senders, with no new negotiation.
      pc.addTransceiver("audio", { direction: "sendrecv" });
      pc.addTransceiver("video", { direction: "sendrecv" });
      attach(peer);
    }
    return peer;
  }
  function onSignal(from, data) {
    var person = people[from];
    if (!person || !data) return;
    var peer = peers[from] || connect(person, false);
    var pc = peer.pc;
    peer.queue = peer.queue.then(function () {
      if (data.description) {
        var description = data.description;
        var collision = description.type === "offer" &&
          (peer.makingOffer || pc.signalingState !== "stable");
        peer.ignoreOffer = !peer.polite && collision;
        if (peer.ignoreOffer) return;
        mark("got_" + description.type);
        return pc.setRemoteDescription(description).then(function () {
          if (description.type !== "offer") return;
          liveTransceivers(peer).forEach(function (t) {
            if (t.direction === "recvonly") t.direction = "sendrecv";
          });
          attach(peer);
          return pc.setLocalDescription().then(function () {
            send({ type: "signal", to: from, data: { description: pc.localDescription } });
          });
        });
      }
      if (data.candidate !== undefined) {
        return pc.addIceCandidate(data.candidate || null).catch(function (error) {
          if (!peer.ignoreOffer) throw error;
        });
      }
    }).catch(function () {});
  }
  function drop(id) {
    var peer = peers[id];
    if (!peer) return;
    peer.pc.close();
    peer.figure.dropped = true;
    peer.figure.remove();
    delete peers[id];
    delete timing.firstFrame[id];
    showState();
  }
  function showState() { later(showStateNow); }
  function showStateNow() {
    if (ended || !joined) return;
    var ids = Object.keys(peers).filter(function (id) { return peers[id].person.state !== "lobby"; });
    if (!ids.length) {
      say(role === "buyer" ? "waiting_agent" : role === "agent" ? "waiting_buyer" : "waiting_others", "waiting");
      return;
    }
    var states = ids.map(function (id) { return peers[id].pc.connectionState; });
    if (states.indexOf("connected") >= 0) say("connected", "connected");
    else if (states.some(function (s) { return s === "disconnected" || s === "failed"; })) say("reconnecting", "reconnecting");
    else say("connecting", "connecting");
  }

  // --- connection quality from getStats: round trip, loss, bitrate ---
  function measure() {
    Object.keys(peers).forEach(function (id) {
      var peer = peers[id];
      peer.pc.getStats().then(function (report) {
        var pair = null, rtt = null, lost = 0, received = 0, bytes = 0, local = null;
        report.forEach(function (s) {
          if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
        });
        if (!pair) report.forEach(function (s) { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
        if (pair) {
          rtt = pair.currentRoundTripTime;
          local = report.get(pair.localCandidateId);
        }
        report.forEach(function (s) {
          if (s.type === "inbound-rtp") { lost += s.packetsLost || 0; received += s.packetsReceived || 0; bytes += s.bytesReceived || 0; }
        });
        var now = performance.now(), kbps = null, loss = null;
        if (peer.last) {
          var dt = (now - peer.last.at) / 1000;
          kbps = dt > 0 ? Math.max(0, (bytes - peer.last.bytes) * 8 / 1000 / dt) : null;
          var dl = lost - peer.last.lost, dr = received - peer.last.received;
          loss = dl + dr > 0 ? Math.max(0, dl) / (dl + dr) : 0;
        }
        peer.last = { at: now, bytes: bytes, lost: lost, received: received };
        peer.quality = { rtt: rtt, loss: loss, kbps: kbps, route: local ? local.candidateType : null };
        showQuality();
      }).catch(function () {});
    });
  }
  function showQuality() {
    var worst = null;
    Object.keys(peers).forEach(function (id) {
      var q = peers[id].quality;
      if (!q || q.rtt == null) return;
      var level = (q.rtt < 0.3 && (q.loss || 0) < 0.02) ? "good" : (q.rtt < 0.6 && (q.loss || 0) < 0.08) ? "fair" : "poor";
      var rank = { good: 0, fair: 1, poor: 2 }[level];
      if (!worst || rank > worst.rank) worst = { rank: rank, level: level, q: q };
    });
    if (!worst) return;
    var q = worst.q;
    qualityEl.setAttribute("data-level", worst.level);
    qualityEl.setAttribute("data-rtt-ms", Math.round(q.rtt * 1000));
    qualityEl.setAttribute("data-route", q.route || "");
    qualityEl.textContent = M["quality_" + worst.level] + " · " + Math.round(q.rtt * 1000) + " ms" +
      (q.loss != null ? " · " + (q.loss * 100).toFixed(1) + " %" : "") +
      (q.kbps != null ? " · " + Math.round(q.kbps) + " kbit/s" : "");
  }

  // --- signalling ---
  function open() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    mark("ws_start");
    waitingConn = !joined;  // after Join (a reconnect) the socket joins as it connects
    ws = new WebSocket(scheme + location.host + "/calls/" + cfg.call_id + "/signal?token=" +
                       encodeURIComponent(cfg.token) + (waitingConn ? "&lobby=1" : ""));
    ws.onopen = function () { mark("ws_open"); };
    me = null;
    var early = [];  // what comes before this socket's welcome waits for it
    ws.onmessage = function (event) {
      var m;
      try { m = JSON.parse(event.data); } catch (e) { return; }
      if (!me && m.type !== "welcome" && m.type !== "error") { early.push(m); return; }
      receive(m);
      if (m.type === "welcome") early.splice(0).forEach(receive);
    };
    ws.onclose = function (event) {
      later(function () {
        if (ended) return;
        if (event.code === 4410) return finish("ended");
        if (event.code === 4401 || event.code === 4409) return finish(event.code === 4409 ? "left" : "invalid_join_token");
        retries += 1;
        if (joined) say("reconnecting", "reconnecting");
        setTimeout(open, Math.min(1000 * retries, 5000));
      });
    };
  }
  // The call's connections at once (the media path does not wait for the page to load); what
  // the page says about it once its elements exist, in order.
  function receive(m) {
    connection(m);
    later(function () { handle(m); });
  }
  function sayJoined() {
    if (joined && waitingConn && me) {
      waitingConn = false;
      send({ type: "join" });
    }
  }
  function connection(m) {
    if (m.type === "welcome") {
      mark("welcome");
      retries = 0;
      me = m.you; iceServers = m.ice_servers || []; icePolicy = m.ice_policy || "all";
      Object.keys(peers).forEach(drop);  // a reconnect: start every pair again
      people = {};
      m.peers.forEach(function (p) {  // they offer to the newcomer: be ready for it
        people[p.id] = p;
        connect(p, false);
      });
      waitingConn = !!m.lobby;
      sayJoined();
    } else if (m.type === "peer_joined") {
      mark("peer_joined");
      // Whoever is already in the call offers to the one who arrives: its offer is ready
      // while the newcomer's page is still loading.
      people[m.peer.id] = m.peer;
      drop(m.peer.id);
      connect(m.peer, true);
    } else if (m.type === "peer_ready") {
      var person = people[m.id];
      if (person) person.state = "joined";
      if (peers[m.id]) { caption(peers[m.id]); attach(peers[m.id]); }
    } else if (m.type === "peer_left") {
      drop(m.id);
    } else if (m.type === "signal") {
      onSignal(m.from, m.data);
    }
  }
  function handle(m) {
    if (m.type === "welcome") {
      setConsent(m.consent);
      if (m.recording && !m.lobby) setRecording(true);  // a waiting page hears at "joined"
      showState();
    } else if (m.type === "joined") {
      setRecording(!!m.recording);  // as it is now: it may have changed while this page waited
    } else if (m.type === "peer_joined" || m.type === "peer_ready") {
      showState();
    } else if (m.type === "control") {
      control(m);
    } else if (m.type === "consent") {
      setConsent(m.answer);
    } else if (m.type === "still") {
      stills += 1;
      var count = $("still-count");
      if (count) { count.setAttribute("data-count", String(stills)); count.textContent = M.still_saved + " (" + stills + ")"; }
      if (role === "agent") tool("still_saved");
      if (role === "buyer") notice("still_taken");
    } else if (m.type === "ended") {
      finish("ended");
    } else if (m.type === "error") {
      if (m.code === "invalid_join_token" || m.code === "call_ended" || m.code === "call_expired" || m.code === "call_full") finish(m.code);
      else if (role === "agent") tool(m.code);
    }
  }

  // --- the agent's requests, carried out on the buyer's phone ---
  function control(m) {
    if (!joined) return;  // the server sends none before Join; never act on one anyway
    if (m.action === "record") return setRecording(!!m.on);
    if (role === "buyer") {
      if (m.action === "camera") return switchCamera(m.facing === "environment" ? "environment" : "user");
      if (m.action === "torch") return torch(!!m.on);
      if (m.action === "still") return takeStill(m.from);
      if (m.action === "pointer") return point(m.x, m.y);
    }
    if (role === "agent") {
      if (m.action === "camera_state") tool(m.ok ? "camera_switched" : "camera_unavailable");
      if (m.action === "torch_state") tool(!m.supported ? "torch_unsupported" : m.on ? "torch_on" : "torch_off");
      if (m.action === "still_failed") stillFromView();
    }
  }
  function switchCamera(face) {
    notice("camera_switched");
    getCamera(face).then(function (stream) {
      var track = stream.getVideoTracks()[0];
      if (cameraTrack) cameraTrack.stop();
      cameraTrack = track; facing = face;
      replaceVideo(track);
      send({ type: "control", action: "camera_state", ok: true, facing: face });
    }, function () {
      send({ type: "control", action: "camera_state", ok: false, facing: face });
    });
  }
  function torch(on) {
    var caps = cameraTrack && cameraTrack.getCapabilities ? cameraTrack.getCapabilities() : {};
    if (!caps.torch) return send({ type: "control", action: "torch_state", supported: false });
    cameraTrack.applyConstraints({ advanced: [{ torch: on }] }).then(function () {
      send({ type: "control", action: "torch_state", supported: true, on: on });
    }, function () { send({ type: "control", action: "torch_state", supported: false }); });
  }
  function frameBlob(video) {
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    return new Promise(function (done) { canvas.toBlob(done, "image/jpeg", 0.92); });
  }
  function takeStill(from) {
    // The camera's own full resolution: ImageCapture where the browser has it, else the frame.
    var capture = (cameraTrack && window.ImageCapture) ? new ImageCapture(cameraTrack) : null;
    var shot = capture ? capture.takePhoto().catch(function () { return frameBlob(localVideo); }) : frameBlob(localVideo);
    shot.then(function (blob) {
      if (!blob || !blob.size) throw new Error("empty");
      return request("POST", "/stills", blob, blob.type || "image/jpeg", { "X-Requested-By": from || "" });
    }).catch(function () {
      send({ type: "control", action: "still_failed", to: from });
    });
  }
  function stillFromView() {
    var buyer = Object.keys(peers).map(function (id) { return peers[id]; }).filter(function (p) { return p.person.role === "buyer"; })[0];
    if (!buyer || !buyer.video.videoWidth) return tool("still_failed");
    frameBlob(buyer.video).then(function (blob) { return request("POST", "/stills", blob, "image/jpeg"); })
      .catch(function () { tool("still_failed"); });
  }
  function point(x, y) {
    if (typeof x !== "number" || typeof y !== "number") return;
    pointerEl.style.left = (Math.min(Math.max(x, 0), 1) * 100) + "%";
    pointerEl.style.top = (Math.min(Math.max(y, 0), 1) * 100) + "%";
    pointerEl.hidden = false;
    clearTimeout(point.timer);
    point.timer = setTimeout(function () { pointerEl.hidden = true; }, 4000);
  }

  // --- consent and recording (each side records its own camera and microphone) ---
  function setConsent(answer) {
    consent = answer;
    var key = answer === "granted" ? "consent_granted" : answer === "declined" ? "consent_declined" : "consent_waiting";
    // The buyer is asked the question itself; "not answered yet" is for the others.
    consentState.textContent = role === "buyer" && !answer ? "" : M[key];
    consentState.setAttribute("data-consent", answer || "none");
    if (consentBox) consentBox.hidden = !!answer || !me || !joined;
    if (withdrawBtn) withdrawBtn.hidden = answer !== "granted";
    var recordBtn = $("record-call");
    if (recordBtn) recordBtn.disabled = answer !== "granted";
    if (answer !== "granted") setRecording(false);
  }
  function answer(value) {
    request("POST", "/consent", JSON.stringify({ answer: value }), "application/json")
      .then(function (call) { setConsent(call.consent); })
      .catch(function (error) { notice(error.code); });
  }
  function pickType() {
    var types = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp8", "video/webm", "video/mp4"];
    for (var i = 0; i < types.length; i++) if (window.MediaRecorder && MediaRecorder.isTypeSupported(types[i])) return types[i];
    return "";
  }
  function setRecording(on) {
    wantRecording = on && consent === "granted";
    recordingEl.hidden = !wantRecording;
    var recordBtn = $("record-call");
    if (recordBtn) recordBtn.textContent = wantRecording ? B.stop_record : B.record;
    if (wantRecording && !recording && joined && localStream && role !== "guest") startRecording();
    if (!wantRecording && recording) stopRecording();
  }
  function startRecording() {
    var type = pickType();
    if (!type || !localStream || !localStream.getTracks().length) return;
    var rec = recording = { seq: 0, sent: Promise.resolve(), failed: null, id: null, recorder: null, done: null };
    rec.done = request("POST", "/recordings", JSON.stringify({ mime_type: type, timeslice_ms: 1000 }), "application/json")
      .then(function (created) {
        rec.id = created.id;
        if (recording !== rec) return;
        rec.recorder = new MediaRecorder(localStream, { mimeType: type });
        rec.recorder.ondataavailable = function (event) {
          if (!event.data || !event.data.size) return;
          var number = rec.seq++, blob = event.data;
          rec.sent = rec.sent.then(function () {
            if (rec.failed) return;
            var attempt = function (left) {
              return request("PUT", "/recordings/" + rec.id + "/chunks/" + number, blob, "application/octet-stream")
                .catch(function (error) {
                  if (left <= 0 || (error.status && error.status < 500)) throw error;
                  return new Promise(function (d) { setTimeout(d, 1000); }).then(function () { return attempt(left - 1); });
                });
            };
            return attempt(5).catch(function (error) { rec.failed = error; });
          });
        };
        rec.stopped = new Promise(function (done) { rec.recorder.onstop = done; });
        rec.recorder.start(1000);
      }).catch(function (error) { if (role === "agent") tool(error.code); recording = null; });
  }
  function stopRecording() {
    var rec = recording;
    recording = null;
    if (!rec) return Promise.resolve();
    return rec.done.then(function () {
      if (!rec.recorder) return;
      if (rec.recorder.state !== "inactive") rec.recorder.stop();
      return rec.stopped.then(function () { return rec.sent; }).then(function () {
        if (rec.failed || !rec.seq) throw rec.failed || new Error("empty");
        return request("POST", "/recordings/" + rec.id + "/finish");
      }).then(function () { if (role === "agent") tool("recording_saved"); },
              function () { if (role === "agent") tool("recording_failed"); });
    });
  }

  // --- sharing the agent's screen or a product video instead of the camera ---
  function share(track, what) {
    if (sharing) sharing.stop();
    what.track = track;
    sharing = what;
    replaceVideo(track);
    $("stop-sharing").hidden = false;
    send({ type: "control", action: "sharing", on: true });
    track.addEventListener("ended", stopSharing);
  }
  function stopSharing() {
    if (!sharing) return;
    var what = sharing; sharing = null;
    what.stop();
    replaceVideo(cameraTrack);
    $("stop-sharing").hidden = true;
    send({ type: "control", action: "sharing", on: false });
  }

  // --- the end ---
  function finish(key) {
    if (ended) return;
    ended = true;
    var saved = stopRecording();
    Object.keys(peers).forEach(drop);
    saved.then(function () { if (localStream) localStream.getTracks().forEach(function (t) { t.stop(); }); });
    if (sharing) sharing.stop();
    stage.hidden = true;
    hangBtn.hidden = true; muteBtn.hidden = true;
    if (tools) tools.hidden = true;
    if (consentBox) consentBox.hidden = true;
    var done = $("call-ended");
    done.hidden = false;
    done.textContent = M[key] || M.ended;
    done.setAttribute("data-code", key);
    say(key, "ended");
    if (ws && ws.readyState <= 1) ws.close(1000);
  }

  // --- start: the camera and the socket at once, the page's buttons when it is parsed ---
  var supported = !!(window.RTCPeerConnection && navigator.mediaDevices && window.WebSocket);
  if (supported) {  // the camera first (the slowest to start), then the socket
    mediaReady = startMedia().then(function (stream) {
      mark("media");
      later(function () {
        stage.hidden = false;  // the waiting room shows the person their own camera
        if (joined) enter();
      });
      return stream;
    });
    open();
  }
  function enter() {  // after Join, once the camera is on
    muteBtn.hidden = !localStream.getAudioTracks().length;
    if (tools) tools.hidden = false;  // sharing and stills work on the camera's stream
    Object.keys(peers).forEach(function (id) { attach(peers[id]); });
    setRecording(wantRecording);
  }
  pageReady.then(bindPage);

  function bindPage() {
    root = document.querySelector("[data-call]");
    statusEl = $("call-status"); noticeEl = $("media-notice"); joinBtn = $("join-call");
    stage = $("call-stage"); remotes = $("remotes"); localVideo = $("local-video");
    pointerEl = $("pointer"); qualityEl = $("call-quality"); hangBtn = $("hang-up");
    muteBtn = $("mute"); consentBox = $("consent"); consentState = $("consent-state");
    withdrawBtn = $("consent-withdraw"); recordingEl = $("recording-state");
    tools = $("call-tools"); toolStatus = $("tool-status");
    if (!supported) {
      joinBtn.disabled = true;
      say("unsupported", "error");
      return;
    }
    joinBtn.disabled = false;  // disabled in the page until this script is ready: no lost click
    joinBtn.addEventListener("click", function () {
      if (joined || ended) return;
      joined = true;
      mark("click");
      joinBtn.disabled = true;
      joinBtn.hidden = true;
      say("joining", "joining");
      stage.hidden = false;
      remotes.hidden = false;
      hangBtn.hidden = false;
      sayJoined();
      Object.keys(peers).forEach(function (id) {  // heard and seen from now on
        peers[id].video.muted = false;
        peers[id].video.play().catch(function () {});
      });
      if (localStream) enter();
      setConsent(consent);
      setInterval(measure, 2000);
      showState();
    });
    hangBtn.addEventListener("click", function () {
      if (ws && ws.readyState === 1) send({ type: "hang_up" });
      else request("POST", "/hang-up", "{}", "application/json").catch(function () {});
      finish(role === "agent" ? "ended" : "left");
    });
    muteBtn.addEventListener("click", function () {
      var tracks = localStream.getAudioTracks();
      var muted = tracks.length && !tracks[0].enabled;
      tracks.forEach(function (t) { t.enabled = muted; });
      muteBtn.textContent = muted ? B.mute : B.unmute;
      muteBtn.setAttribute("aria-pressed", muted ? "false" : "true");
    });
    if (consentBox) {
      $("consent-yes").addEventListener("click", function () { answer("granted"); });
      $("consent-no").addEventListener("click", function () { answer("declined"); });
      withdrawBtn.addEventListener("click", function () { answer("declined"); });
    }
    if (tools) {
      var buyerId = function () {
        return Object.keys(people).filter(function (id) {  // a buyer who pressed Join
          return people[id].role === "buyer" && people[id].state !== "lobby";
        })[0];
      };
      var wantBack = true, torchOn = false;
      $("switch-camera").addEventListener("click", function () {
        send({ type: "control", action: "camera", to: buyerId(), facing: wantBack ? "environment" : "user" });
        wantBack = !wantBack;
      });
      $("torch").addEventListener("click", function () {
        torchOn = !torchOn;
        send({ type: "control", action: "torch", to: buyerId(), on: torchOn });
      });
      $("take-still").addEventListener("click", function () {
        var id = buyerId();
        if (!id || !peers[id]) return tool("still_failed");
        send({ type: "control", action: "still", to: id });
      });
      $("record-call").addEventListener("click", function () {
        var on = !wantRecording;
        send({ type: "control", action: "record", on: on });
        setRecording(on);
      });
      $("share-screen").addEventListener("click", function () {
        if (!navigator.mediaDevices.getDisplayMedia) return tool("generic");
        navigator.mediaDevices.getDisplayMedia({ video: true }).then(function (stream) {
          var track = stream.getVideoTracks()[0];
          share(track, { stop: function () { track.stop(); } });
        }, function () {});
      });
      $("share-video").addEventListener("change", function (event) {
        var file = event.target.files && event.target.files[0];
        if (!file) return;
        var player = document.createElement("video");
        player.src = URL.createObjectURL(file); player.muted = true; player.loop = true; player.playsInline = true;
        player.play().then(function () {
          var track = (player.captureStream ? player.captureStream() : player.mozCaptureStream()).getVideoTracks()[0];
          share(track, { stop: function () { player.pause(); URL.revokeObjectURL(player.src); } });
        }, function () { tool("generic"); });
      });
      $("stop-sharing").addEventListener("click", stopSharing);
    }
    window.addEventListener("online", function () {
      Object.keys(peers).forEach(function (id) { peers[id].pc.restartIce(); });
    });
    window.addEventListener("pagehide", function () { if (recording) stopRecording(); });
  }
})();
