// Remember the viewer's time zone so the server can show dates in it.
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("rd_tz=" + tz) === -1) {
      document.cookie = "rd_tz=" + tz + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* older browsers: the server falls back to the market's zone */ }
})();
