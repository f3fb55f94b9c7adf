/**
 * Offline: the service worker (public/sw.js) keeps the app's shell so a reload without a network still opens the
 * app, and the shell says it is offline instead of failing. Offline means the browser says so (navigator.onLine)
 * or the last call to the server could not reach it (a browser may think itself online behind a dead network).
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api/client";

let reachable = true;
const listeners = new Set<() => void>();
const setReachable = (next: boolean) => {
  if (next !== reachable) {
    reachable = next;
    listeners.forEach((listener) => listener());
  }
};

api.use({
  onResponse() { setReachable(true); return undefined; },
  onError() { setReachable(false); return undefined; },
});

export function useOnline(): boolean {
  const current = () => navigator.onLine && reachable;
  const [online, setOnline] = useState(current);
  useEffect(() => {
    const update = () => setOnline(current());
    const back = () => { reachable = true; update(); };
    listeners.add(update);
    addEventListener("online", back);
    addEventListener("offline", update);
    update();
    return () => {
      listeners.delete(update);
      removeEventListener("online", back);
      removeEventListener("offline", update);
    };
  }, []);
  return online;
}

/** Register the worker once the page has loaded, so it never competes with the first paint. */
export function registerServiceWorker(): void {
  if (!("serviceWorker" in navigator) || import.meta.env.DEV) return;
  addEventListener("load", () => {
    void navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL })
      .catch(() => undefined);
  });
}
