# Debian packages (docs/packaging.md): the install rules a gateway needs beyond the binary,
# the units and the page files, and the CPack settings of the .deb.
#
# scripts/package configures with the prefix /usr, so the page directory compiled into the
# binary (FIREGATE_WWW_DIR) is the one the package fills, and the sysconfdir is /etc. The
# config and the rule files are dpkg conffiles: an upgrade never overwrites an edited one.

# Full RELRO, as Debian's hardened builds link daemons: the GOT is read-only once the loader
# has resolved every symbol at start. firegate-web is installed in /usr/libexec/firegate
# (CMakeLists.txt), where `firegate web` finds it.
target_link_options(firegate PRIVATE -Wl,-z,relro,-z,now)
target_link_options(firegate-web PRIVATE -Wl,-z,relro,-z,now)

set(FIREGATE_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/firegate)
file(GLOB FIREGATE_RULE_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/rules/*.rules)
list(SORT FIREGATE_RULE_FILES)
install(FILES examples/firegate.conf DESTINATION ${FIREGATE_CONF_DIR})
install(FILES ${FIREGATE_RULE_FILES} DESTINATION ${FIREGATE_CONF_DIR}/rules)
install(FILES systemd/firegate.tmpfiles DESTINATION lib/tmpfiles.d RENAME firegate.conf)

file(GLOB FIREGATE_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
list(SORT FIREGATE_DOCS)
install(FILES README.md ${FIREGATE_DOCS} packaging/deb/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Gzips SOURCE into the build tree when installing, and installs it as NAME in DESTINATION
# (-n: no name or time in the gzip header, so the same file gives the same bytes).
function(firegate_install_gzipped source name destination)
  set(gzipped ${PROJECT_BINARY_DIR}/gz/${name})
  install(CODE "
    file(MAKE_DIRECTORY \"${PROJECT_BINARY_DIR}/gz\")
    execute_process(COMMAND gzip -9nc \"${source}\" OUTPUT_FILE \"${gzipped}\"
                    COMMAND_ERROR_IS_FATAL ANY)")
  install(FILES ${gzipped} DESTINATION ${destination})
endfunction()

# Manual pages are installed gzipped, as Debian installs them.
foreach(page firegate.8 firegate.conf.5)
  string(REGEX MATCH "[0-9]$" section ${page})
  firegate_install_gzipped(${PROJECT_SOURCE_DIR}/docs/man/${page} ${page}.gz
                           ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

# Debian wants a changelog.Debian.gz beside the copyright; the project's history is its git log,
# so the entry names the version only. The date honours SOURCE_DATE_EPOCH.
string(TIMESTAMP FIREGATE_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/deb/changelog.Debian CONTENT
"firegate (${PROJECT_VERSION}-1) bookworm; urgency=medium

  * firegate ${PROJECT_VERSION}, packaged from the source tree by scripts/package.

 -- firegate maintainers <firegate@example.invalid>  ${FIREGATE_CHANGELOG_DATE}
")
firegate_install_gzipped(${PROJECT_BINARY_DIR}/deb/changelog.Debian changelog.Debian.gz
                         ${CMAKE_INSTALL_DOCDIR})

# What dpkg must treat as conffiles: every file installed under the config directory.
set(FIREGATE_CONFFILES "${FIREGATE_CONF_DIR}/firegate.conf\n")
foreach(rule IN LISTS FIREGATE_RULE_FILES)
  get_filename_component(name ${rule} NAME)
  string(APPEND FIREGATE_CONFFILES "${FIREGATE_CONF_DIR}/rules/${name}\n")
endforeach()
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/deb/conffiles CONTENT "${FIREGATE_CONFFILES}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME firegate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "firegate maintainers <firegate@example.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# The Debian revision; changelog.Debian above names it too.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "fire-safety monitoring gateway for apartment buildings")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "firegate reads smoke and heat detectors (wired on GPIO, wireless through the
building's MQTT broker), evaluates the alarm rules of EN 54-2 and NFPA 72, ties
every alarm to a verified unit and its residents, keeps the registry and a
hash-chained incident log in SQLite, and alerts the city's platform over MQTT
with TLS. It includes the security desk's web page (firegate web).")
# Depends comes from dpkg-shlibdeps, for a cross build too: it reads the arm64 libraries'
# symbols files from the multiarch packages installed beside the amd64 ones. It reads every
# ELF file of the package, so libmicrohttpd comes in through firegate-web.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers and systemd-tmpfiles make the users and directories; without them postinst
# says what to do by hand.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS systemd)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS mosquitto)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/deb-layout.cmake)

# CPack asks dpkg for the architecture, which names the build machine's; a cross build names
# the target's.
if(CMAKE_CROSSCOMPILING)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|amd64|AMD64)$")
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
  else()
    message(FATAL_ERROR "packaging: no Debian architecture known for CMAKE_SYSTEM_PROCESSOR "
                        "'${CMAKE_SYSTEM_PROCESSOR}'; add it to cmake/packaging.cmake")
  endif()
endif()

include(CPack)
