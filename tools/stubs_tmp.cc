#include "cli.h"
namespace famfs::cli {
void add_cp(CLI::App&, GlobalOptions&) {}
void add_getmap(CLI::App&, GlobalOptions&) {}
void add_log(CLI::App&, GlobalOptions&) {}
void add_fsck(CLI::App&, GlobalOptions&) {}
void add_flush(CLI::App&, GlobalOptions&) {}
}
