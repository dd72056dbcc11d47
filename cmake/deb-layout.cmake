# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) on the staged files, before the .deb is made.
#
# Debian 12 ships systemd units in /lib/systemd/system, where debhelper puts them; the install
# rule puts them under the prefix (PREFIX/lib/systemd/system), which is right for
# `cmake --install` into /usr/local. With merged /usr both name the same directory, but dpkg
# does not know that: a later version that moved a unit between the two paths could lose it.
# So the package ships them where Debian 12 does, once and for all.
set(stage "${CPACK_TEMPORARY_DIRECTORY}")
set(from "${stage}${CPACK_PACKAGING_INSTALL_PREFIX}/lib/systemd/system")
set(to "${stage}/lib/systemd/system")
if(NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "deb-layout: the package prefix is '${CPACK_PACKAGING_INSTALL_PREFIX}', "
                      "expected /usr (configure with -DCMAKE_INSTALL_PREFIX=/usr, as "
                      "scripts/package does), or the page files compiled in would be missing")
endif()
if(NOT IS_DIRECTORY "${from}")
  message(FATAL_ERROR "deb-layout: no systemd units staged in ${from}")
endif()
file(MAKE_DIRECTORY "${stage}/lib/systemd")
file(RENAME "${from}" "${to}")
# The emptied PREFIX/lib/systemd would otherwise ship as a directory of its own.
file(GLOB left "${stage}${CPACK_PACKAGING_INSTALL_PREFIX}/lib/systemd/*")
if(NOT left)
  file(REMOVE_RECURSE "${stage}${CPACK_PACKAGING_INSTALL_PREFIX}/lib/systemd")
endif()
