# The layers as libraries (docs/architecture.md). Each folder that is a layer
# is one library whose include directory is given only to itself and to what
# links it, so a header of a higher layer is not on a lower layer's include
# path and including it fails to compile:
#   <p>_base        src/base/      leaf utilities (errors, logging, time
#                                  formats, hashes, crash points, bounded
#                                  strings); includes nothing of the project
#                                  outside src/base/.
#   <p>_model       state/model/   the canonical model: changes, their JSON,
#                                  merge rules, apply results. Pure C, no
#                                  SQLite; sees src/base/ only.
#   <p>_state       state/sqlite/  the SQLite store; sees the model and
#                                  src/base/.
#   <p>_connectors  connectors/    compiled with the model, src/base/ and
#                                  (not split yet) src/ on its include path,
#                                  never state/sqlite/: a connector that
#                                  includes a store header does not compile.
#                                  An object library for now, linked into
#                                  <lib>, since it still calls the HTTP client
#                                  in src/.
#   <lib>           src/           the daemon, HTTP/OAuth, config, engine,
#                                  and the connectors' objects.
# Sources are globbed per folder so that a module is one new file, not an
# edit to a shared list.
#
# crmsync_add_libraries(<p> <lib> [compile options...]) defines them. The
# normal build calls it once (crmsync_base, ..., crmsync); the fuzz build
# (tests/fuzz/) again with its instrumentation, so that the fuzzers see the
# same boundaries.
file(GLOB CRMSYNC_BASE_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/base/*.c)
file(GLOB CRMSYNC_MODEL_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/state/model/*.c)
file(GLOB CRMSYNC_STATE_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/state/sqlite/*.c)
file(GLOB CRMSYNC_CONNECTOR_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/connectors/*.c)
file(GLOB CRMSYNC_LIB_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.c)
# The executables' own sources: crmsyncd's main and crmsyncctl (src/ctl_*.c).
list(FILTER CRMSYNC_LIB_SOURCES EXCLUDE REGEX "/src/(main|crmsyncctl|ctl_[^/]*)\\.c$")
# A file left directly in state/ would belong to no library (and a rebase
# from before the split could put one there): say where it goes.
file(GLOB CRMSYNC_STRAY_STATE CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/state/*.c
     ${CMAKE_SOURCE_DIR}/state/*.h)
if(CRMSYNC_STRAY_STATE)
  message(FATAL_ERROR "state/ holds no sources since issue 18: the canonical model goes to "
                      "state/model/, the SQLite store to state/sqlite/: ${CRMSYNC_STRAY_STATE}")
endif()

function(crmsync_add_libraries p lib)
  set(options ${ARGN})

  add_library(${p}_base STATIC ${CRMSYNC_BASE_SOURCES})
  target_include_directories(${p}_base PUBLIC ${CMAKE_SOURCE_DIR}/src/base)
  target_compile_options(${p}_base PRIVATE ${options})
  # hash.c: OpenSSL's EVP digests; textesc.c: jansson; log/hash: pthreads.
  target_link_libraries(${p}_base PUBLIC PkgConfig::OPENSSL PkgConfig::JANSSON Threads::Threads)

  add_library(${p}_model STATIC ${CRMSYNC_MODEL_SOURCES})
  target_include_directories(${p}_model PUBLIC ${CMAKE_SOURCE_DIR}/state/model)
  target_compile_options(${p}_model PRIVATE ${options})
  target_link_libraries(${p}_model PUBLIC ${p}_base PkgConfig::JANSSON)

  add_library(${p}_state STATIC ${CRMSYNC_STATE_SOURCES})
  target_include_directories(${p}_state PUBLIC ${CMAKE_SOURCE_DIR}/state/sqlite)
  target_compile_options(${p}_state PRIVATE ${options})
  target_link_libraries(${p}_state PUBLIC ${p}_model ${p}_base PkgConfig::SQLITE
                        PkgConfig::JANSSON m)

  add_library(${p}_connectors OBJECT ${CRMSYNC_CONNECTOR_SOURCES})
  target_include_directories(${p}_connectors PRIVATE ${CMAKE_SOURCE_DIR}/connectors
                             ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(${p}_connectors PRIVATE ${options})
  target_link_libraries(${p}_connectors PRIVATE ${p}_model ${p}_base PkgConfig::UV
                        PkgConfig::CURL PkgConfig::JANSSON PkgConfig::INIH PkgConfig::OPENSSL
                        PkgConfig::LIBXML2)

  add_library(${lib} STATIC ${CRMSYNC_LIB_SOURCES} $<TARGET_OBJECTS:${p}_connectors>)
  target_include_directories(${lib} PUBLIC ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/connectors)
  target_compile_options(${lib} PRIVATE ${options})
  target_link_libraries(${lib} PUBLIC ${p}_state ${p}_model ${p}_base PkgConfig::UV
                        PkgConfig::CURL PkgConfig::JANSSON PkgConfig::SQLITE PkgConfig::INIH
                        PkgConfig::SYSTEMD PkgConfig::OPENSSL PkgConfig::MHD
                        PkgConfig::LIBXML2 PkgConfig::OAUTH2 m)
endfunction()
