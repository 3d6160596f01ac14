# The two commands of the set-up contract are `make run` and `make test`; both install what is
# missing and build first. Heavy suites have their own targets and run small inside `make test`.

NODE ?= node
STAMP := node_modules/.install-stamp
DATA_DIR ?= $(CURDIR)/data

.PHONY: install build run test test-unit lint bench bench-smoke crash clean

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	npx tsc -b

# The server on its embedded default: data under the checkout, loopback, port 3900.
run: build
	$(NODE) dist/server/cli/main.js serve --host 127.0.0.1 --port 3900 --data-dir "$(DATA_DIR)"

lint: $(STAMP)
	npx biome check engine server test native-bench

test-unit: build
	$(NODE) --test --test-concurrency=2 $$(find dist/test -name "*.test.js" | sort)

test: build lint test-unit bench-smoke

crash: build
	ALLSOURCE_CRASH_ROUNDS=200 $(NODE) --test dist/test/crash/crash.test.js

bench-smoke: build
	$(NODE) dist/native-bench/main.js --smoke

bench: build
	$(NODE) dist/native-bench/main.js

clean:
	rm -rf dist
