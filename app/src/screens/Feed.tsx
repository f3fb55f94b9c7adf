/** The notification feed (participants: /mobile/v1/me/notifications; staff: /v1/me/notifications) with its
 * unread count; tapping an unread entry marks it read. */
import { useState } from "preact/hooks";
import { api, call, type Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { session } from "../session";
import { openLink } from "../push";
import { Empty, ErrorBox, Loading } from "../ui/states";
import { useLoad } from "../ui/useLoad";

type Page = Schemas["FeedPage"];

const isParticipant = () => session.role() === "participant";

function loadFeed(): Promise<Page> {
  return isParticipant() ? call(api.GET("/mobile/v1/me/notifications")) : call(api.GET("/v1/me/notifications"));
}

function markRead(id: string): Promise<unknown> {
  const params = { path: { notification_id: id } };
  return isParticipant()
    ? call(api.POST("/mobile/v1/me/notifications/{notification_id}/read", { params }))
    : call(api.POST("/v1/me/notifications/{notification_id}/read", { params }));
}

function markAllRead(): Promise<unknown> {
  return isParticipant() ? call(api.POST("/mobile/v1/me/notifications/read-all"))
    : call(api.POST("/v1/me/notifications/read-all"));
}

export function Feed({ onUnreadChange }: { onUnreadChange?: (count: number) => void }) {
  const { t, locale } = useI18n();
  const feed = useLoad(() => loadFeed().then((page) => { onUnreadChange?.(page.unread_count ?? 0); return page; }));
  const [actionError, setActionError] = useState<unknown>(null);
  const act = (action: Promise<unknown>) => action.then(() => { setActionError(null); feed.reload(); }, setActionError);

  if (feed.error) return <main class="screen"><ErrorBox error={feed.error} onRetry={feed.reload} /></main>;
  if (!feed.data) return <main class="screen"><Loading /></main>;
  const items = feed.data.data ?? [];
  const unread = feed.data.unread_count ?? 0;
  return (
    <main class="screen">
      <div class="title-row">
        <h1>{t("feedTitle")}</h1>
        <span class="badge" data-testid="unread-count">{t("unread", { count: unread })}</span>
      </div>
      {actionError != null && <ErrorBox error={actionError} />}
      {unread > 0 && <button type="button" class="secondary" onClick={() => act(markAllRead())}>{t("markAllRead")}</button>}
      {items.length === 0 ? <Empty>{t("noNotifications")}</Empty> : (
        <ul class="feed" data-testid="feed">
          {items.map((item) => (
            <li key={item.id} class={item.read_at ? "read" : "unread"}>
              <h2>{item.title}</h2>
              <p>{item.body}</p>
              <p class="muted"><time dateTime={item.created_at}>
                {new Date(item.created_at ?? "").toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" })}
              </time></p>
              <div class="actions">
                {item.deep_link?.screen != null && (
                  <button type="button" onClick={() => { if (!item.read_at) void markRead(item.id ?? "").catch(() => undefined);
                    openLink(item.deep_link); }}>{t("pOpen")}</button>
                )}
                {!item.read_at && (
                  <button type="button" class="secondary" onClick={() => act(markRead(item.id ?? ""))}>{t("markRead")}</button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </main>
  );
}
