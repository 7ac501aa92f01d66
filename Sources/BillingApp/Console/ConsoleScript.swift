/// The script of /console: reads the console API (account, daily statistics, records) for
/// the user in the page's `user_id` parameter and starts recharges. Amounts are shown as the
/// API's yuan text or from integer fen, never through floating point.
enum ConsoleScript {
    static let javascript = """
        "use strict";
        const $ = (id) => document.getElementById(id);
        const SVG = "http://www.w3.org/2000/svg";
        let user = new URLSearchParams(location.search).get("user_id") || "";

        function yuan(fen) {
          const sign = fen < 0 ? "-" : "";
          const abs = Math.abs(fen);
          return sign + "¥" + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0");
        }

        async function api(path, options) {
          const url = new URL(path, location.origin);
          if (user) url.searchParams.set("user_id", user);
          const response = await fetch(url, Object.assign({ headers: { "Content-Type": "application/json" } }, options || {}));
          const body = await response.json();
          if (!body.success) throw new Error(body.error.code + ": " + body.error.message);
          return body.data;
        }

        function element(tag, attributes, text) {
          const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
          for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
          if (text !== undefined) node.textContent = text;
          return node;
        }

        function showAccount(account) {
          $("balance").textContent = yuan(account.balanceFen);
          $("held").textContent = yuan(account.heldFen);
          $("available").textContent = yuan(account.availableFen);
          const quotas = $("quotas");
          quotas.replaceChildren();
          for (const quota of account.quotas) {
            const total = Math.max(quota.totalQuota, 1);
            const row = element("div", { class: "quota", "data-service": quota.serviceName });
            row.append(element("div", {}, quota.serviceName));
            const track = element("div", { class: "track" });
            track.append(element("div", { class: "used", style: "width:" + (100 * quota.usedQuota / total) + "%" }));
            track.append(element("div", { class: "held", style: "width:" + (100 * quota.heldQuota / total) + "%" }));
            row.append(track);
            row.append(element("div", { class: "num" }, quota.usedQuota + " / " + quota.totalQuota + " used"));
            quotas.append(row);
          }
          if (account.quotas.length === 0) quotas.append(element("p", {}, "No free quota used this month yet."));
        }

        function showDaily(stats) {
          const chart = $("chart");
          chart.replaceChildren();
          const days = stats.days;
          const width = 920, height = 220, left = 40, bottom = 30, top = 10;
          const slot = (width - left) / Math.max(days.length, 1);
          const maxCalls = Math.max(1, ...days.map((d) => d.totalCount));
          const maxCost = Math.max(1, ...days.map((d) => d.totalCostFen));
          const plot = height - bottom - top;
          chart.append(element("svg:text", { x: 0, y: top + 10 }, String(maxCalls)));
          days.forEach((day, index) => {
            const x = left + index * slot;
            const barHeight = plot * day.totalCount / maxCalls;
            const bar = element("svg:rect", {
              class: "bar", x: x + slot * 0.15, y: top + plot - barHeight, width: slot * 0.7, height: barHeight,
              "data-day": day.day, "data-calls": day.totalCount, "data-cost-fen": day.totalCostFen,
            });
            bar.append(element("svg:title", {}, day.day + ": " + day.totalCount + " calls, " + yuan(day.totalCostFen)));
            chart.append(bar);
            if (day.totalCostFen > 0) {
              chart.append(element("svg:circle", {
                class: "cost", cx: x + slot / 2, cy: top + plot - plot * day.totalCostFen / maxCost, r: 3,
              }));
            }
            if (index % Math.ceil(days.length / 10) === 0) {
              chart.append(element("svg:text", { x: x, y: height - 10 }, day.day.slice(5)));
            }
          });
          $("chart-days").textContent = String(days.length);
          $("chart-calls").textContent = String(days.reduce((sum, d) => sum + d.totalCount, 0));
          $("chart-cost").textContent = yuan(days.reduce((sum, d) => sum + d.totalCostFen, 0));
        }

        function showRecords(page) {
          const body = $("records");
          body.replaceChildren();
          for (const record of page.records) {
            const row = element("tr");
            row.append(element("td", {}, new Date(record.createdAt).toLocaleString()));
            row.append(element("td", {}, record.serviceName));
            row.append(element("td", {}, record.typeName));
            row.append(element("td", { class: "num" }, String(record.count)));
            row.append(element("td", { class: "num" }, yuan(record.amountFen)));
            body.append(row);
          }
        }

        async function load() {
          $("error").textContent = "";
          if (!user) { $("error").textContent = "Enter a user."; return; }
          try {
            const [account, daily, records] = await Promise.all([
              api("/api/v1/billing/account"), api("/api/v1/billing/stats/daily"),
              api("/api/v1/billing/records?page_size=10"),
            ]);
            showAccount(account);
            showDaily(daily);
            showRecords(records);
            document.body.dataset.loaded = "true";
          } catch (error) {
            $("error").textContent = error.message;
          }
        }

        async function recharge() {
          $("error").textContent = "";
          try {
            const order = await api("/api/v1/billing/recharge", {
              method: "POST",
              body: JSON.stringify({ amount: $("amount").value.trim(), payment_method: "alipay", return_url: location.href }),
            });
            location.assign(order.paymentUrl);
          } catch (error) {
            $("error").textContent = error.message;
          }
        }

        $("user").value = user;
        $("load").addEventListener("click", () => {
          user = $("user").value.trim();
          const url = new URL(location.href);
          url.searchParams.set("user_id", user);
          history.replaceState(null, "", url);
          load();
        });
        $("recharge").addEventListener("click", recharge);
        load();
        """
}
