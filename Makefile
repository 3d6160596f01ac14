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

# Until the server lands, `make run` opens the store on the embedded default and reports on it.
run: build
	$(NODE) dist/native-bench/store_info.js --data-dir "$(DATA_DIR)"

lint: $(STAMP)
	npx biome check engine test native-bench

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
