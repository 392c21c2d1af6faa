// Uuids as famfs stores them (16 bytes in the order of their text form), and
// the per-host system uuid file that decides who owns a filesystem.
#pragma once

#include <optional>
#include <string>

#include "famfs/format.h"

namespace famfs {

inline constexpr const char* kDefaultSystemUuidFile = "/opt/famfs/system_uuid";
inline constexpr const char* kSystemUuidEnv = "FAMFS_SYSTEM_UUID_FILE";

std::string to_string(const Uuid& u);
std::optional<Uuid> parse_uuid(std::string_view text);
Uuid random_uuid();  // version 4

// The file that holds this host's uuid: `override_path` if non-empty, else
// $FAMFS_SYSTEM_UUID_FILE, else /opt/famfs/system_uuid.
std::string system_uuid_path(const std::string& override_path = {});

// Reads the host's uuid, creating the file with a random uuid when it does not
// exist (as upstream famfs does). Throws Error on an unreadable or garbled file.
Uuid load_system_uuid(const std::string& override_path = {});

}  // namespace famfs
