import { afterEach, beforeEach, describe, expect, it } from "vitest";
import createClient from "openapi-fetch";
import { authorizedFetch, call } from "./client";
import type { paths } from "./schema";
import { session, type EndReason } from "../session";

const ORIGIN = "http://plumb.test";
const user = { id: "u-1", role: "participant" as const };

/** A fake API: one live access token at a time, single-use refresh tokens as the server rotates them, and a log of
 * what each request carried. */
function fakeServer(options: { refreshAnswer?: number; unreachableRefresh?: boolean } = {}) {
  const state = { live: "(access-1 has expired)", refreshes: 0, seen: [] as { path: string; auth: string | null; body: string }[] };
  let nextRefresh = "refresh-1";
  const send = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const body = await request.text();
    state.seen.push({ path, auth: request.headers.get("Authorization"), body });
    if (path === "/v1/auth/refresh") {
      state.refreshes += 1;
      await new Promise((resolve) => setTimeout(resolve, 5)); // a real round trip: others are refused meanwhile
      if (options.unreachableRefresh) throw new TypeError("Failed to fetch");
      const { refresh_token } = JSON.parse(body) as { refresh_token: string };
      if (options.refreshAnswer || refresh_token !== nextRefresh) {
        return problem(options.refreshAnswer ?? 401);
      }
      nextRefresh = `refresh-${state.refreshes + 1}`;
      state.live = `access-${state.refreshes + 1}`;
      return json({ access_token: state.live, refresh_token: nextRefresh, expires_in: 900, user });
    }
    if (request.headers.get("Authorization") !== `Bearer ${state.live}`) return problem(401);
    return json({ path, echoed: body });
  };
  return { state, send };
}

const json = (body: unknown) =>
  new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
const problem = (status: number) =>
  new Response(JSON.stringify({ type: "about:blank", title: "no", status, detail: "refused", errors: [] }),
    { status, headers: { "Content-Type": "application/problem+json" } });

function clientOf(send: (request: Request) => Promise<Response>) {
  return createClient<paths>({ baseUrl: ORIGIN, fetch: authorizedFetch(send) });
}

let ends: (EndReason | undefined)[] = [];
let unsubscribe = () => {};

beforeEach(() => {
  localStorage.clear();
  session.start({ access_token: "access-1", refresh_token: "refresh-1", expires_in: 900, user });
  ends = [];
  unsubscribe = session.subscribe((reason) => ends.push(reason));
});
afterEach(() => {
  unsubscribe();
  session.end("logout");
});

describe("an expired access token is refreshed once and the request retried, not a log-out", () => {
  it("retries the refused request with the new token, its body intact, and keeps the new pair", async () => {
    const server = fakeServer();
    const api = clientOf(server.send);
    const answer = await call(api.POST("/v1/payroll-exceptions/{exception_id}/resolve",
      { params: { path: { exception_id: "ex-1" } }, body: { action: "accept", note: "ok" } }));
    expect(answer).toEqual({ path: "/v1/payroll-exceptions/ex-1/resolve", echoed: '{"action":"accept","note":"ok"}' });
    expect(server.state.seen.map((s) => [s.path, s.auth])).toEqual([
      ["/v1/payroll-exceptions/ex-1/resolve", "Bearer access-1"],
      ["/v1/auth/refresh", null],
      ["/v1/payroll-exceptions/ex-1/resolve", "Bearer access-2"],
    ]);
    expect(session.current()?.access_token).toBe("access-2");
    expect(JSON.parse(localStorage.getItem("plumb.session") ?? "{}").refresh_token).toBe("refresh-2");
    expect(ends).toEqual([]);
  });

  it("shares one refresh among requests refused at the same time (a refresh token is spent by its first use)", async () => {
    const server = fakeServer();
    const api = clientOf(server.send);
    const answers = await Promise.all(["/mobile/v1/me", "/mobile/v1/balance", "/mobile/v1/feed"].map((path) =>
      call(api.GET(path as "/mobile/v1/me"))));
    expect(answers.map((a) => (a as { path: string }).path)).toEqual(["/mobile/v1/me", "/mobile/v1/balance", "/mobile/v1/feed"]);
    expect(server.state.refreshes).toBe(1);
    expect(ends).toEqual([]);
  });

  it("uses the pair another tab stored already instead of spending the old refresh token", async () => {
    const server = fakeServer();
    server.state.live = "access-from-other-tab";
    localStorage.setItem("plumb.session", JSON.stringify(
      { access_token: "access-from-other-tab", refresh_token: "refresh-9", user }));
    await call(clientOf(server.send).GET("/mobile/v1/me"));
    expect(server.state.refreshes).toBe(0);
    expect(server.state.seen.at(-1)?.auth).toBe("Bearer access-from-other-tab");
  });
});

describe("the user is logged out only when the refresh fails", () => {
  it("ends the session as expired when the refresh token is refused, and the request fails with its 401", async () => {
    const server = fakeServer({ refreshAnswer: 401 });
    await expect(call(clientOf(server.send).GET("/mobile/v1/me"))).rejects.toMatchObject({ status: 401 });
    expect(ends).toEqual(["expired"]);
    expect(session.current()).toBeNull();
  });

  it("keeps the session when the server is busy (429) or cannot be reached during the refresh", async () => {
    const busy = fakeServer({ refreshAnswer: 429 });
    await expect(call(clientOf(busy.send).GET("/mobile/v1/me"))).rejects.toMatchObject({ status: 401 });
    const away = fakeServer({ unreachableRefresh: true });
    await expect(call(clientOf(away.send).GET("/mobile/v1/me"))).rejects.toMatchObject({ status: 0 });
    expect(ends).toEqual([]);
    expect(session.current()?.refresh_token).toBe("refresh-1");
  });

  it("ends the session when the retried request is refused too, without a second refresh", async () => {
    const server = fakeServer();
    const send = async (request: Request) =>
      new URL(request.url).pathname === "/v1/auth/refresh" ? server.send(request) : problem(401);
    await expect(call(clientOf(send).GET("/mobile/v1/me"))).rejects.toMatchObject({ status: 401 });
    expect(server.state.refreshes).toBe(1);
    expect(ends).toEqual(["expired"]);
  });

  it("does not refresh for a request sent without the session's token (a wrong password at log-in)", async () => {
    session.end("logout");
    ends = [];
    const server = fakeServer();
    await expect(call(clientOf(server.send).POST("/v1/auth/login", { body: { email: "a@b.c", password: "x" } })))
      .rejects.toMatchObject({ status: 401 });
    expect(server.state.refreshes).toBe(0);
    expect(server.state.seen[0].auth).toBeNull();
  });
});
