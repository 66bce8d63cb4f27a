/* What every page of the dashboard gets, and gives back. */

export interface Me { id: string; name: string; admin: boolean }

export interface PageContext {
  /** The page's own area (inside <main>, after the <h1>). */
  view: HTMLElement;
  /** A polite live region for problems that are not about one field ("cannot refresh; retrying"). */
  notice: HTMLElement;
  /** The signed-in user. */
  me: Me;
  /** Named parts of the path (`/instances/:id` → `{id}`). */
  params: Record<string, string>;
  /** The query string of the address. */
  query: URLSearchParams;
  /** Sets the <h1> and the document title. */
  title(text: string): void;
  /** Goes to another page of the dashboard without reloading (pushes history). */
  go(path: string): void;
  /** Puts a choice made on the page into its address (a reload keeps it), without drawing it again. */
  setQuery(query: URLSearchParams): void;
}

/** A page draws itself into `ctx.view`; what it returns is called when the user leaves it (close streams, timers). */
export type Page = (ctx: PageContext) => void | (() => void);
