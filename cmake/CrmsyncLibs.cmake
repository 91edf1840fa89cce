# The layers as libraries (docs/architecture.md). Each folder that is a layer
# is one static library whose include directory is given only to itself and
# to what links it, so a header of a higher (or a sibling) layer is not on a
# layer's include path and including it fails to compile. Lowest first:
#   <p>_base        src/base/      leaf utilities (errors, logging, time
#                                  formats, hashes, crash points, bounded
#                                  strings, text escaping).
#   <p>_model       state/model/   the canonical model: changes, their JSON,
#                                  merge rules, apply results. Pure C, no
#                                  SQLite. Links base.
#   <p>_state       state/sqlite/  the SQLite store (and the state directory's
#                                  one-writer lock). Links model, base.
#   <p>_obs         src/obs/       the process-wide metrics and health
#                                  registries. Links base.
#   <p>_config      src/config/    the configuration: sections, option tables,
#                                  secret files, durations. Links base.
#   <p>_net         src/net/       the HTTP client (libcurl multi on libuv),
#                                  OAuth grants, rate limits, retry. Links
#                                  config, obs, base; never the model, the
#                                  store, the connectors or the daemon.
#   <p>_connectors  connectors/    the CRM connectors and their shared runtime.
#                                  Links model, net, config, obs, base; never
#                                  the store or the daemon.
#   <lib>           src/daemon/    the daemon: loop, engine, ingest, admin,
#                                  HTTP ingest, retention. Links everything.
#   <p>_ctl         src/ctl/       crmsyncctl's subcommands. Links the store,
#                                  the connectors (their registry), config;
#                                  not the daemon.
# Include directories are PUBLIC so that what links a library compiles with
# exactly what the library's own sources see. Sources are globbed per folder
# so that a module is one new file, not an edit to a shared list.
#
# crmsync_add_libraries(<p> <lib> [compile options...]) defines them. The
# normal build calls it once (crmsync_base, ..., crmsync); the fuzz build
# (tests/fuzz/) again with its instrumentation, so that the fuzzers see the
# same boundaries.
set(CRMSYNC_LAYERS base:src/base model:state/model state:state/sqlite obs:src/obs
    config:src/config net:src/net connectors:connectors ctl:src/ctl)
foreach(layer ${CRMSYNC_LAYERS})
  string(REPLACE ":" ";" layer ${layer})
  list(GET layer 0 name)
  list(GET layer 1 dir)
  file(GLOB CRMSYNC_${name}_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${dir}/*.c)
endforeach()
# crmsyncctl's main is the executable's own source.
list(FILTER CRMSYNC_ctl_SOURCES EXCLUDE REGEX "/src/ctl/crmsyncctl\\.c$")
file(GLOB CRMSYNC_LIB_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/daemon/*.c)
# crmsyncd's main is the executable's own source.
list(FILTER CRMSYNC_LIB_SOURCES EXCLUDE REGEX "/src/daemon/main\\.c$")
# A file left directly in state/ would belong to no library (and a rebase
# from before the split could put one there): say where it goes.
file(GLOB CRMSYNC_STRAY_STATE CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/state/*.c
     ${CMAKE_SOURCE_DIR}/state/*.h)
if(CRMSYNC_STRAY_STATE)
  message(FATAL_ERROR "state/ holds no sources since issue 18: the canonical model goes to "
                      "state/model/, the SQLite store to state/sqlite/: ${CRMSYNC_STRAY_STATE}")
endif()
# The same for src/: every source there belongs to a layer's folder (the
# daemon's to src/daemon/ since issue 18).
file(GLOB CRMSYNC_STRAY_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.c
     ${CMAKE_SOURCE_DIR}/src/*.h)
if(CRMSYNC_STRAY_SRC)
  message(FATAL_ERROR "src/ holds no sources since issue 18: the daemon's go to src/daemon/, "
                      "the others to src/base/, src/net/, src/config/, src/obs/ or src/ctl/: "
                      "${CRMSYNC_STRAY_SRC}")
endif()

# One layer: its sources, its include directory, what it links.
function(crmsync_add_layer target dir sources options)
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/${dir})
  target_compile_options(${target} PRIVATE ${options})
  target_link_libraries(${target} PUBLIC ${ARGN})
endfunction()

function(crmsync_add_libraries p lib)
  set(o "${ARGN}")
  # hash.c: OpenSSL's EVP digests; textesc.c: jansson; log/hash: pthreads.
  crmsync_add_layer(${p}_base src/base "${CRMSYNC_base_SOURCES}" "${o}"
                    PkgConfig::OPENSSL PkgConfig::JANSSON Threads::Threads)
  crmsync_add_layer(${p}_model state/model "${CRMSYNC_model_SOURCES}" "${o}"
                    ${p}_base PkgConfig::JANSSON)
  crmsync_add_layer(${p}_state state/sqlite "${CRMSYNC_state_SOURCES}" "${o}"
                    ${p}_model ${p}_base PkgConfig::SQLITE PkgConfig::JANSSON m)
  crmsync_add_layer(${p}_obs src/obs "${CRMSYNC_obs_SOURCES}" "${o}"
                    ${p}_base PkgConfig::JANSSON Threads::Threads m)
  crmsync_add_layer(${p}_config src/config "${CRMSYNC_config_SOURCES}" "${o}"
                    ${p}_base PkgConfig::INIH)
  crmsync_add_layer(${p}_net src/net "${CRMSYNC_net_SOURCES}" "${o}"
                    ${p}_config ${p}_obs ${p}_base PkgConfig::UV PkgConfig::CURL
                    PkgConfig::JANSSON PkgConfig::OPENSSL)
  crmsync_add_layer(${p}_connectors connectors "${CRMSYNC_connectors_SOURCES}" "${o}"
                    ${p}_model ${p}_net ${p}_config ${p}_obs ${p}_base PkgConfig::UV
                    PkgConfig::CURL PkgConfig::JANSSON PkgConfig::LIBXML2 PkgConfig::OPENSSL m)
  crmsync_add_layer(${lib} src/daemon "${CRMSYNC_LIB_SOURCES}" "${o}"
                    ${p}_connectors ${p}_state ${p}_net ${p}_config ${p}_obs ${p}_model
                    ${p}_base PkgConfig::UV PkgConfig::CURL PkgConfig::JANSSON
                    PkgConfig::SQLITE PkgConfig::INIH PkgConfig::SYSTEMD PkgConfig::OPENSSL
                    PkgConfig::MHD PkgConfig::LIBXML2 PkgConfig::OAUTH2 m)
  crmsync_add_layer(${p}_ctl src/ctl "${CRMSYNC_ctl_SOURCES}" "${o}"
                    ${p}_state ${p}_connectors ${p}_config ${p}_model ${p}_base
                    PkgConfig::JANSSON PkgConfig::SQLITE)
endfunction()
