# The famfs kernel-protocol shim (custom io over libfuse). Included by
# daemon/CMakeLists.txt and test/kernel/CMakeLists.txt; defines one target.
if(NOT TARGET famfs_kernel_io)
  add_library(famfs_kernel_io STATIC ${CMAKE_CURRENT_LIST_DIR}/famfs_io.cc)
  target_include_directories(famfs_kernel_io PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(famfs_kernel_io PUBLIC PkgConfig::FUSE3 fmt::fmt spdlog::spdlog famfs)
endif()
