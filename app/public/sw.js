/*
 * Plumb's service worker: keeps the app's shell (index.html and the hashed files it loads, the manifest and
 * icons) so that the app opens without a network and says it is offline. It never stores an API answer: those
 * hold someone's money and personal data, and go to the network every time.
 *
 * Pages are network first (a new build reaches phones at once) with the saved shell as the fallback; hashed
 * assets are cache first (their names change when their contents do). On install the shell is read and the
 * assets it names are saved, since the first load happened before this worker was in control.
 */
const CACHE = "plumb-shell-v1";
const BASE = new URL("./", self.location).pathname; // "/app/"
const SHELL = [BASE, `${BASE}manifest.webmanifest`, `${BASE}icon.svg`, `${BASE}icon-192.png`, `${BASE}icon-512.png`];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    const html = await (await cache.match(BASE)).text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]*\/assets\/[^"]+)"/g)].map((m) => m[1]);
    await cache.addAll(assets);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith(BASE)) return;
  if (request.mode === "navigate") {
    event.respondWith((async () => {
      try {
        const fresh = await fetch(request);
        if (fresh.ok) (await caches.open(CACHE)).put(BASE, fresh.clone());
        return fresh;
      } catch {
        return (await caches.match(BASE)) || Response.error();
      }
    })());
  } else if (url.pathname.startsWith(`${BASE}assets/`) || SHELL.includes(url.pathname)) {
    event.respondWith((async () => {
      const saved = await caches.match(request);
      if (saved) return saved;
      const fresh = await fetch(request);
      if (fresh.ok) (await caches.open(CACHE)).put(request, fresh.clone());
      return fresh;
    })());
  }
});
