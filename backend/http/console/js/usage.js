// Usage by day, provider and model: a table and a bar chart of tokens per day (inline SVG).

import { api } from "./api.js";
import { clear, errorBox, h, s, table } from "./dom.js";

export const title = "Usage";

/** Tokens per UTC day over the window, oldest first, days without usage included. */
export function perDay(summary, days) {
  const totals = new Map();
  for (const row of summary.data) totals.set(row.day, (totals.get(row.day) || 0) + row.total_tokens);
  const start = new Date(`${summary.since}T00:00:00Z`);
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(start.getTime() + i * 86400000).toISOString().slice(0, 10);
    return { day, tokens: totals.get(day) || 0 };
  });
}

/** Drawn at the width it is shown at (no scaling), so labels stay readable on a phone. */
function chart(points, available) {
  const width = Math.round(Math.min(720, Math.max(300, available || 640)));
  const height = 220;
  const pad = { left: 48, right: 8, top: 12, bottom: 36 };
  const max = Math.max(1, ...points.map((p) => p.tokens));
  const slot = (width - pad.left - pad.right) / points.length;
  const scale = (height - pad.top - pad.bottom) / max;
  const label = `Tokens per day: ${points.map((p) => `${p.day} ${p.tokens}`).join(", ")}`;
  const every = Math.ceil(points.length / Math.max(2, Math.floor(width / 70)));
  return s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label, id: "usage-chart" },
    s("line", { x1: pad.left, y1: height - pad.bottom, x2: width - pad.right, y2: height - pad.bottom, class: "axis" }),
    s("text", { x: pad.left - 6, y: pad.top + 4, class: "tick", "text-anchor": "end" }, String(max)),
    s("text", { x: pad.left - 6, y: height - pad.bottom, class: "tick", "text-anchor": "end" }, "0"),
    points.map((p, i) => {
      const barHeight = p.tokens * scale;
      const x = pad.left + i * slot + slot * 0.15;
      return s(
        "g",
        {},
        s("rect", { x, y: height - pad.bottom - barHeight, width: slot * 0.7, height: barHeight, class: "bar", dataset: { day: p.day, tokens: p.tokens } },
          s("title", {}, `${p.day}: ${p.tokens} tokens`)),
        i % every === 0 ? s("text", { x: x + slot * 0.35, y: height - pad.bottom + 16, class: "tick", "text-anchor": "middle" }, p.day.slice(5)) : null,
      );
    }),
  );
}

export async function render(main) {
  const days = h("select", { id: "usage-days", name: "days" }, [7, 30, 90].map((d) => h("option", { value: d }, `${d} days`)));
  const tenant = h("input", { id: "usage-tenant", name: "tenant", placeholder: "own tenant", autocomplete: "off", size: 14 });
  const body = h("div");
  const form = h(
    "form",
    { class: "row" },
    h("label", {}, "Window", days),
    h("label", { title: "Admin and operator keys: another tenant through the admin API" }, "Tenant (operator)", tenant),
    h("button", { type: "submit" }, "Show"),
  );
  main.append(h("section", { class: "card" }, h("h1", {}, "Usage"), form, body));

  async function load() {
    const n = Number(days.value);
    const path = tenant.value.trim()
      ? `/v1/admin/usage?${new URLSearchParams({ days: String(n), tenant: tenant.value.trim() })}`
      : `/v1/usage?days=${n}`;
    try {
      const summary = await api(path);
      clear(body).append(
        h("p", { class: "muted" }, `Tenant ${summary.tenant_id}, since ${summary.since} (UTC).`),
        chart(perDay(summary, n), body.clientWidth),
        summary.data.length
          ? table(
              "By day, provider and model",
              ["Day", "Provider", "Model", "Requests", "Failed", "Input", "Output", "Total"],
              summary.data.map((r) => [r.day, r.provider, r.model, r.requests, r.failed, r.input_tokens, r.output_tokens, r.total_tokens].map(String)),
              { id: "usage-table" },
            )
          : h("p", { class: "muted" }, "No usage in this window."),
      );
    } catch (error) {
      clear(body).append(errorBox(error));
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  await load();
}
