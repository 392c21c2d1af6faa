// The in-memory metadata tree that replaying the log builds. The log is the
// only source of truth; this is a cache of it that can be brought up to date
// incrementally (apply only entries after the ones already applied).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "famfs/format.h"

namespace famfs {

inline constexpr uint64_t kRootIno = 1;
inline constexpr uint64_t kNoLogIndex = ~0ULL;

// Inode numbers are stable across hosts and restarts: a node created by log
// entry i has ino i + 2; directories that the log implies but never created
// (a FILE "a/b" with no MKDIR "a") get numbers from kImplicitInoBase up.
inline constexpr uint64_t kFirstEntryIno = 2;
inline constexpr uint64_t kImplicitInoBase = 1ULL << 48;

enum class NodeType { Directory, File };

struct Node {
    uint64_t ino = 0;
    NodeType type = NodeType::Directory;
    std::string name;
    uint64_t parent = kRootIno;
    uint32_t mode = 0;  // permission bits only (07777), as the log stores them
    uint32_t uid = 0;
    uint32_t gid = 0;
    uint64_t size = 0;
    uint32_t flags = 0;
    Fmap fmap{};
    uint64_t log_index = kNoLogIndex;
    bool implicit = false;
    // Directories: children in the order the log created them (famfs never
    // deletes, so a position is a stable readdir cookie). Lookup by name goes
    // through the tree's name index (MetaTree::lookup).
    std::vector<uint64_t> children;
    uint64_t subdirs = 0;  // children that are directories (st_nlink = 2 + subdirs)

    bool is_dir() const { return type == NodeType::Directory; }
    mode_t st_mode() const;
};

enum class IssueKind {
    Corrupt,    // an entry fails crc/seqnum/type checks
    Rejected,   // an entry is well-formed but not allowed (hostile path, duplicate, bad map)
    Collision,  // an extent overlaps the superblock/log or an earlier file: not served
    TornTail,   // the last published entry is not (yet) valid
    Neutralised,  // served, with something unsafe removed (setuid/setgid, file-type bits)
    Repaired,     // the owner repaired the log header (an interrupted append)
};

struct Issue {
    IssueKind kind;
    uint64_t index;  // log index, or kNoLogIndex
    std::string field;
    std::string message;
};

std::string_view to_string(IssueKind k);
std::string describe(const Issue& i);

// Path rules for names in the log: relative, no empty / "." / ".." components,
// each component <= 79 bytes, whole path fits the 80-byte field.
// Returns an empty string when valid, else the reason.
std::string check_relpath(std::string_view path);
std::vector<std::string_view> split_path(std::string_view path);

class MetaTree {
public:
    // `log_len` places the end of the metadata regions (superblock + log):
    // no file may map any byte below data_offset(log_len). Pass the
    // superblock's; the default is the smallest log famfs allows.
    explicit MetaTree(uint64_t device_size, uint64_t log_len = kMinLogLen);
    ~MetaTree();
    MetaTree(const MetaTree&) = delete;
    MetaTree& operator=(const MetaTree&) = delete;

    // Room for `entries` more log entries, so a bulk replay does not grow the
    // indexes as it goes. Only a hint.
    void reserve(uint64_t entries);

    const Node& root() const { return *get(kRootIno); }
    const Node* get(uint64_t ino) const;
    const Node* lookup(uint64_t parent, std::string_view name) const;
    const Node* resolve(std::string_view relpath) const;  // "" is the root
    std::string path_of(const Node& n) const;             // relative, "" for root

    // Entries [0, next_index()) have been applied (or recorded as issues).
    uint64_t next_index() const { return next_index_; }
    size_t file_count() const { return file_order_.size(); }
    // File inodes in the order the log created them (allocator catch-up).
    const std::vector<uint64_t>& files_in_log_order() const { return file_order_; }
    size_t dir_count() const { return dirs_; }  // excluding the root
    uint64_t device_size() const { return device_size_; }
    uint64_t log_len() const { return log_len_; }

    const std::vector<Issue>& issues() const { return issues_; }
    bool has_corruption() const;

