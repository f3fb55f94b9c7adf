/**
 * Push on this phone: when the server has a Firebase web configuration (/v1/app-config), the Firebase SDK is
 * loaded (lazily: it is a chunk of its own, never part of the first load), asks for permission, and the device's
 * FCM token is registered through POST /mobile/v1/devices. Without one the app uses the notification feed only.
 * A push's `data.link` (and a feed entry's deep_link) names an app screen: `linkRoute` turns it into a route.
 */
import { api, call, type Schemas } from "./api/client";
import { navigate } from "./router";

type FirebaseConfig = Schemas["FirebaseWebConfigOut"];
export type PushState = "unavailable" | "unsupported" | "denied" | "off" | "on";

const TOKEN_KEY = "plumb.push-token";
const DEVICE_KEY = "plumb.push-device";
// Its own scope, so it never competes with the app shell's service worker for /app/.
const WORKER = "/app/push-sw.js";
const WORKER_SCOPE = "/app/push/";

let config: Promise<FirebaseConfig | null> | null = null;

/** The server's Firebase web configuration, or null: asked once per page load. */
export function firebaseConfig(): Promise<FirebaseConfig | null> {
  config ??= call(api.GET("/v1/app-config")).then((answer) => answer.firebase ?? null, () => null);
  return config;
}

const supported = () => "Notification" in window && "serviceWorker" in navigator && "PushManager" in window;

export async function pushState(): Promise<PushState> {
  if (!(await firebaseConfig())) return "unavailable";
  if (!supported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  return Notification.permission === "granted" && localStorage.getItem(TOKEN_KEY) ? "on" : "off";
}

async function token(settings: FirebaseConfig): Promise<string> {
  const [{ initializeApp, getApps }, messaging] = await Promise.all([import("firebase/app"), import("firebase/messaging")]);
  const { vapidKey, ...options } = settings;
  const app = getApps()[0] ?? initializeApp(options);
  const registration = await navigator.serviceWorker.register(WORKER, { scope: WORKER_SCOPE });
  const instance = messaging.getMessaging(app);
  // A push that arrives while the app is open is in the feed already: refresh what is on screen.
  messaging.onMessage(instance, () => dispatchEvent(new Event("plumb:push")));
  return messaging.getToken(instance, { vapidKey, serviceWorkerRegistration: registration });
}

/** Ask for permission (from a tap: browsers refuse otherwise) and register this device. */
export async function enablePush(): Promise<PushState> {
  const settings = await firebaseConfig();
  if (!settings) return "unavailable";
  if (!supported()) return "unsupported";
  if ((await Notification.requestPermission()) !== "granted") return pushState();
  const fcmToken = await token(settings);
  const device = await call(api.POST("/mobile/v1/devices", { body: {
    platform: "web", token: fcmToken, locale: navigator.language || null,
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || null, app_version: "web" } }));
  localStorage.setItem(TOKEN_KEY, fcmToken);
  localStorage.setItem(DEVICE_KEY, device.id ?? "");
  return "on";
}

/** Stop pushes to this device (the server forgets its token). */
export async function disablePush(): Promise<PushState> {
  const saved = localStorage.getItem(TOKEN_KEY);
  if (saved) await call(api.DELETE("/mobile/v1/devices/{token_or_id}", { params: { path: { token_or_id: saved } } }));
  forgetPushToken();
  return pushState();
}

/** On opening the app: a device that had push on registers its (possibly renewed) token again. */
export async function resumePush(): Promise<void> {
  if ((await pushState()) === "on") await enablePush().catch(() => undefined);
}

/** The token this device registered, to be forgotten by the server on log-out. */
export const pushToken = (): string | null => localStorage.getItem(TOKEN_KEY);
export const forgetPushToken = (): void => { localStorage.removeItem(TOKEN_KEY); localStorage.removeItem(DEVICE_KEY); };
/** The server's id of this phone's device, when push is on here. */
export const thisDeviceId = (): string | null => localStorage.getItem(DEVICE_KEY);

/** A deep link (`{"screen": ..., ids}`, or its JSON text as a push carries it) as the app's route. */
export function linkRoute(link: unknown): string {
  let value = link;
  if (typeof value === "string") {
    try { value = JSON.parse(value); } catch { return "/feed"; }
  }
  if (!value || typeof value !== "object") return "/feed";
  const { screen, ...ids } = value as Record<string, unknown>;
  const id = (name: string) => (typeof ids[name] === "string" ? encodeURIComponent(ids[name] as string) : "");
  switch (screen) {
    case "election": return id("election_id") ? `/election/${id("election_id")}` : "/plan";
    case "enroll": return "/rate";
    case "balance": return "/balance";
    case "contributions": return "/balance";
    case "approvals": return "/";
    case "billing": return "/billing"; // docapp: a failed payment's news opens the sponsor's billing
    default: return "/feed";
  }
}

export const openLink = (link: unknown): void => navigate(linkRoute(link));

/** Taps on pushes: the worker opens /app/open?link=… in a new window, or tells an open one (a message). */
export function followPushTaps(route: string): () => void {
  if (route === "/open") navigate(linkRoute(new URLSearchParams(location.search).get("link") ?? ""), true);
  const worker = navigator.serviceWorker;
  if (!worker) return () => undefined;
  const listener = (event: MessageEvent) => {
    if (event.data?.type === "plumb:open") openLink(event.data.link);
  };
  worker.addEventListener("message", listener);
  return () => worker.removeEventListener("message", listener);
}
