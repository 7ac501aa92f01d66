#!/usr/bin/env python3
"""A recharge paid in a real browser.

Starts payment-sandbox and billing-server (the built binaries, on free ports, over a fresh
PostgreSQL schema), starts a recharge over billing's HTTP API, then headless Chromium,
driven through chromedriver's WebDriver API, opens the pay_url, clicks Pay, waits for the
sandbox page to show the payment paid and billing's 200, follows the page's link back to
the account, and reads the new balance there. Only the Python standard library is used.

Run by `make test` through scripts/browser-test.sh (which installs chromium and
chromium-driver and starts PostgreSQL and Redis).
"""
import json

from harness import http, running_stack, wait_until

USER = "browser_user"


def main():
    with running_stack("browser") as stack:
        billing, driver = stack.billing, stack.driver
        account_url = f"{billing}/api/v1/billing/account?user_id={USER}"
        status, text = http("POST", f"{billing}/api/v1/billing/recharge?user_id={USER}",
                            {"amount": "88.80", "payment_method": "wechat", "return_url": account_url})
        assert status == 200, f"recharge answered {status}: {text}"
        order = json.loads(text)["data"]
        print(f"order {order['orderId']} -> {order['paymentUrl']}")

        driver.open(order["paymentUrl"])
        assert driver.text("#amount").startswith("¥88.80"), driver.text("#amount")
        assert driver.text("#status") == "pending"
        driver.click("#pay")
        wait_until("the page to show the payment paid", lambda: driver.text("#status") == "succeeded", 30)
        wait_until("billing's answer on the page", lambda: driver.text("#deliveries") != "", 30)
        deliveries = driver.text("#deliveries")
        assert deliveries.startswith("HTTP 200"), f"billing's answer to the callback: {deliveries}"

        driver.click("#return")
        wait_until("the account page", lambda: driver.url().startswith(account_url), 30)
        wait_until("the account's JSON", lambda: json.loads(driver.text("body"))["data"]["balanceFen"] is not None, 30)
        account = json.loads(driver.text("body"))["data"]
        assert account["balanceFen"] == 8880, f"balance after paying: {account}"
        status, text = http("GET", f"{billing}/api/v1/billing/recharge/orders/{order['orderId']}?user_id={USER}")
        assert json.loads(text)["data"]["status"] == "success", text
        fen = account["balanceFen"]
        print(f"browser test passed: clicked Pay, the account shows {fen // 100}.{fen % 100:02d} yuan")


if __name__ == "__main__":
    main()
