// ward's progressive enhancement: every page works without it.
(function () {
  "use strict";
  // Times on the dashboard in the viewer's own time zone.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("ward_tz=" + tz) < 0) {
      document.cookie = "ward_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax" +
        (location.protocol === "https:" ? "; secure" : "");
    }
  } catch (e) { /* no Intl: the server picks by language */ }

  document.addEventListener("DOMContentLoaded", function () {
    // A pasted code keeps only what can be a digit: full-width digits,
    // spaces and dashes are what people paste. The server accepts them
    // too; this only shows the person what will be checked.
    var code = document.querySelector("input.code");
    if (code) {
      code.addEventListener("paste", function (ev) {
        var text = (ev.clipboardData || window.clipboardData).getData("text") || "";
        var digits = text.replace(/[０-９]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xFEE0); }).replace(/\D/g, "");
        if (digits.length >= 6 && digits.length <= 8) {
          ev.preventDefault();
          code.value = digits;
        }
      });
    }
    // The resend button counts down to when it may be used.
    var resend = document.querySelector("button[data-after]");
    if (resend) {
      var until = Date.parse(resend.getAttribute("data-after"));
      var label = resend.textContent;
      var tick = function () {
        var left = Math.ceil((until - Date.now()) / 1000);
        if (left > 0) {
          resend.disabled = true;
          resend.textContent = label + " (" + left + ")";
          setTimeout(tick, 1000);
        } else {
          resend.disabled = false;
          resend.textContent = label;
        }
      };
      tick();
    }
  });
})();
