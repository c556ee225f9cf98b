// The agent's presence: changing the menu saves it at once; while the console is open it is
// renewed every 30 s, so closing the console lets it lapse (the server then counts the agent
// as offline and routes nothing to them). Each renewal's answer carries how many of their
// notifications are unread: the header's count follows it.
(function () {
  "use strict";
  var form = document.querySelector('[data-testid="presence-form"]');
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var select = form.querySelector("select");

  function send() {
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (response.ok) {
        select.setAttribute("data-current", select.value);
        form.setAttribute("data-saved", String(Date.now()));
        return response.json().then(showUnread);
      }
    }).catch(function () { /* the next beat tries again */ });
  }

  function showUnread(body) {
    var count = document.querySelector('[data-testid="notifications-unread-count"]');
    if (!count || !body || typeof body.unread_notifications !== "number") return;
    count.textContent = String(body.unread_notifications);
    count.hidden = body.unread_notifications === 0;
  }

  select.addEventListener("change", send);
  setInterval(send, 30000);
  if (select.value !== "offline") send();  // opening the console renews the last choice
})();
