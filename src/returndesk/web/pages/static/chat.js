// The portal's chat with the assistant: sends each message as JSON, shows the reply, and
// while a person from the team has the conversation, polls for their answers.
(function () {
  var box = document.querySelector("[data-testid=chat]");
  if (!box) return;
  var log = box.querySelector("[data-testid=chat-log]");
  var form = box.querySelector("[data-testid=chat-form]");
  var input = box.querySelector("[data-testid=chat-input]");
  var status = box.querySelector("[data-testid=chat-status]");
  var waiting = box.querySelector("[data-testid=chat-waiting]");
  var channel = box.getAttribute("data-channel");
  var storageKey = "rd_chat_" + channel;
  var conversation = null;
  var shown = {};  // seq -> true: messages already on the page
  var polling = null;
  try { conversation = sessionStorage.getItem(storageKey); } catch (e) { conversation = null; }

  function authorName(author) {
    return box.getAttribute("data-" + (author === "buyer" ? "you" : author)) || author;
  }

  function add(author, text, links) {
    var item = document.createElement("li");
    item.className = "chat-message " + author;
    item.setAttribute("data-author", author);
    item.setAttribute("data-testid", "chat-message");
    var who = document.createElement("span");
    who.className = "chat-author";
    who.textContent = authorName(author);
    var body = document.createElement("div");
    body.className = "chat-text";
    body.textContent = text;
    item.appendChild(who);
    item.appendChild(body);
    (links || []).forEach(function (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      a.setAttribute("data-testid", link.testid);
      if (channel === "widget") a.target = "_blank";
      item.appendChild(a);
    });
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function linksFor(actions) {
    var links = [];
    (actions || []).forEach(function (action) {
      if (action.type === "help_article" && action.found) {
        links.push({ href: action.url, text: box.getAttribute("data-read-article"),
                     testid: "chat-help-link" });
      }
      if (action.type === "video_call" && /^https?:\/\//.test(action.url || "")) {
        links.push({ href: action.url, text: box.getAttribute("data-join-call"),
                     testid: "chat-call-link" });
      }
      if (action.type === "open_return" && action.ok && channel === "portal") {
        links.push({ href: "/portal/returns/" + action.case_id,
                     text: box.getAttribute("data-open-case") + " " + action.case_number,
                     testid: "chat-case-link" });
      }
    });
    return links;
  }

  function setWaiting(on) {
    waiting.hidden = !on;
    if (on && !polling) polling = setInterval(poll, 4000);
    if (!on && polling) { clearInterval(polling); polling = null; }
  }

  function poll() {
    if (!conversation) return;
    fetch("/portal/chat/conversations/" + encodeURIComponent(conversation),
          { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.messages.forEach(function (m) {
          if (!shown[m.seq]) {
            shown[m.seq] = true;
            add(m.author, m.text, m.author === "buyer" ? [] : linksFor(m.actions));
          }
        });
        setWaiting(data.status === "handed_off");
      })
      .catch(function () { /* try again at the next tick */ });
  }

  function handleReply(result) {
    if (!result.ok) throw new Error(result.data.detail || "error");
    var data = result.data;
    conversation = data.conversation_id;
    try { sessionStorage.setItem(storageKey, conversation); } catch (e) { /* private mode */ }
    shown[data.seq - 1] = true;
    shown[data.seq] = true;
    add("assistant", data.reply, linksFor(data.actions));
    box.setAttribute("data-last-intent", data.intent);
    setWaiting(data.status === "handed_off");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    add("buyer", text);
    input.value = "";
    status.hidden = true;
    var timezone = "";
    try { timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { timezone = ""; }
    var body = { text: text, channel: channel, language: box.getAttribute("data-lang"),
                 timezone: timezone };
    if (conversation) body.conversation_id = conversation;
    if (box.getAttribute("data-store")) body.store = box.getAttribute("data-store");
    fetch("/portal/chat/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (result) { handleReply(result); })
      .catch(function () {
        status.textContent = box.getAttribute("data-error");
        status.hidden = false;
      });
  });

  var photo = box.querySelector("[data-testid=chat-photo]");
  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    if (!file) return;
    add("buyer", "[" + box.getAttribute("data-photo") + ": " + file.name + "]");
    status.hidden = true;
    var query = "filename=" + encodeURIComponent(file.name) +
      "&language=" + encodeURIComponent(box.getAttribute("data-lang"));
    if (conversation) query += "&conversation_id=" + encodeURIComponent(conversation);
    fetch("/portal/chat/photos?" + query, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": file.type || "image/jpeg" },
      body: file
    })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (result) { handleReply(result); })
      .catch(function () {
        status.textContent = box.getAttribute("data-error");
        status.hidden = false;
      })
      .then(function () { photo.value = ""; });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  if (conversation) poll();
})();
