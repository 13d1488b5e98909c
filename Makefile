SWIFT ?= swift
CONFIG ?= etc/outrider/outrider.yaml
# A group of suites that stalls fails after this long instead of holding the build; a full run takes a few minutes.
TEST_TIMEOUT ?= 20m
VERSION := $(shell sed -n 's/.*static let number = "\(.*\)".*/\1/p' Sources/Daemon/OutriderVersion.swift)

.PHONY: build test release run run-config clean version fuzz

build:
	$(SWIFT) build

# The suites that start real peers (three-process coordinator groups, PostgreSQL, serf agents, S3 servers) and hold
# short leases and failure-detection timings run after the rest, one group at a time, each group's tests in
# parallel: on a 2-core machine, all at once they starve each other's timers into false failures.
HEAVY_TESTS = CoordinationTests CoordinatorRoleTests ObjectStoreTests GossipRoleTests 'GossipNode|SerfInterop' \
  DaemonTests.CoordinatorProcessTests DaemonTests.GossipRoleProcessTests DaemonTests.DiscoveryProcessTests
HEAVY_REGEX = CoordinationTests|CoordinatorRoleTests|ObjectStoreTests|GossipRoleTests|GossipNode|SerfInterop|DaemonTests

# Tests in flight at once within a group: unbounded, five hundred start together and a 2-core machine stalls each
# for many seconds, past the short timeouts the proxy and lease tests configure.
TEST_WIDTH ?= 12

test:
	$(SWIFT) build --build-tests
	rm -f .build/xunit*.xml
	status=0; export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(TEST_WIDTH); \
	timeout $(TEST_TIMEOUT) $(SWIFT) test --skip-build --parallel --skip '$(HEAVY_REGEX)' --xunit-output .build/xunit-0.xml || status=1; \
	n=1; for group in $(HEAVY_TESTS); do \
	  timeout $(TEST_TIMEOUT) $(SWIFT) test --skip-build --parallel --filter "$$group" --xunit-output .build/xunit-$$n.xml || status=1; \
	  n=$$((n + 1)); \
	done; \
	timeout $(TEST_TIMEOUT) $(SWIFT) test --skip-build --parallel --filter DaemonTests \
	  --skip 'CoordinatorProcessTests|GossipRoleProcessTests|DiscoveryProcessTests' --xunit-output .build/xunit-$$n.xml || status=1; \
	python3 .ci/test-summary.py '.build/xunit*.xml' && exit $$status

# The shipped binary, in .build-release/release/outrider: static Swift standard library; full RELRO, as Debian's
# hardening asks of every binary; no run-time exclusivity checks, which cost the proxy about a sixth of its
# instructions per request (debug builds, and so the tests, keep them; see docs/performance.md).
release:
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-release --product outrider \
	  -Xswiftc -enforce-exclusivity=unchecked -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now

# The loopback demo (etc/outrider/demo.yaml): the proxy role on 127.0.0.1:$(DEMO_PORT) in front of a static origin
# on 127.0.0.1:$(DEMO_ORIGIN_PORT) that etc/outrider/demo/run.sh starts and stops; Ctrl-C stops both.
DEMO_PORT ?= 8080
DEMO_ORIGIN_PORT ?= 8000
DEMO_ADMIN_PORT ?= 9901
DEMO_GOSSIP_PORT ?= 7946
DEMO_PEER_PORT ?= 9902

run: build
	DEMO_PORT=$(DEMO_PORT) DEMO_ORIGIN_PORT=$(DEMO_ORIGIN_PORT) DEMO_ADMIN_PORT=$(DEMO_ADMIN_PORT) \
	  DEMO_GOSSIP_PORT=$(DEMO_GOSSIP_PORT) DEMO_PEER_PORT=$(DEMO_PEER_PORT) \
	  bash etc/outrider/demo/run.sh "$$($(SWIFT) build --show-bin-path)/outrider"

# The daemon on $(CONFIG) alone, in the foreground.
run-config: build
	$(SWIFT) run outrider run --config $(CONFIG)

version:
	@echo $(VERSION)

clean:
	rm -rf .build

.PHONY: deb package-test

# dist/outrider_<version>-<revision>_<arch>.deb; DEB_REVISION defaults to 1.
deb:
	bash packaging/build-deb.sh

# Builds the .deb, checks it with lintian and systemd-analyze, then installs, upgrades and purges it in a
# throw-away Debian 12 root. Needs root.
package-test:
	bash packaging/package-test.sh

# libFuzzer over the gossip packet decoders (docs/gossip-wire.md): the wire and serf sources of Sources/Membership,
# instrumented, linked with the swift-crypto objects of the debug build, seeded with the captured serf packets and
# run for FUZZ_TIME seconds.
FUZZ_TIME ?= 60
FUZZ_DIR ?= .build/fuzz
FUZZ_BUILD := .build/debug
FUZZ_CRYPTO := .build/checkouts/swift-crypto/Sources
FUZZ_SOURCES := $(wildcard Sources/Membership/Wire/*.swift) $(wildcard Sources/Membership/Serf/*.swift) Fuzz/PacketDecoderFuzz.swift

fuzz:
	$(SWIFT) build --target Membership
	mkdir -p $(FUZZ_DIR)/corpus
	cp Tests/MembershipTests/Resources/serf-0.9.4/plain/*.bin $(FUZZ_DIR)/corpus/
	for f in Tests/MembershipTests/Resources/serf-0.9.4/encrypted/*.bin; do cp $$f $(FUZZ_DIR)/corpus/encrypted-$$(basename $$f); done
	swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name Membership -module-cache-path $(FUZZ_DIR)/cache \
	  -I $(FUZZ_BUILD)/Modules \
	  -Xcc -fmodule-map-file=$(FUZZ_CRYPTO)/CCryptoBoringSSL/include/module.modulemap \
	  -Xcc -fmodule-map-file=$(FUZZ_CRYPTO)/CCryptoBoringSSLShims/include/module.modulemap \
	  -Xcc -fmodule-map-file=$(FUZZ_BUILD)/CryptoBoringWrapper.build/include/module.modulemap \
	  -o $(FUZZ_DIR)/packet-decoders $(FUZZ_SOURCES) \
	  $$(find $(FUZZ_BUILD)/Crypto.build $(FUZZ_BUILD)/CryptoBoringWrapper.build $(FUZZ_BUILD)/CCryptoBoringSSL.build \
	    $(FUZZ_BUILD)/CCryptoBoringSSLShims.build $(FUZZ_BUILD)/CXKCP.build $(FUZZ_BUILD)/CXKCPShims.build -name '*.o')
	$(FUZZ_DIR)/packet-decoders -max_total_time=$(FUZZ_TIME) -max_len=4096 -rss_limit_mb=1024 $(FUZZ_DIR)/corpus