    // Applies entry `index`, which must equal next_index(). Structural checks
    // (crc, seqnum) are the replayer's job; this checks paths, parents,
    // duplicates and maps, and records anything it refuses as an Issue.
    void apply(const LogEntry& e, uint64_t index);
    // Records an entry that failed structural checks and moves past it.
    void skip(uint64_t index, Issue issue);
    void add_issue(Issue issue) { issues_.push_back(std::move(issue)); }

    void for_each_file(const std::function<void(const Node&)>& f) const;

private:
    Node& new_node();
    Node& make_node(uint64_t ino, NodeType type, Node& parent, std::string_view name);
    Node* find_child(const Node& dir, std::string_view name) const;
    // Walks (creating implicit directories) to the parent of the last
    // component of `path` (already checked by check_relpath).
    Node* ensure_parent_dirs(std::string_view path, uint64_t index);
    std::string check_fmap(const FileEntry& fe) const;
    // Why the map may not be served: an extent in the superblock/log region,
    // in an extent an earlier file owns, or in another extent of this map.
    std::string check_claims(const Fmap& m) const;
    void claim(const Fmap& m, uint64_t index);

    uint64_t device_size_;
    uint64_t log_len_;
    uint64_t next_index_ = 0;
    uint64_t next_implicit_ = kImplicitInoBase;
    std::vector<uint64_t> file_order_;
    size_t dirs_ = 0;
    std::vector<Issue> issues_;

    // Nodes live in chunks that never move (Node references stay valid);
    // each chunk is twice the previous one, up to a limit. Big chunks (and
    // the name index) are their own 2 MiB-aligned mappings.
    struct Chunk {
        Node* nodes;
        size_t cap;
        size_t bytes;  // of the mapping, 0 when from operator new
    };
    std::vector<Chunk> chunks_;
    size_t chunk_cap_ = 0;   // nodes in chunks_.back()
    size_t chunk_used_ = 0;  // of which constructed for use
    Node* root_ = nullptr;
    // ino -> node: entry i's node at entry_nodes_[i] (nullptr when the entry
    // created nothing); implicit directories at implicit_nodes_[ino - base].
    std::vector<Node*> entry_nodes_;
    std::vector<Node*> implicit_nodes_;

    // (parent ino, name) -> node: one open-addressing table for the whole
    // tree (linear probing, at most half full). The hash is keyed with a
    // random per-tree key, so names from a hostile log cannot be chosen to
    // collide.
    struct NameSlot {
        uint64_t hash = 0;
        Node* node = nullptr;  // nullptr: empty
    };
    NameSlot* names_ = nullptr;  // names_cap_ slots, a power of two (0: none yet)
    size_t names_cap_ = 0;
    size_t names_bytes_ = 0;  // of its mapping, 0 when from operator new
    size_t names_used_ = 0;
    uint64_t hash_key_[2] = {0, 0};
    uint64_t name_hash(uint64_t parent, std::string_view name) const;
    void names_insert(uint64_t hash, Node* n);
    void names_grow(size_t min_slots);

    // Device ranges owned by served files. The first entry to claim a byte
    // owns it; later claims are refused. Extents at or past every earlier
    // claim (what the allocator's first fit produces) go to the sorted
    // vector; anything else to the map.
    struct Claim {
        uint64_t start;
        uint64_t end;
        uint64_t index;
    };
    std::vector<Claim> claims_sorted_;   // sorted by start, disjoint
    std::map<uint64_t, Claim> claims_;  // start -> claim (out of order)
    const Claim* find_claim(uint64_t off, uint64_t end) const;
};

// Visits every device extent of a file map as (offset, len), simple or
// interleaved.
void for_each_extent(const Fmap& m, const std::function<void(uint64_t, uint64_t)>& f);
// Total bytes the map covers.
uint64_t fmap_capacity(const Fmap& m);
// Device offset of file offset `off`, and how many bytes stay contiguous there.
// Returns false past the end of the map.
bool fmap_resolve(const Fmap& m, uint64_t off, uint64_t& dev_off, uint64_t& contiguous);

}  // namespace famfs
