# Debian package (CPack DEB). Build it from a build directory configured with
# -DCMAKE_INSTALL_PREFIX=/usr (so /etc and /lib/systemd paths come out right),
# Release, without sanitizers:
#   cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
#         -DCRMSYNC_TESTS=OFF && cmake --build build-deb && (cd build-deb && cpack -G DEB)
# tests/integration/package_deb.sh does exactly that, then lintian and dpkg -i.

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "crmsyncd")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
# The one place the package's contact is set: the control file's Maintainer,
# the changelog trailer and the copyright file's Upstream-Contact are all made
# from it (packaging/deb/*.in). The repository names no project mail address;
# whoever publishes the package sets the real one with
# -DCRMSYNC_DEB_CONTACT="crmsyncd developers <address>".
set(CRMSYNC_DEB_CONTACT "crmsyncd developers <crmsyncd@example.org>"
    CACHE STRING "Maintainer of the Debian package: Name <address>")
set(CPACK_PACKAGE_CONTACT "${CRMSYNC_DEB_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "sync daemon for loyalty and consent data between local state and CRMs")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "crmsyncd ingests a retailer's loyalty and consent events, keeps them in a
local SQLite change-log, and pushes each change to the configured CRMs
(Salesforce, HubSpot, Adobe Campaign) idempotently. It ships crmsyncctl for
operators, a hardened systemd unit, and an admin endpoint with /healthz and
Prometheus /metrics.")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The unit is Type=notify and the postinst uses systemd-sysusers/-tmpfiles.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "sqlite3")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/packaging/deb/conffiles;${CMAKE_SOURCE_DIR}/packaging/deb/postinst;${CMAKE_SOURCE_DIR}/packaging/deb/prerm;${CMAKE_SOURCE_DIR}/packaging/deb/postrm")

# Debian wants the copyright file and a compressed changelog under
# /usr/share/doc/<package>, and compressed man pages.
set(CRMSYNC_PKG_DOC "${CMAKE_INSTALL_DATAROOTDIR}/doc/crmsyncd")
find_program(GZIP_EXECUTABLE gzip REQUIRED)
configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/copyright.in ${CMAKE_BINARY_DIR}/packaging/copyright @ONLY)
execute_process(COMMAND ${GZIP_EXECUTABLE} -9 -n -c ${CMAKE_BINARY_DIR}/packaging/changelog
                OUTPUT_FILE ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/packaging/copyright ${CMAKE_BINARY_DIR}/changelog.gz
        DESTINATION ${CRMSYNC_PKG_DOC})
# The operator's guide and the module notes it points to, the monitoring
# files and a credentials drop-in as examples (issue 19), and the drop-in
# directory the daemon reads (conf.d/*.conf, empty: the package's own
# configuration is crmsyncd.conf).
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CRMSYNC_PKG_DOC})
file(GLOB CRMSYNC_DOC_PAGES ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CRMSYNC_DOC_PAGES} DESTINATION ${CRMSYNC_PKG_DOC}/docs)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/examples/credentials.conf
        DESTINATION ${CRMSYNC_PKG_DOC}/examples)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/contrib/grafana ${CMAKE_SOURCE_DIR}/contrib/prometheus
        DESTINATION ${CRMSYNC_PKG_DOC}/examples)
install(DIRECTORY DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/crmsyncd/conf.d)

foreach(page crmsyncd.8 crmsyncd.conf.5 crmsyncctl.1)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  execute_process(COMMAND ${GZIP_EXECUTABLE} -9 -n -c ${CMAKE_SOURCE_DIR}/man/${page}
                  OUTPUT_FILE ${CMAKE_BINARY_DIR}/${page}.gz)
  install(FILES ${CMAKE_BINARY_DIR}/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

include(CPack)
