# SPDX-License-Identifier: Apache-2.0
#
# peeka: make (build ./peeka), make check, make demo, make deps,
# make install PREFIX=..., make clean, make offsets (maintainers), make lint.

PREFIX ?= /usr/local
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -DPEEKA_VERSION='"$(VERSION)"' \
	-Isrc -I$(B)/gen $(shell $(PKG_CONFIG) --cflags libelf libzstd 2>/dev/null)
LIBS = $(shell $(PKG_CONFIG) --libs libelf 2>/dev/null || echo -lelf) \
	$(shell $(PKG_CONFIG) --libs libzstd 2>/dev/null || echo -lzstd) \
	$(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo) \
	$(shell $(PKG_CONFIG) --libs libunwind-ptrace libunwind-generic libdw 2>/dev/null || \
		echo -lunwind-ptrace -lunwind-generic -lunwind -ldw -lelf) -lm
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Debian packages the build and the tests need.
DEPS_PKGS := gcc make libc6-dev pkg-config libelf-dev libdw-dev libunwind-dev \
	libzstd-dev check binutils python3 python3-jsonschema golang-go \
	chromium util-linux bsdutils libncurses-dev tmux gdb

B := build
CORE_SRC := $(wildcard src/*.c) $(wildcard src/commands/*.c) \
	$(wildcard src/cpython_layouts/*.c)
CORE_SRC := $(filter-out src/main.c,$(CORE_SRC))
TEST_SRC := $(wildcard tests/*.c)
HDRS := $(wildcard src/*.h src/commands/*.h src/cpython_layouts/*.h tests/*.h) \
	$(B)/gen/flamegraph_assets.h

CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
SAN_OBJ := $(CORE_SRC:%.c=$(B)/san/%.o)

.PHONY: all check unit demo deps install clean offsets lint vectors
all: peeka

# The flame graph's own JavaScript and CSS, embedded as C strings.
$(B)/gen/flamegraph_assets.h: src/flamegraph/flamegraph.js src/flamegraph/flamegraph.css scripts/embed.sh
	@mkdir -p $(dir $@)
	./scripts/embed.sh src/flamegraph/flamegraph.js flamegraph_js \
		src/flamegraph/flamegraph.css flamegraph_css > $@.tmp && mv $@.tmp $@

# The agent's Python files, embedded as C strings with a table of them:
# the binary carries its agent and writes it into the target's /tmp.
AGENT_PY := $(sort $(wildcard src/agent/*.py))
agent_var = agent_py_$(basename $(notdir $(1)))
$(B)/gen/agent_py.h: $(AGENT_PY) scripts/embed.sh Makefile
	@mkdir -p $(dir $@)
	./scripts/embed.sh $(foreach f,$(AGENT_PY),$(f) $(call agent_var,$(f))) > $@.tmp
	{ echo 'static const struct agent_py { const char *name, *text; size_t len; } agent_py[] = {'; \
	  $(foreach f,$(AGENT_PY),echo '	{ "$(notdir $(f))", $(call agent_var,$(f)), sizeof($(call agent_var,$(f))) - 1 },';) \
	  echo '};'; } >> $@.tmp && mv $@.tmp $@
$(B)/obj/src/agent_files.o $(B)/san/src/agent_files.o: $(B)/gen/agent_py.h

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -c -o $@ $<

$(B)/libpeeka.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libpeeka-san.a: $(SAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

peeka: $(B)/obj/src/main.o $(B)/libpeeka.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(B)/check_peeka: $(TEST_SRC) $(HDRS) $(B)/libpeeka.a
	$(CC) $(ALL_CFLAGS) -Wno-format-truncation -Itests -o $@ $(TEST_SRC) $(B)/libpeeka.a $(CHECK_LIBS) $(LIBS)

$(B)/check_peeka_san: $(TEST_SRC) $(HDRS) $(B)/libpeeka-san.a
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -Wno-format-truncation -Itests -o $@ $(TEST_SRC) $(B)/libpeeka-san.a $(CHECK_LIBS) $(LIBS)

$(B)/uninit_host: tests/helpers/uninit_host.c
	@mkdir -p $(B)
	$(CC) -std=c11 $(WARN) -D_GNU_SOURCE -o $@ $< -ldl

# Unit tests under ASan+UBSan (no live targets), then every suite,
# including the integration tests against each test interpreter.
check: deps
	$(MAKE) peeka $(B)/check_peeka $(B)/check_peeka_san $(B)/uninit_host
	@echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
	CK_EXCLUDE_TAGS=integration PEEKA_SANITIZED=1 ./$(B)/check_peeka_san
	@echo "== all tests (unit and integration)"
	./$(B)/check_peeka

unit: peeka $(B)/check_peeka
	CK_EXCLUDE_TAGS=integration ./$(B)/check_peeka

demo: deps
	$(MAKE) peeka
	./fixtures/demo.sh

deps:
	@./scripts/deps.sh $(DEPS_PKGS)

install: peeka
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/peeka \
		$(DESTDIR)$(PREFIX)/share/doc/peeka $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 peeka $(DESTDIR)$(PREFIX)/bin/peeka
	install -m 0644 README.md LICENSE $(DESTDIR)$(PREFIX)/share/doc/peeka/
	install -m 0644 docs/peeka.1 $(DESTDIR)$(PREFIX)/share/man/man1/peeka.1
	install -m 0644 offsets/cpython-*.tsv $(DESTDIR)$(PREFIX)/share/peeka/

offsets:
	./offsets/generate.sh

lint:
	@./scripts/lint.sh

clean:
	rm -rf $(B) peeka

# Maintainers: regenerate the line-table vectors under every test interpreter.
vectors:
	./fixtures/pythons.sh list | while IFS='	' read -r label minor kind py full; do \
		case $$label in *-pyenv|*-sid) "$$py" fixtures/linetable_vectors.py \
			> tests/vectors/linetable-$$minor.txt ;; esac; done
