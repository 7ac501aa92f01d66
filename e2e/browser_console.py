#!/usr/bin/env python3
"""The usage page (/console) in a real browser.

A user with records on three days of the last month (written straight into the ledger's
tables of a fresh schema), the page opened in headless Chromium: the chart must show 30
days, one bar each, the right calls and cost per day and in total; the quota bars one per
service of the account; the latest records; and a recharge started from the page, paid on
the sandbox's page, must come back to the page with the balance raised.

Run by `make test` through scripts/browser-test.sh.
"""
import datetime
import json
import zoneinfo

from harness import http, psql, running_stack, wait_until

USER = "console_user"
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")


def seed(schema, today):
    """Five free calls four days ago, three paid ones (30 fen) two days ago, seven free now."""
    def noon(days_ago):
        day = today - datetime.timedelta(days=days_ago)
        return f"(timestamp '{day.isoformat()} 12:00' AT TIME ZONE 'Asia/Shanghai')"

    rows = [(1, 5, 0, noon(4)), (2, 3, 30, noon(2)), (1, 7, 0, "now()")]
    values = ", ".join(
        f"(nextval('billing_record_id_seq'), '{USER}', 'passport', {kind}, {count}, {fen}, 'seed-{index}', "
        f"'{today.strftime('%Y-%m')}', {instant})"
        for index, (kind, count, fen, instant) in enumerate(rows))
    psql(f"SET search_path = {schema}; INSERT INTO billing_record "
         f"(id, user_id, service_name, type, count, amount_fen, request_id, period, created_at) VALUES {values}")


def main():
    with running_stack("console") as stack:
        billing, driver = stack.billing, stack.driver
        today = datetime.datetime.now(ZONE).date()
        seed(stack.schema, today)
        page = f"{billing}/console?user_id={USER}"

        driver.open(page)
        wait_until("the page to load its data", lambda: driver.attribute(driver.find("body"), "data-loaded") == "true", 30)
        assert driver.text("#error") == "", driver.text("#error")
        assert driver.text("#chart-days") == "30", driver.text("#chart-days")
        bars = driver.find_all("#chart rect.bar")
        assert len(bars) == 30, f"{len(bars)} bars"
        assert driver.text("#chart-calls") == "15", driver.text("#chart-calls")
        assert driver.text("#chart-cost") == "¥0.30", driver.text("#chart-cost")
        by_day = {driver.attribute(bar, "data-day"): bar for bar in bars}
        assert by_day.keys() == {(today - datetime.timedelta(days=n)).isoformat() for n in range(30)}
        paid_day = by_day[(today - datetime.timedelta(days=2)).isoformat()]
        assert driver.attribute(paid_day, "data-calls") == "3" and driver.attribute(paid_day, "data-cost-fen") == "30"
        assert driver.attribute(by_day[today.isoformat()], "data-calls") == "7"
        assert driver.attribute(by_day[(today - datetime.timedelta(days=1)).isoformat()], "data-calls") == "0"
        assert len(driver.find_all("#records tr")) == 3
        status, text = http("GET", f"{billing}/api/v1/billing/account?user_id={USER}")
        quotas = json.loads(text)["data"]["quotas"]
        assert len(driver.find_all("#quotas .quota")) == len(quotas), f"{len(quotas)} quotas"
        assert driver.text("#balance") == "¥0.00", driver.text("#balance")

        driver.clear_and_type("#amount", "25.00")
        driver.click("#recharge")
        wait_until("the sandbox's pay page", lambda: driver.url().startswith(f"http://127.0.0.1:{stack.sandbox_http}/"), 30)
        assert driver.text("#amount").startswith("¥25.00"), driver.text("#amount")
        driver.click("#pay")
        wait_until("the payment paid", lambda: driver.text("#status") == "succeeded", 30)
        wait_until("billing's answer on the page", lambda: driver.text("#deliveries").startswith("HTTP 200"), 30)
        driver.click("#return")
        wait_until("the usage page again", lambda: driver.url().startswith(page), 30)
        wait_until("the page to load its data", lambda: driver.attribute(driver.find("body"), "data-loaded") == "true", 30)
        wait_until("the new balance", lambda: driver.text("#balance") == "¥25.00", 30)
        print(f"console browser test passed: 30 days charted, 15 calls and ¥0.30 read from the page; "
              f"recharged ¥25.00 from it")


if __name__ == "__main__":
    main()
