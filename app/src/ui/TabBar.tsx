/**
 * The bottom bar of a role's screens. It never scrolls sideways: the tabs share the width by their labels' length, and
 * when a tab's label does not fit its share (many tabs, a narrow phone, a long word in Spanish) the last tabs move
 * into a "More" menu, measured in the browser rather than guessed per language or per count of tabs. Every tab and
 * the menu's entries are links of at least 44 px.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { useI18n, type MessageKey } from "../i18n";
import { navigate } from "../router";

export type Tab = [path: string, label: MessageKey];

export function TabBar({ tabs, active }: { tabs: Tab[]; active: string }) {
  const { t, language } = useI18n();
  const bar = useRef<HTMLElement>(null);
  const [shown, setShown] = useState(tabs.length); // tabs shown in the bar; the rest are under "More"
  const [width, setWidth] = useState(() => window.innerWidth);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    const resized = () => setWidth(window.innerWidth);
    window.addEventListener("resize", resized);
    return () => window.removeEventListener("resize", resized);
  }, []);
  // Start again from every tab in the bar whenever what must fit changes...
  useLayoutEffect(() => setShown(tabs.length), [tabs.length, language, width]);
  // ...and move tabs under "More" one at a time until every label fits its share (the "More" tab takes one share).
  useLayoutEffect(() => {
    const links = [...(bar.current?.querySelectorAll<HTMLElement>(":scope > a, :scope > .more > button") ?? [])];
    const overflowing = links.some((link) => link.scrollWidth > link.clientWidth + 1);
    if (overflowing && shown > 1) setShown(shown === tabs.length ? tabs.length - 2 : shown - 1);
  });

  // An open menu closes on Escape or a tap anywhere outside the bar, as menus do (listening from the commit on, not
  // a frame later, so a key pressed at once is heard).
  useLayoutEffect(() => {
    if (!menuOpen) return;
    const key = (event: KeyboardEvent) => { if (event.key === "Escape") setMenuOpen(false); };
    const tap = (event: Event) => { if (!bar.current?.contains(event.target as Node)) setMenuOpen(false); };
    document.addEventListener("keydown", key);
    document.addEventListener("pointerdown", tap);
    return () => {
      document.removeEventListener("keydown", key);
      document.removeEventListener("pointerdown", tap);
    };
  }, [menuOpen]);

  const go = (path: string) => (event: Event) => {
    event.preventDefault();
    setMenuOpen(false);
    navigate(path);
  };
  const link = ([path, key]: Tab) => (
    <a key={path} href={`/app${path}`} aria-current={active === path ? "page" : undefined} onClick={go(path)}>
      {t(key)}</a>
  );
  const inBar = tabs.slice(0, Math.max(shown, 1));
  const more = tabs.slice(inBar.length);
  const activeInMore = more.some(([path]) => path === active);
  return (
    <nav class="tabs" aria-label={t("appName")} ref={bar}>
      {inBar.map(link)}
      {more.length > 0 && (
        <div class="more">
          <button type="button" aria-expanded={menuOpen} aria-controls="more-tabs"
            class={activeInMore ? "current" : undefined} onClick={() => setMenuOpen(!menuOpen)}>
            {t("navMore")}</button>
          {menuOpen && <div id="more-tabs" class="more-menu">{more.map(link)}</div>}
        </div>
      )}
    </nav>
  );
}
