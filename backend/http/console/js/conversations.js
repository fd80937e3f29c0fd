// Conversations of the caller's tenant: list (paged), open one, delete.

import { api } from "./api.js";
import { clear, confirmButton, errorBox, h, table, when } from "./dom.js";

export const title = "Conversations";

function itemView(item) {
  if (item.type === "user_message") return h("li", { class: "item user" }, h("span", { class: "who" }, "User"), item.text);
  if (item.type === "assistant_message") {
    const meta = [item.agent, item.provider, item.model, item.status !== "completed" ? item.status : null].filter(Boolean).join(" · ");
    return h("li", { class: "item assistant" }, h("span", { class: "who" }, "Assistant"), item.text, meta ? h("small", { class: "muted" }, ` (${meta})`) : null);
  }
  if (item.type === "tool_call") return h("li", { class: "item tool" }, h("span", { class: "who" }, `Tool call ${item.name}`), h("code", {}, JSON.stringify(item.arguments)));
  if (item.type === "tool_result") return h("li", { class: "item tool" }, h("span", { class: "who" }, `Tool result ${item.name}`), h("code", {}, item.output));
  return h("li", { class: "item" }, h("code", {}, JSON.stringify(item)));
}

export async function render(main) {
  const detail = h("section", { class: "card", id: "conversation-detail", "aria-live": "polite", hidden: true });
  const listing = h("section", { class: "card" }, h("h1", {}, "Conversations"));
  const more = h("button", { type: "button", class: "quiet", hidden: true }, "Load more");
  const holder = h("div");
  const rows = [];
  let cursor = null;

  async function open(id) {
    detail.hidden = false;
    clear(detail).append(h("p", { class: "muted" }, "Loading…"));
    try {
      const found = await api(`/v1/conversations/${encodeURIComponent(id)}`);
      clear(detail).append(
        h("h2", {}, found.conversation.title || found.conversation.id),
        h("p", { class: "muted" }, `Created ${when(found.conversation.created_at)} · ${found.items.length} items`),
        h("ol", { class: "items" }, found.items.map(itemView)),
      );
      detail.querySelector("h2").setAttribute("tabindex", "-1");
      detail.querySelector("h2").focus();
    } catch (error) {
      clear(detail).append(errorBox(error));
    }
  }

  function draw() {
    clear(holder).append(
      rows.length
        ? table(
            "Most recently updated first",
            ["Title", "Updated", "Items", ""],
            rows.map((c) => [
              c.title || c.id,
              when(c.updated_at),
              String(c.item_count),
              h("span", { class: "row-actions" },
                h("button", { type: "button", onclick: () => open(c.id) }, "Open"),
                confirmButton("Delete", "Confirm delete", async () => {
                  try {
                    await api(`/v1/conversations/${encodeURIComponent(c.id)}`, { method: "DELETE" });
                    rows.splice(rows.indexOf(c), 1);
                    if (!detail.hidden) detail.hidden = true;
                    draw();
                  } catch (error) {
                    holder.prepend(errorBox(error));
                  }
                })),
            ]),
            { id: "conversations" },
          )
        : h("p", { class: "muted" }, "No conversations yet. Start one in the playground."),
    );
  }

  async function page() {
    try {
      const query = new URLSearchParams({ limit: "20" });
      if (cursor) query.set("cursor", cursor);
      const result = await api(`/v1/conversations/?${query}`);
      rows.push(...result.data);
      cursor = result.next_cursor;
      more.hidden = !cursor;
      draw();
    } catch (error) {
      clear(holder).append(errorBox(error));
    }
  }

  more.addEventListener("click", page);
  listing.append(holder, more);
  main.append(listing, detail);
  await page();
}
