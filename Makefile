# The commands of the README. `make test` is what CI runs.
SHELL := /bin/bash
SERVICES := scripts/services.sh
# Swift Testing only: XCTest's closing "Executed 0 tests" line would read as "no test ran".
SWIFT_TEST_FLAGS := --disable-xctest

.PHONY: citus-up citus-down build test test-scale bench-scale test-browser test-example run run-cron run-all stop-all bench proto services-up services-down services-status clean

build:
	swift build

services-up:
	$(SERVICES) up

services-down:
	$(SERVICES) down

services-status:
	$(SERVICES) status

# The restart suites stop the shared PostgreSQL or Redis, so they run alone, after the rest.
# The scale suites need Citus and Redis Cluster: `make test-scale`.
RESTART_SUITES := PostgresRestartTests|RedisRestartTests
SCALE_SUITES := BillingScaleTests|ScaleReshardRouteTests
test: services-up
	swift build --build-tests
	eval "$$($(SERVICES) env)" && swift test $(SWIFT_TEST_FLAGS) --skip "$(RESTART_SUITES)|$(SCALE_SUITES)"
	eval "$$($(SERVICES) env)" && swift test $(SWIFT_TEST_FLAGS) --filter "$(RESTART_SUITES)"
	$(MAKE) test-example
	scripts/browser-test.sh
	scripts/check-deploy.sh

# Against Citus (a coordinator, two workers) and a Redis Cluster (three masters), on
# loopback (docs/scaling.md); not part of `make test`. First every suite that is not about
# plain PostgreSQL's own planner or restarts, with every test schema distributed and the
# cache on the cluster (two server instances included: TwoInstancesTests); then the suites
# that assert wall-clock timings, alone (three PostgreSQL servers share two cores here);
# then the scale suites one at a time: one-worker transactions, a worker restarted
# mid-load, a reshard and a Redis master restarted, checks and deductions over HTTP
# while slots move.
SCALE_ENV = eval "$$($(SERVICES) env)" && eval "$$(scripts/citus.sh env)" && eval "$$(scripts/redis-cluster.sh env)" \
	&& export BILLING_TEST_CITUS=1
TIMED_SUITES := JobTests|PoolTests|PaymentFlowTests|LaneHardeningTests
test-scale: services-up
	$(SERVICES) citus-up
	$(SERVICES) cluster-up
	swift build --build-tests
	$(SCALE_ENV) && swift test $(SWIFT_TEST_FLAGS) \
		--skip "$(RESTART_SUITES)|LanePlanTests|$(SCALE_SUITES)|$(TIMED_SUITES)"
	$(SCALE_ENV) && swift test $(SWIFT_TEST_FLAGS) --filter "$(TIMED_SUITES)"
	$(SCALE_ENV) && swift test $(SWIFT_TEST_FLAGS) --filter BillingScaleTests
	$(SCALE_ENV) && swift test $(SWIFT_TEST_FLAGS) --filter ScaleReshardRouteTests

# Another package embedding the BillingCore product by path, with in-memory adapters.
test-example:
	swift run --package-path Examples/EmbeddedBilling EmbeddedBilling

# Only the browser test: headless Chromium pays a recharge on the sandbox's page.
test-browser: services-up
	scripts/browser-test.sh

# Services up, build, migrate; the payment sandbox in the background and the server in the
# foreground with the development config. Ctrl-C stops both cleanly.
run: services-up build
	scripts/run.sh

clean:
	swift package clean

# Deductions/s through the store: lanes against the naive transaction-per-deduction design,
# in one run on the local PostgreSQL. BENCH_LANES and BENCH_SECONDS tune it.
bench: services-up
	swift build -c release --product LaneBenchmark
	eval "$$($(SERVICES) env)" && .build/release/LaneBenchmark 2>/dev/null

# The lanes on the single local PostgreSQL and on the local Citus cluster, same run.
bench-scale: services-up
	$(SERVICES) citus-up
	swift build -c release --product LaneBenchmark
	eval "$$($(SERVICES) env)" && BENCH_MODE=scale .build/release/LaneBenchmark 2>/dev/null

# The cron daemon in the foreground (Ctrl-C stops it after the running job).
run-cron: services-up build
	.build/debug/billing-cron run --config configs/config.yaml

# Server, cron and payment sandbox in the background, logs in logs/; `make stop-all` stops them.
run-all: services-up build
	mkdir -p logs
	nohup .build/debug/payment-sandbox > logs/payment-sandbox.log 2>&1 & echo $$! > logs/payment-sandbox.pid
	nohup .build/debug/billing-server serve --config configs/config.yaml > logs/billing-server.log 2>&1 & echo $$! > logs/billing-server.pid
	nohup .build/debug/billing-cron run --config configs/config.yaml > logs/billing-cron.log 2>&1 & echo $$! > logs/billing-cron.pid
	@echo "billing-server (pid $$(cat logs/billing-server.pid)) on http://127.0.0.1:8107, billing-cron (pid $$(cat logs/billing-cron.pid)), payment-sandbox (pid $$(cat logs/payment-sandbox.pid)) on http://127.0.0.1:9102; logs in logs/"

stop-all:
	@for name in billing-cron billing-server payment-sandbox; do \
	  if [ -f logs/$$name.pid ]; then kill -TERM $$(cat logs/$$name.pid) 2>/dev/null && echo "stopped $$name"; rm -f logs/$$name.pid; fi; \
	done

# Regenerates Sources/BillingProto from proto/ (builds the protoc plugins outside the repo).
proto:
	scripts/gen-proto.sh

# A local Citus coordinator and two workers (issue 20, docs/scaling.md); builds Citus from
# the vendored tarball when missing. Not part of `make test`.
citus-up:
	scripts/citus.sh up

citus-down:
	scripts/citus.sh down
