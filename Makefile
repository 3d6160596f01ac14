# The two commands of the set-up contract are `make run` and `make test`; both install what is
# missing and build first. Heavy suites have their own targets and run small inside `make test`.

NODE ?= node
STAMP := node_modules/.install-stamp
DATA_DIR ?= $(CURDIR)/data

.PHONY: install build run test test-unit lint browser bench bench-smoke crash soak clean

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	npx tsc -b

# The server on its embedded default: data under the checkout, loopback, port 3900.
# Logs are readable lines here (a person is watching); ALLSOURCE_LOGGING_FORMAT=json overrides.
run: build
	ALLSOURCE_LOGGING_FORMAT=$${ALLSOURCE_LOGGING_FORMAT:-pretty} \
	  $(NODE) dist/server/cli/main.js serve --host 127.0.0.1 --port 3900 --data-dir "$(DATA_DIR)"

lint: $(STAMP)
	npx biome check engine server test native-bench

test-unit: build
	$(NODE) --test --test-concurrency=2 $$(find dist/test -name "*.test.js" | sort)

# Debian's Chromium, for the test that loads /docs in a real browser. Installed when missing and
# apt-get is usable; CI sets ALLSOURCE_REQUIRE_BROWSER=1 so that the test fails without it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian package) for the /docs browser test"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	      echo "could not install chromium"; \
	  else echo "chromium is missing: the /docs browser test will skip"; fi; }

test: build lint browser test-unit bench-smoke

crash: build
	ALLSOURCE_CRASH_ROUNDS=200 $(NODE) --test dist/test/crash/crash.test.js

# A real server under a mixed load, five minutes unless ALLSOURCE_SOAK_SECONDS says otherwise
# (15 s inside `make test`).
ALLSOURCE_SOAK_SECONDS ?= 300
soak: build
	ALLSOURCE_SOAK_SECONDS=$(ALLSOURCE_SOAK_SECONDS) $(NODE) --test dist/test/soak/soak.test.js

bench-smoke: build
	$(NODE) dist/native-bench/main.js --smoke

# `make bench ONLY=engine,peers` runs a subset of the suites.
bench: build
	$(NODE) dist/native-bench/main.js $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf dist
