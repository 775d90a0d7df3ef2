// ward Authenticator: pairs this device (a P-256 key made by WebCrypto,
// not extractable, kept in IndexedDB), shows approval requests with their
// context, and answers them signed with that key.
(function () {
  "use strict";
  var DB = "ward-authenticator", STORE = "device";
  var $ = function (id) { return document.getElementById(id); };

  function open() {
    return new Promise(function (resolve, reject) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE); };
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }
  function load() {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var q = db.transaction(STORE).objectStore(STORE).get("me");
        q.onsuccess = function () { resolve(q.result); };
        q.onerror = function () { reject(q.error); };
      });
    });
  }
  function save(me) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, "readwrite");
        t.objectStore(STORE).put(me, "me");
        t.oncomplete = function () { resolve(me); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function b64u(buf) {
    var s = "", b = new Uint8Array(buf);
    for (var i = 0; i < b.length; i++) { s += String.fromCharCode(b[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function api(path, method, body, token) {
    var h = { "Content-Type": "application/json" };
    if (token) { h.Authorization = "Device " + token; }
    return fetch(path, { method: method, headers: h, body: body ? JSON.stringify(body) : undefined }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) { throw j; } return j; });
    });
  }
  function fail(err) {
    var box = $("auth-error");
    box.textContent = (err && err.message) || String(err);
    box.hidden = false;
  }
  function show(id) {
    ["pair", "paired", "prompt", "reported"].forEach(function (s) { $(s).hidden = s !== id; });
  }

  // Pairing: the key is made here and never leaves; ward keeps its
  // public half, and the token this device reads its requests with.
  function pair(code) {
    return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]).then(function (keys) {
      return crypto.subtle.exportKey("raw", keys.publicKey).then(function (raw) {
        return api("/api/v1/authenticator/pair", "POST", { code: code, public_key: b64u(raw) });
      }).then(function (j) {
        // The codes' secret becomes a key this page can use but not read.
        var raw = atob(j.totp_secret.replace(/-/g, "+").replace(/_/g, "/"));
        var secret = new Uint8Array(raw.length);
        for (var i = 0; i < raw.length; i++) { secret[i] = raw.charCodeAt(i); }
        return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]).then(function (totp) {
          return save({ token: j.device_token, id: j.device_id, key: keys.privateKey, totp: totp });
        });
      });
    });
  }

  var current = null;
  function update(prompts) {
    var p = prompts && prompts[0];
    if (p && (!current || current.id !== p.id)) {
      current = p;
      render(p);
      show("prompt");
    } else if (!p && current) {
      current = null;
      show("paired");
    }
  }
  // Requests arrive on a stream of server-sent events, read with fetch
  // (its token goes in a header); when the stream cannot be had, the app
  // asks every few seconds instead.
  function listen(me) {
    if (!window.ReadableStream || !window.TextDecoder) { return poll(me); }
    fetch("/api/v1/authenticator/events", { headers: { Authorization: "Device " + me.token } }).then(function (r) {
      if (!r.ok || !r.body) { throw new Error("no stream"); }
      var reader = r.body.getReader(), text = new TextDecoder(), buf = "";
      var read = function () {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return listen(me); }
          buf += text.decode(chunk.value, { stream: true });
          var at;
          while ((at = buf.indexOf("\n\n")) >= 0) {
            var ev = buf.slice(0, at);
            buf = buf.slice(at + 2);
            var m = /^data: (.*)$/m.exec(ev);
            if (m) { update(JSON.parse(m[1])); }
          }
          return read();
        });
      };
      return read();
    }).catch(function () { setTimeout(function () { poll(me); }, 1000); });
  }
  function poll(me) {
    api("/api/v1/authenticator/prompts", "GET", null, me.token).then(function (j) { update(j.prompts); })
      .catch(fail).then(function () { setTimeout(function () { poll(me); }, 3000); });
  }
  function render(p) {
    var dl = $("prompt-context"), c = p.context;
    while (dl.firstChild) { dl.removeChild(dl.firstChild); }
    var rows = [["app", c.app], ["time", new Date(c.at).toLocaleString()], ["ip", c.ip], ["place", c.place], ["device", c.device]];
    if (c.new_device) { rows.push(["new", dl.getAttribute("data-l-yes")]); }
    rows.forEach(function (r) {
      if (!r[1]) { return; }
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = dl.getAttribute("data-l-" + r[0]);
      dd.textContent = r[1];
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    $("prompt-number").value = "";
  }
  function answer(me, decision) {
    var p = current;
    var payload = JSON.stringify({ prompt_id: p.id, nonce: p.nonce, decision: decision, number: decision === "approve" ? $("prompt-number").value.trim() : "" });
    var bytes = new TextEncoder().encode(payload);
    return crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, me.key, bytes).then(function (sig) {
      return api("/api/v1/authenticator/answer", "POST", { payload: b64u(bytes), signature: b64u(sig) }, me.token);
    }).then(function () {
      current = null;
      show(decision === "not_me" ? "reported" : "paired");
      $("paired-status").textContent = $("paired-status").getAttribute(decision === "approve" ? "data-l-approved" : "data-l-waiting");
    });
  }

  // Web Push: when the browser can, the phone is rung even with the app
  // closed. Best effort: without it, requests show while the app is open.
  function subscribe(me) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) { return; }
    navigator.serviceWorker.ready.then(function (reg) {
      return api("/api/v1/authenticator/vapid", "GET").then(function (v) {
        var raw = atob(v.public_key.replace(/-/g, "+").replace(/_/g, "/"));
        var key = new Uint8Array(raw.length);
        for (var i = 0; i < raw.length; i++) { key[i] = raw.charCodeAt(i); }
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      });
    }).then(function (sub) {
      var j = sub.toJSON();
      return api("/api/v1/authenticator/subscription", "PUT", { endpoint: j.endpoint, keys: j.keys }, me.token);
    }).catch(function () { /* no push here: the app shows requests while open */ });
  }

  // Authenticator-app codes (RFC 6238: HMAC-SHA-1, 6 digits, 30 s),
  // shown offline, for when the phone cannot be reached.
  function codes(me) {
    if (!me.totp) { return; }
    var tick = function () {
      var now = Date.now(), step = Math.floor(now / 30000);
      var counter = new DataView(new ArrayBuffer(8));
      counter.setUint32(0, Math.floor(step / 4294967296));
      counter.setUint32(4, step >>> 0);
      crypto.subtle.sign("HMAC", me.totp, counter.buffer).then(function (sig) {
        var h = new Uint8Array(sig), o = h[19] & 15;
        var n = (((h[o] & 127) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]) % 1000000;
        $("totp-code").textContent = ("000000" + n).slice(-6);
        $("totp-left").textContent = String(30 - Math.floor(now / 1000) % 30);
        $("codes").hidden = false;
      });
      setTimeout(tick, 1000 - now % 1000);
    };
    tick();
  }

  function start(me) {
    subscribe(me);
    codes(me);
    show("paired");
    $("prompt-form").addEventListener("submit", function (ev) { ev.preventDefault(); answer(me, "approve").catch(fail); });
    $("deny").addEventListener("click", function () { answer(me, "deny").catch(fail); });
    $("not-me").addEventListener("click", function () { answer(me, "not_me").catch(fail); });
    listen(me);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/authenticator/sw.js", { scope: "/authenticator/" }).catch(function () {});
    }
    var m = /pair=(\d{8})/.exec(location.hash);
    if (m) { $("pair-code").value = m[1]; }
    load().then(function (me) {
      if (!me) {
        show("pair");
        $("pair-form").addEventListener("submit", function (ev) {
          ev.preventDefault();
          pair($("pair-code").value.replace(/\s/g, "")).then(function (me) {
            history.replaceState(null, "", location.pathname);
            start(me);
          }).catch(fail);
        });
        return;
      }
      start(me);
    }).catch(fail);
  });
})();
