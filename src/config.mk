# src/config.mk - the configuration loader (src/visor_config.c: pktvisor
# YAML or libconfig syntax -> libconfig tree -> struct visor_config), its
# unit test and its fuzz target.  Include it after src/Makefile.inc and
# tests/Makefile.inc.  configure.ac needs:
#   PKG_CHECK_MODULES([YAML], [yaml-0.1 >= 0.2])
#   PKG_CHECK_MODULES([LIBCONFIG], [libconfig >= 1.5])
# and a program that calls config_* links $(YAML_LIBS) $(LIBCONFIG_LIBS)
# after $(CORE_LIBS).

libpktvisor_a_SOURCES += src/visor_config.c src/visor_config.h
libpktvisor_a_CFLAGS += $(YAML_CFLAGS) $(LIBCONFIG_CFLAGS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
endif
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS) $(YAML_CFLAGS) $(LIBCONFIG_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD) $(YAML_LIBS) $(LIBCONFIG_LIBS)

# Not in FUZZ_TARGETS: the shared recipe there links no libraries and has
# no -I for aggregator/ (handler.h), so this target has its own.
FUZZ_CONFIG = tests/fuzz/fuzz_config
fuzz: $(FUZZ_CONFIG)
$(FUZZ_CONFIG): $(addprefix $(top_srcdir)/,tests/fuzz/fuzz_config.c src/visor_config.c)
	@test -n "$(FUZZ_CC)" || { echo "make fuzz needs clang (apt-get install clang)"; exit 1; }
	$(AM_V_CC)$(MKDIR_P) tests/fuzz && $(FUZZ_CC) $(FUZZ_FLAGS) -I$(top_srcdir)/aggregator \
	    $(CJSON_CFLAGS) $(MAXMINDDB_CFLAGS) $(YAML_CFLAGS) $(LIBCONFIG_CFLAGS) \
	    -o $@ $^ $(YAML_LIBS) $(LIBCONFIG_LIBS)
CLEANFILES += $(FUZZ_CONFIG)
