# Cross build for 64-bit ARM (Raspberry Pi 3, 4 and 5 on a 64-bit OS) with Debian's cross
# compiler (gcc-aarch64-linux-gnu) and the arm64 -dev packages installed beside the amd64 ones
# (multiarch: libraries in /usr/lib/aarch64-linux-gnu, headers in /usr/include). See
# docs/packaging.md; scripts/package uses it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# pkg-config reads only the arm64 .pc files and the architecture-independent ones; the amd64
# ones must never answer. Set in the environment, as FindPkgConfig runs pkg-config with it.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# find_library, find_path and find_package (Paho ships only a CMake package config) search
# under lib/aarch64-linux-gnu first; the amd64 directories are ignored outright, so a missing
# arm64 package is an error rather than an amd64 library that fails at link time.
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/cmake
                      /usr/include/x86_64-linux-gnu)
set(CMAKE_PREFIX_PATH /usr/lib/aarch64-linux-gnu/cmake)

# The unit tests run under qemu's user-mode emulation; ctest prefixes it to each test. The
# arm64 loader and libraries are found at their multiarch paths, so no -L is needed.
find_program(FIREGATE_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(FIREGATE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${FIREGATE_QEMU_AARCH64})
endif()
