// Scripted-kernel tests for the famfs FUSE protocol shim (daemon/famfs_io.*).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
