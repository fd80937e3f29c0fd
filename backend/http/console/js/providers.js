// Provider instances and routes with their health (GET /v1/providers).

import { api } from "./api.js";
import { clear, errorBox, h, table } from "./dom.js";

export const title = "Providers";

function badge(ok, text) {
  return h("span", { class: `badge ${ok ? "ok" : "bad"}` }, text);
}

function deploymentState(d) {
  const state = d.health.state;
  return h("span", {}, badge(state === "ok", state), " ", d.id, d.health.last_failure ? h("small", { class: "muted" }, ` (${d.health.last_failure})`) : null);
}

export async function render(main) {
  const body = h("div");
  const refresh = h("button", { type: "button", class: "quiet" }, "Refresh");
  main.append(h("section", { class: "card" }, h("div", { class: "row spread" }, h("h1", {}, "Providers and routes"), refresh), body));

  async function load() {
    try {
      const found = await api("/v1/providers");
      clear(body).append(
        table(
          `Enabled provider instances (default: ${found.default})`,
          ["Name", "Kind", "Default model", "Health", "Capabilities"],
          found.data.map((p) => [
            p.name + (p.default ? " (default)" : ""),
            p.kind,
            p.default_model,
            h("span", {}, badge(p.health.ok, p.health.ok ? "healthy" : "unhealthy"), p.health.detail ? ` ${p.health.detail}` : ""),
            Object.entries(p.capabilities).filter(([, on]) => on).map(([name]) => name).join(", "),
          ]),
          { id: "providers" },
        ),
        table(
          "Routes",
          ["Route", "Strategy", "Source", "Deployments"],
          (found.routes || []).map((r) => [r.name, r.strategy, r.source, h("ul", { class: "plain" }, r.deployments.map((d) => h("li", {}, deploymentState(d))))]),
          { id: "routes" },
        ),
      );
    } catch (error) {
      clear(body).append(errorBox(error));
    }
  }
  refresh.addEventListener("click", load);
  await load();
  // Live: circuits open and close on their own; reload every few seconds while this page is shown.
  const timer = setInterval(() => {
    if (!body.isConnected) {
      clearInterval(timer);
      return;
    }
    load();
  }, REFRESH_MS);
}

export const REFRESH_MS = 3000;
