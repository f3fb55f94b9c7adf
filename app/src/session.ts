/**
 * Who is logged in: the token answer of a log-in or sign-up, kept in localStorage so the app reopens logged in.
 * Listeners hear when it starts or ends (a session whose refresh token is refused ends it). A refresh replaces the
 * tokens without telling the listeners: the same user is still logged in.
 */
import type { components } from "./api/schema";

type TokenResponse = components["schemas"]["TokenResponse"];
export type EndReason = "logout" | "expired";
type Listener = (reason?: EndReason) => void;

const KEY = "plumb.session";
const listeners = new Set<Listener>();

function read(): TokenResponse | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as TokenResponse) : null;
  } catch {
    return null;
  }
}

let current: TokenResponse | null = read();

export const session = {
  current: () => current,
  role: () => current?.user?.role ?? null,
  start(tokens: TokenResponse) {
    current = tokens;
    localStorage.setItem(KEY, JSON.stringify(tokens));
    listeners.forEach((listener) => listener());
  },
  /** The next pair from a refresh: stored for the next start of the app, no listener told. */
  renew(tokens: TokenResponse) {
    if (!current) return;
    current = tokens;
    localStorage.setItem(KEY, JSON.stringify(tokens));
  },
  /** The tokens as stored now: another tab of the app may have refreshed them since this one read them (and the
   * refresh token this tab holds is then spent, so presenting it would end the session). */
  reread(): TokenResponse | null {
    if (!current) return null;
    const stored = read();
    if (stored) current = stored;
    return stored;
  },
  end(reason: EndReason) {
    if (!current) return;
    current = null;
    localStorage.removeItem(KEY);
    listeners.forEach((listener) => listener(reason));
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
