// Scripted-kernel tests for the kernel protocol layer (daemon/kernel_proto_*).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
