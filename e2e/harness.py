"""What the browser tests share: free ports, HTTP, polling, a minimal WebDriver client over
chromedriver, and the running stack (payment-sandbox, billing-server over a fresh schema,
chromedriver). Only the Python standard library is used.
"""
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "debug")
SECRET = "browser-test-callback-secret"
W3C_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    """A free port below Linux's ephemeral range (32768-60999), so no outgoing connection
    takes it before the server binds it."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def http(method, url, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until(what, probe, seconds=60):
    """Polls `probe`; an error while the page is changing (a stale element, a refused
    connection) means "not yet"."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except (OSError, AssertionError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class WebDriver:
    """The few WebDriver commands the test needs, over chromedriver's HTTP API."""

    def __init__(self, port, profile):
        self.base = f"http://127.0.0.1:{port}"
        args = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
        ]
        capabilities = {"browserName": "chrome", "goog:chromeOptions": {"binary": chromium(), "args": args}}
        self.session = self.command("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})["sessionId"]

    def command(self, method, path, body=None):
        status, text = http(method, self.base + path, body if body is not None else ({} if method == "POST" else None))
        value = json.loads(text).get("value")
        if status != 200:
            raise AssertionError(f"WebDriver {method} {path}: {status} {value}")
        return value

    def open(self, url):
        self.command("POST", f"/session/{self.session}/url", {"url": url})

    def find(self, css):
        found = self.command("POST", f"/session/{self.session}/element", {"using": "css selector", "value": css})
        if not isinstance(found, dict) or W3C_ELEMENT not in found:
            raise AssertionError(f"no element {css}: {found}")
        return found[W3C_ELEMENT]

    def text(self, css):
        return self.command("GET", f"/session/{self.session}/element/{self.find(css)}/text")

    def click(self, css):
        self.command("POST", f"/session/{self.session}/element/{self.find(css)}/click", {})

    def url(self):
        return self.command("GET", f"/session/{self.session}/url")

    def find_all(self, css):
        found = self.command("POST", f"/session/{self.session}/elements", {"using": "css selector", "value": css})
        return [element[W3C_ELEMENT] for element in found]

    def attribute(self, element, name):
        return self.command("GET", f"/session/{self.session}/element/{element}/attribute/{name}")

    def clear_and_type(self, css, text):
        element = self.find(css)
        self.command("POST", f"/session/{self.session}/element/{element}/clear", {})
        self.command("POST", f"/session/{self.session}/element/{element}/value", {"text": text})

    def quit(self):
        try:
            self.command("DELETE", f"/session/{self.session}")
        except (AssertionError, OSError):
            pass


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("chromium is not installed (scripts/browser-test.sh installs it)")


def psql(sql):
    subprocess.run(
        ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-d", os.environ.get("BILLING_TEST_DATABASE", "billing_test"), "-c", sql],
        check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))




class Stack:
    """Ports and handles of a running stack."""

    def __init__(self, schema, billing, sandbox_http, driver):
        self.schema = schema
        self.billing = billing
        self.sandbox_http = sandbox_http
        self.driver = driver


@contextlib.contextmanager
def running_stack(user_prefix="browser"):
    """payment-sandbox, billing-server (a fresh schema, migrated on start) and chromedriver,
    with a WebDriver session; everything stopped and dropped afterwards. On failure the
    last lines of each process's log are printed."""
    schema = f"{user_prefix}_{os.getpid()}_{int(time.time())}"
    ports = set()
    while len(ports) < 5:
        ports.add(free_port())
    http_port, grpc_port, sandbox_grpc, sandbox_http, driver_port = ports
    billing = f"http://127.0.0.1:{http_port}"
    env = dict(os.environ)
    env.update({
        "BILLING_ENVIRONMENT": "development",
        "BILLING_DATABASE_HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "BILLING_DATABASE_PORT": os.environ.get("PGPORT", "54329"),
        "BILLING_DATABASE_USER": os.environ.get("PGUSER", "billing"),
        "BILLING_DATABASE_NAME": os.environ.get("BILLING_TEST_DATABASE", "billing_test"),
        "BILLING_DATABASE_SCHEMA": schema,
        "BILLING_DATABASE_MIGRATIONS_PATH": os.path.join(ROOT, "sql"),
        "BILLING_REDIS_PORT": os.environ.get("REDIS_PORT", "63799"),
        "BILLING_REDIS_NAMESPACE": f"test-{schema}",
        "BILLING_HTTP_PORT": str(http_port),
        "BILLING_GRPC_PORT": str(grpc_port),
        "BILLING_PAYMENT_SERVICE_PORT": str(sandbox_grpc),
        "BILLING_PAYMENT_SERVICE_CALLBACK_SECRET": SECRET,
        "BILLING_PAYMENT_SERVICE_NOTIFY_URL": f"{billing}/internal/v1/billing/callback",
        "PAYMENT_SANDBOX_CALLBACK_SECRET": SECRET,
    })
    psql(f"CREATE SCHEMA {schema}")
    profile = tempfile.mkdtemp(prefix="billing-chromium-")
    processes, driver = [], None
    logs = tempfile.mkdtemp(prefix="billing-browser-logs-")
    try:
        def start(name, args):
            log = open(os.path.join(logs, f"{name}.log"), "w")
            processes.append((name, subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)))

        start("payment-sandbox", [os.path.join(BIN, "payment-sandbox"),
                                  "--grpc-port", str(sandbox_grpc), "--http-port", str(sandbox_http)])
        start("billing-server", [os.path.join(BIN, "billing-server"), "serve", "--config", ""])
        start("chromedriver", [shutil.which("chromedriver") or "chromedriver", f"--port={driver_port}"])
        wait_until("the sandbox", lambda: http("GET", f"http://127.0.0.1:{sandbox_http}/health")[0] == 200)
        wait_until("billing", lambda: http("GET", f"{billing}/health")[0] == 200)
        wait_until("chromedriver", lambda: http("GET", f"http://127.0.0.1:{driver_port}/status")[0] == 200)

        driver = WebDriver(driver_port, profile)
        yield Stack(schema, billing, sandbox_http, driver)
    except BaseException:
        for name in os.listdir(logs):
            print(f"--- {name} (last lines)", file=sys.stderr)
            with open(os.path.join(logs, name)) as log:
                print("".join(log.readlines()[-20:]), file=sys.stderr)
        raise
    finally:
        if driver:
            driver.quit()
        for _, process in reversed(processes):
            process.terminate()
        for _, process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
        psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

