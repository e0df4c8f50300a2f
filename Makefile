# dagkit: five small programs over one library.  See README.md.
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
WARN = -Wall -Wextra -Werror -std=c11
CPPFLAGS += -D_GNU_SOURCE -isystem /usr/include/bsd -DLIBBSD_OVERLAY
# libbsd, libmd and xxhash linked in: every dag-step a cluster job or a
# make recipe starts then maps two libraries fewer (0.19 ms of 1.3 ms to
# start here: bench/README.md).
LDLIBS = -ljq -Wl,-Bstatic -lbsd -lmd -lxxhash -Wl,-Bdynamic -lm

PROGS = dag-validate dag-plan dag-run dag-step dag-status
LIBSRC = $(wildcard lib/*.c)
LIBHDR = $(wildcard lib/*.h)

BUILD ?= build
OBJ = $(LIBSRC:lib/%.c=$(BUILD)/obj/%.o)
LIB = $(BUILD)/libdagkit.a
BINS = $(PROGS:%=$(BUILD)/bin/%)

# Debian packages the build, the tests and the demo need.
PKGS_BUILD = gcc make libjq-dev libbsd-dev libxxhash-dev jq
PKGS_TEST = bats bats-support bats-assert bats-file mandoc procps xxhash \
	python3-jsonschema shellcheck chromium make valgrind strace

.PHONY: all check test test-asan test-valgrind demo deps deps-test clean lint bench fuzz \
	install uninstall unit soak

all: $(BINS)

$(BUILD)/obj/%.o: lib/%.c $(LIBHDR) | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

$(LIB): $(OBJ)
	rm -f $@
	$(AR) rcs $@ $(OBJ)

$(BUILD)/bin/%: cmd/%.c $(LIB) $(LIBHDR) | $(BUILD)/bin
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/obj $(BUILD)/bin $(BUILD)/unit:
	mkdir -p $@

# C test programs of the library (tests/unit/*.c), run by make test.
UNITS = $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/*.c))

$(BUILD)/unit/%: tests/unit/%.c $(LIB) $(LIBHDR) | $(BUILD)/unit
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) \
	    $(LDLIBS) -lpthread

unit: $(UNITS)
	for u in $(UNITS); do $(UNIT_RUN) $$u || exit 1; done

# Installs what is missing, and only that (CI runs as root on Debian).
deps:
	@sh tests/deps.sh $(PKGS_BUILD)

deps-test:
	@sh tests/deps.sh $(PKGS_BUILD) $(PKGS_TEST)

check: deps-test
	$(MAKE) all
	$(MAKE) lint
	$(MAKE) test
	$(MAKE) test-asan
	$(MAKE) test-valgrind

test: all unit
	DAGKIT_BIN=$(CURDIR)/$(BUILD)/bin bats --jobs 1 tests

# The same suite against an AddressSanitizer + UBSan build.
test-asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=70 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=70 \
	    $(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" LDFLAGS="-fsanitize=address,undefined" all unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=70 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=70 \
	    DAGKIT_BIN=$(CURDIR)/build/asan/bin bats --jobs 1 tests

# The same suite once more under valgrind memcheck: leaks and bad reads
# fail a test through exit status 70.  DAGKIT_SLOW tells the few tests that
# move hundreds of megabytes to allow valgrind's pace.
VALGRIND = valgrind -q --error-exitcode=70 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite \
	--suppressions=$(CURDIR)/tests/valgrind.supp
test-valgrind: all
	@sh tests/deps.sh valgrind
	mkdir -p build/valgrind/bin
	for p in $(PROGS); do \
	    printf '#!/bin/sh\nexec %s "%s" "$$@"\n' "$(VALGRIND)" \
	        "$(CURDIR)/$(BUILD)/bin/$$p" > build/valgrind/bin/$$p; \
	    chmod +x build/valgrind/bin/$$p; \
	done
	$(MAKE) unit UNIT_RUN="$(VALGRIND)"
	DAGKIT_SLOW=1 DAGKIT_BIN=$(CURDIR)/build/valgrind/bin bats --jobs 1 tests

# The man pages, and the rules of the tree a script can check.
lint:
	mandoc -Tlint -W warning man/*.1
	sh tests/lint.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, their man
# pages, the bash completion (one file, linked under each program's name)
# and share/ (schema, import.jq, examples) in $(PREFIX)/share/dagkit.
# make uninstall, with the same PREFIX and DESTDIR, removes them.
INSTALL ?= install
BINDIR = $(PREFIX)/bin
MAN1DIR = $(PREFIX)/share/man/man1
COMPDIR = $(PREFIX)/share/bash-completion/completions
DATADIR = $(PREFIX)/share/dagkit
MANPAGES = $(wildcard man/*.1)
EXAMPLES = $(wildcard share/examples/*)

install:
	$(MAKE) all
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MAN1DIR)" \
	    "$(DESTDIR)$(COMPDIR)" "$(DESTDIR)$(DATADIR)/examples"
	$(INSTALL) -m 755 $(BINS) "$(DESTDIR)$(BINDIR)"
	$(INSTALL) -m 644 $(MANPAGES) "$(DESTDIR)$(MAN1DIR)"
	$(INSTALL) -m 644 share/completion/dagkit.bash \
	    "$(DESTDIR)$(COMPDIR)/dag-validate"
	for p in $(filter-out dag-validate,$(PROGS)); do \
	    ln -sf dag-validate "$(DESTDIR)$(COMPDIR)/$$p" || exit 1; \
	done
	$(INSTALL) -m 644 share/dag.schema.json share/import.jq \
	    "$(DESTDIR)$(DATADIR)"
	$(INSTALL) -m 644 $(EXAMPLES) "$(DESTDIR)$(DATADIR)/examples"
	chmod 755 "$(DESTDIR)$(DATADIR)/examples/demo.sh"

uninstall:
	for p in $(PROGS); do \
	    rm -f "$(DESTDIR)$(BINDIR)/$$p" "$(DESTDIR)$(COMPDIR)/$$p"; \
	done
	for m in $(notdir $(MANPAGES)); do rm -f "$(DESTDIR)$(MAN1DIR)/$$m"; done
	for f in $(notdir $(EXAMPLES)); do \
	    rm -f "$(DESTDIR)$(DATADIR)/examples/$$f"; \
	done
	rm -f "$(DESTDIR)$(DATADIR)/dag.schema.json" "$(DESTDIR)$(DATADIR)/import.jq"
	rmdir "$(DESTDIR)$(DATADIR)/examples" "$(DESTDIR)$(DATADIR)" 2>/dev/null || true

demo: deps all
	@sh share/examples/demo.sh $(BUILD)/bin

bench: deps all
	@sh bench/run.sh

# kill -9 and resume, round after round (SOAK_ROUNDS, SOAK_SECONDS): long,
# so not part of check.
soak: deps all
	@bash tests/soak.sh

clean:
	rm -rf $(BUILD) build

# libFuzzer + ASan/UBSan harnesses (clang); FUZZ_TIME seconds per target.
FUZZ_TIME ?= 60
FUZZERS = load duration template journal cachelog
fuzz:
	@sh tests/deps.sh clang libclang-rt-14-dev
	mkdir -p build/fuzz
	for f in $(FUZZERS); do \
	    clang -g -O1 -fsanitize=fuzzer,address,undefined \
	        -fno-sanitize-recover=undefined $(CPPFLAGS) \
	        -o build/fuzz/$$f tests/fuzz/fuzz_$$f.c $(LIBSRC) $(LDLIBS) || exit 1; \
	done
	for f in $(FUZZERS); do \
	    mkdir -p build/fuzz/corpus-$$f; \
	    build/fuzz/$$f -max_total_time=$(FUZZ_TIME) -max_len=65536 \
	        -timeout=10 -rss_limit_mb=2048 -artifact_prefix=build/fuzz/$$f- \
	        build/fuzz/corpus-$$f tests/fuzz/corpus/$$f || exit 1; \
	done
