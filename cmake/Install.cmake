# `cmake --install`: the public headers, libvkseg.a (shaders included), a CMake package
# (find_package(vkseg CONFIG) -> vkseg::vkseg) and vkseg.pc for pkg-config.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The static archive leaves every dependency to the consumer's link: name them as the installed
# package finds them (CMake's FindPNG and FindJPEG; libzip through pkg-config, under a name of
# vkseg's own), not the pkg-config targets this build uses.
target_link_libraries(vkseg INTERFACE
  "$<INSTALL_INTERFACE:$<LINK_ONLY:PkgConfig::vkseg_libzip>>"
  "$<INSTALL_INTERFACE:$<LINK_ONLY:PNG::PNG>>"
  "$<INSTALL_INTERFACE:$<LINK_ONLY:JPEG::JPEG>>")

install(DIRECTORY include/vkseg DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS vkseg EXPORT vkseg-targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

set(vkseg_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/vkseg)
install(EXPORT vkseg-targets NAMESPACE vkseg:: DESTINATION ${vkseg_cmake_dir})
configure_package_config_file(cmake/vkseg-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/vkseg-config.cmake INSTALL_DESTINATION ${vkseg_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vkseg-config-version.cmake
  COMPATIBILITY SameMinorVersion)  # 0.x: minor versions may break the API
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vkseg-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/vkseg-config-version.cmake DESTINATION ${vkseg_cmake_dir})

# The prefix found from the .pc file's own place (pkg-config's ${pcfiledir}), so the installed
# tree may be moved or installed with --prefix.
file(RELATIVE_PATH VKSEG_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" VKSEG_PC_TO_PREFIX ${VKSEG_PC_TO_PREFIX})
set(VKSEG_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
set(VKSEG_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
configure_file(cmake/vkseg.pc.in ${CMAKE_CURRENT_BINARY_DIR}/vkseg.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vkseg.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
