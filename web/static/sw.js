// ward Authenticator's service worker: makes the app installable and
// opens it when a notification is tapped. Requests go to the network.
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (ev) { ev.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function () {});
self.addEventListener("notificationclick", function (ev) {
  ev.notification.close();
  ev.waitUntil(self.clients.openWindow("/authenticator/"));
});
