/* Plumb's push worker (registered only when the server has a Firebase web configuration): shows a push from FCM
 * and, when it is tapped, opens the app at the screen its data.link names (the app reads /app/open?link=...). */
self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch (_) { message = {}; }
  const shown = message.notification || {};
  const data = message.data || {};
  event.waitUntil(self.registration.showNotification(shown.title || "Plumb", {
    body: shown.body || "", data: { link: data.link || "" }, tag: data.kind || undefined,
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const link = (event.notification.data || {}).link || "";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    const open = windows.find((w) => new URL(w.url).pathname.startsWith("/app"));
    if (!open) return self.clients.openWindow("/app/open?link=" + encodeURIComponent(link));
    // This worker's scope does not cover the app's pages, so it cannot navigate them: the app moves itself.
    open.postMessage({ type: "plumb:open", link });
    return open.focus();
  }));
});
