// The store-site chat widget: a button that opens the portal's chat in a frame.
(function () {
  var me = document.currentScript;
  var base = {{ base|tojson }};
  try { if (me && me.src) base = new URL(me.src).origin; } catch (e) { /* keep the setting */ }
  var lang = (me && me.getAttribute("data-lang")) || document.documentElement.lang || "en";
  var labels = {{ labels|tojson }};
  var label = (me && me.getAttribute("data-label")) || labels[lang] ||
    labels[lang.split("-")[0]] || labels.en;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("data-testid", "returndesk-widget-button");
  button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483000;" +
    "padding:12px 18px;border-radius:24px;border:0;background:#1f4fd1;color:#fff;" +
    "font:600 15px system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      var store = (me && me.getAttribute("data-store")) || "";
      frame.src = base + "/portal/chat?embed=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "") +
        (store ? "&store=" + encodeURIComponent(store) : "");
      frame.title = label;
      frame.setAttribute("data-testid", "returndesk-widget-frame");
      frame.style.cssText = "position:fixed;right:20px;bottom:76px;width:370px;height:520px;" +
        "max-width:calc(100vw - 40px);max-height:calc(100vh - 100px);border:1px solid #ccd;" +
        "border-radius:12px;background:#fff;z-index:2147483000;box-shadow:0 4px 20px rgba(0,0,0,.2)";
      document.body.appendChild(frame);
    } else {
      frame.style.display = frame.style.display === "none" ? "" : "none";
    }
  });
  document.body.appendChild(button);
})();
