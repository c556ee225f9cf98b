// The agent's presence: changing the menu saves it at once; while the console is open it is
// renewed every 30 s, so closing the console lets it lapse (the server then counts the agent
// as offline and routes nothing to them).
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
      }
    }).catch(function () { /* the next beat tries again */ });
  }

  select.addEventListener("change", send);
  setInterval(send, 30000);
  if (select.value !== "offline") send();  // opening the console renews the last choice
})();
