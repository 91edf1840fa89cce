# The layers as libraries (docs/architecture.md). Each folder that is a layer
# is one static library whose include directory is given only to itself and
# to what links it, so a header of a higher layer is not on a lower layer's
# include path and including it fails to compile:
#   <base>   src/base/   leaf utilities (errors, logging, time formats,
#                        hashes, crash points, bounded strings); includes
#                        nothing of the project outside src/base/.
#   <state>  state/      the SQLite store, the canonical model and its merge
#                        rules; sees src/base/ and its own headers only.
#   <lib>    src/ and connectors/ (the daemon, HTTP/OAuth, config, engine,
#                        the connectors), not split yet: they see each other,
#                        state/ and src/base/.
# Sources are globbed per folder so that a module is one new file, not an
# edit to a shared list.
#
# crmsync_add_libraries(<base> <state> <lib> [compile options...]) defines
# the three. The normal build calls it once (crmsync_base, crmsync_state,
# crmsync); the fuzz build (tests/fuzz/) again with its instrumentation, so
# that the fuzzers see the same boundaries.
file(GLOB CRMSYNC_BASE_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/base/*.c)
file(GLOB CRMSYNC_STATE_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/state/*.c)
file(GLOB CRMSYNC_LIB_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/src/*.c
     ${CMAKE_SOURCE_DIR}/connectors/*.c)
# The executables' own sources: crmsyncd's main and crmsyncctl (src/ctl_*.c).
list(FILTER CRMSYNC_LIB_SOURCES EXCLUDE REGEX "/src/(main|crmsyncctl|ctl_[^/]*)\\.c$")

function(crmsync_add_libraries base state lib)
  set(options ${ARGN})

  add_library(${base} STATIC ${CRMSYNC_BASE_SOURCES})
  target_include_directories(${base} PUBLIC ${CMAKE_SOURCE_DIR}/src/base)
  target_compile_options(${base} PRIVATE ${options})
  # hash.c: OpenSSL's EVP digests; textesc.c: jansson; log/hash: pthreads.
  target_link_libraries(${base} PUBLIC PkgConfig::OPENSSL PkgConfig::JANSSON Threads::Threads)

  add_library(${state} STATIC ${CRMSYNC_STATE_SOURCES})
  target_include_directories(${state} PUBLIC ${CMAKE_SOURCE_DIR}/state)
  target_compile_options(${state} PRIVATE ${options})
  target_link_libraries(${state} PUBLIC ${base} PkgConfig::SQLITE PkgConfig::JANSSON m)

  add_library(${lib} STATIC ${CRMSYNC_LIB_SOURCES})
  target_include_directories(${lib} PUBLIC ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/connectors)
  target_compile_options(${lib} PRIVATE ${options})
  target_link_libraries(${lib} PUBLIC ${state} ${base} PkgConfig::UV PkgConfig::CURL
                        PkgConfig::JANSSON PkgConfig::SQLITE PkgConfig::INIH
                        PkgConfig::SYSTEMD PkgConfig::OPENSSL PkgConfig::MHD
                        PkgConfig::LIBXML2 PkgConfig::OAUTH2 m)
endfunction()
