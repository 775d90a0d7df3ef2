// ward's progressive enhancement: every page works without it.
(function () {
  "use strict";
  // Times on the dashboard in the viewer's own time zone.
  try {
    // Over HTTPS every ward cookie is a __Host- cookie (secure, path /,
    // no domain), and the server reads this one by that name too.
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var secure = location.protocol === "https:";
    var name = (secure ? "__Host-" : "") + "ward_tz=";
    if (tz && (" " + document.cookie + ";").indexOf(" " + name + encodeURIComponent(tz) + ";") < 0) {
      document.cookie = name + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax" +
        (secure ? "; secure" : "");
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
    passkeys();
    waitForApproval();
  });

  // The sign-in page showing an approval number asks, every two seconds,
  // whether the authenticator answered (the "check again" button does the
  // same without JavaScript).
  function waitForApproval() {
    var el = document.querySelector("[data-push-wait]");
    if (!el || !window.fetch) {
      return;
    }
    var polling = !window.EventSource;
    var check = function () {
      fetch("/api/v1/flows/second-step/push/status", { method: "POST", headers: { "Content-Type": "application/json" },
        credentials: "same-origin", body: "{}" })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
        .then(function (res) {
          if (res.ok && res.j.state === "signed_in") {
            location.assign(res.j.review ? "/account?changed=recovery#security" : "/account");
          } else if (res.ok) {
            if (polling) { setTimeout(check, 2000); }
          } else {
            var box = document.getElementById("push-error");
            if (box) { box.textContent = res.j.message; box.hidden = false; }
          }
        })
        .catch(function () { setTimeout(check, 4000); });
    };
    if (polling) {
      setTimeout(check, 1000);
      return;
    }
    // The stream says when the phone answered; the status call then signs
    // in (or says why not). If the stream fails, ask every two seconds.
    var es = new EventSource("/api/v1/flows/second-step/push/events");
    es.addEventListener("state", function (ev) {
      if (ev.data !== "pending") {
        es.close();
        check();
      }
    });
    es.onerror = function () {
      es.close();
      polling = true;
      setTimeout(check, 1000);
    };
  }


  // Passkeys: every button is hidden until the browser shows it can run
  // WebAuthn, and each says what went wrong in the page's language (the
  // server's message, or the button's data-cancelled text when the person
  // cancelled the browser's prompt).
  function passkeys() {
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      return;
    }
    var shown = document.querySelectorAll("[data-passkey]");
    for (var i = 0; i < shown.length; i++) {
      shown[i].hidden = false;
    }
    var errorBox = document.getElementById("passkey-error");
    var fail = function (el, err) {
      var msg = (err && err.message && !(err instanceof DOMException)) ? err.message : el.getAttribute("data-cancelled");
      if (errorBox) {
        errorBox.textContent = msg;
        errorBox.hidden = false;
      }
    };
    var post = function (url, body) {
      return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin", body: JSON.stringify(body || {}) })
        .then(function (r) {
          return r.json().then(function (j) {
            if (!r.ok) {
              if (j.error === "stronger_proof_required" || j.error === "step_up_required") {
                location.assign("/account/step-up");
              }
              throw j;
            }
            return j;
          });
        });
    };
    // run begins a ceremony, asks the browser, and sends its answer.
    var run = function (begin, finish, beginBody, extra, create, signal) {
      return post(begin, beginBody).then(function (c) {
        var p = create
          ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(c.options.publicKey) })
          : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(c.options.publicKey),
            mediation: signal ? "conditional" : undefined, signal: signal });
        return p.then(function (cred) {
          var body = { ceremony: c.ceremony, credential: cred.toJSON() };
          for (var k in extra) { body[k] = extra[k]; }
          return post(finish, body);
        });
      });
    };
    var on = function (id, fn) {
      var el = document.getElementById(id);
      if (el) {
        el.addEventListener(el.tagName === "FORM" ? "submit" : "click", function (ev) {
          ev.preventDefault();
          fn(el).catch(function (err) { fail(el, err); });
        });
      }
      return el;
    };
    // Autofill: the browser offers passkeys in the email field's list.
    var pending = null;
    var email = document.querySelector('input[autocomplete="username webauthn"]');
    if (email && PublicKeyCredential.isConditionalMediationAvailable) {
      email.addEventListener("focus", function () {
        if (pending) { return; }
        PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
          if (!ok || pending) { return; }
          pending = new AbortController();
          run("/api/v1/sign-in/passkey/begin", "/api/v1/sign-in/passkey", {}, {}, false, pending.signal)
            .then(function () { location.assign("/account"); })
            .catch(function () { /* cancelled, or the explicit button took over */ });
        });
      }, { once: false });
    }
    on("passkey-sign-in", function () {
      if (pending) { pending.abort(); }
      return run("/api/v1/sign-in/passkey/begin", "/api/v1/sign-in/passkey", {}, {}, false)
        .then(function () { location.assign("/account"); });
    });
    on("passkey-second-step", function () {
      return run("/api/v1/flows/second-step/passkey/begin", "/api/v1/flows/second-step/passkey", {}, {}, false)
        .then(function (res) { location.assign(res.review ? "/account?changed=recovery#security" : "/account"); });
    });
    on("passkey-step-up", function () {
      return run("/api/v1/account/step-up/passkey/begin", "/api/v1/account/step-up/passkey", {}, {}, false)
        .then(function () { location.assign("/account?changed=confirmed#security"); });
    });
    on("passkey-add", function (form) {
      var name = form.querySelector("input[name=name]");
      return run("/api/v1/account/passkeys/begin", "/api/v1/account/passkeys", {}, { name: name ? name.value : "" }, true)
        .then(function () { location.assign("/account?changed=method#security"); });
    });
  }
})();
