// Stored API keys (admin API): list, create (the secret is shown once), rotate, revoke.

import { api } from "./api.js";
import { clear, confirmButton, errorBox, h, table, when } from "./dom.js";

export const title = "Keys";

function number(id, label, max) {
  return h("label", {}, label, h("input", { id, name: id, type: "number", min: 1, max, inputmode: "numeric" }));
}

function secretBox(created) {
  const value = h("code", { class: "secret", id: "new-secret" }, created.secret);
  const copy = h("button", { type: "button", class: "quiet" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Select and copy it by hand";
    }
  });
  return h(
    "div",
    { class: "notice", role: "status" },
    h("p", {}, h("strong", {}, `Key ${created.key.id} for tenant ${created.key.tenant_id}. `), "This secret is shown once; store it now."),
    h("p", { class: "row" }, value, copy),
  );
}

export async function render(main) {
  const tenantFilter = h("input", { id: "keys-tenant", name: "tenant", placeholder: "every reachable tenant", autocomplete: "off", size: 16 });
  const list = h("div");
  const notice = h("div", { "aria-live": "polite" });
  const scopes = ["read", "chat", "admin"].map((scope) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "scopes", value: scope, checked: scope === "chat" }), scope),
  );
  const tenant = h("input", { id: "key-tenant", name: "tenant_id", placeholder: "own tenant", autocomplete: "off", size: 14 });
  const create = h(
    "form",
    { class: "card", id: "create-key" },
    h("h2", {}, "Create a key"),
    h("fieldset", {}, h("legend", {}, "Scopes"), scopes),
    h("div", { class: "row" },
      h("label", {}, "Tenant (operator)", tenant),
      number("expires_in_days", "Expires in days", 3650),
      number("requests_per_minute", "Requests/min", 10000000),
      number("tokens_per_minute", "Tokens/min", 10000000),
      number("concurrent_streams", "Streams", 10000)),
    h("button", { type: "submit" }, "Create key"),
  );

  async function load() {
    const query = tenantFilter.value.trim() ? `?${new URLSearchParams({ tenant: tenantFilter.value.trim() })}` : "";
    try {
      const keys = (await api(`/v1/admin/keys${query}`)).data;
      clear(list).append(
        keys.length
          ? table(
              "Stored keys (configured keys are not listed)",
              ["Key", "Tenant", "Scopes", "Status", "Created", "Expires", "Limits", ""],
              keys.map((k) => [
                h("span", {}, k.id, h("br"), h("small", { class: "muted" }, `${k.prefix}…`)),
                k.tenant_id,
                k.scopes.join(", "),
                h("span", { class: `badge ${k.status === "active" ? "ok" : "bad"}` }, k.status),
                when(k.created_at),
                when(k.expires_at),
                [k.requests_per_minute && `${k.requests_per_minute} req/min`, k.tokens_per_minute && `${k.tokens_per_minute} tok/min`, k.concurrent_streams && `${k.concurrent_streams} streams`].filter(Boolean).join(", ") || "defaults",
                k.status === "active"
                  ? h("span", { class: "row-actions" },
                      confirmButton("Rotate", "Confirm rotate", () => act(`/v1/admin/keys/${encodeURIComponent(k.id)}/rotate`, "POST")),
                      confirmButton("Revoke", "Confirm revoke", () => act(`/v1/admin/keys/${encodeURIComponent(k.id)}`, "DELETE")))
                  : "",
              ]),
              { id: "keys" },
            )
          : h("p", { class: "muted" }, "No stored keys yet."),
      );
    } catch (error) {
      clear(list).append(errorBox(error));
    }
  }

  async function act(path, method) {
    try {
      const result = await api(path, { method });
      clear(notice);
      if (result && result.secret) notice.append(secretBox(result));
      else notice.append(h("p", { class: "notice", role: "status" }, `Key ${result.id} revoked.`));
    } catch (error) {
      clear(notice).append(errorBox(error));
    }
    await load();
  }

  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(create);
    const body = { scopes: data.getAll("scopes") };
    if (tenant.value.trim()) body.tenant_id = tenant.value.trim();
    for (const field of ["expires_in_days", "requests_per_minute", "tokens_per_minute", "concurrent_streams"]) {
      if (data.get(field)) body[field] = Number(data.get(field));
    }
    try {
      const created = await api("/v1/admin/keys", { method: "POST", body });
      clear(notice).append(secretBox(created));
      create.reset();
    } catch (error) {
      clear(notice).append(errorBox(error));
    }
    await load();
  });
  const filter = h("form", { class: "row" }, h("label", {}, "Tenant (operator)", tenantFilter), h("button", { type: "submit", class: "quiet" }, "Filter"));
  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  main.append(h("section", { class: "card" }, h("h1", {}, "API keys"), notice, filter, list), create);
  await load();
}
