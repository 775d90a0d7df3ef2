// ward Authenticator's service worker: makes the app installable, shows
// a notification when a sign-in asks for approval (Web Push), and opens
// the app when it is tapped. The message says only that a request waits;
// what it is, and the answer, are in the app.
var words = {
  en: { title: "Sign-in request", body: "Someone is signing in to {app}. Open to see who and to answer." },
  ja: { title: "ログインのリクエスト", body: "{app} にログインしようとしています。開いて相手を確認し、応答してください。" }
};
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (ev) { ev.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function () {});
self.addEventListener("push", function (ev) {
  var m = {};
  try { m = ev.data ? ev.data.json() : {}; } catch (e) { m = {}; }
  var w = words[m.lang] || words.en;
  ev.waitUntil(self.registration.showNotification(w.title, {
    body: w.body.replace("{app}", m.app || "ward"), tag: "ward-prompt", renotify: true, requireInteraction: true
  }));
});
self.addEventListener("notificationclick", function (ev) {
  ev.notification.close();
  ev.waitUntil(self.clients.openWindow("/authenticator/"));
});
