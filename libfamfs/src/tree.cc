#include "famfs/tree.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>

namespace famfs {

std::string_view to_string(IssueKind k) {
    switch (k) {
        case IssueKind::Corrupt:
            return "corrupt";
        case IssueKind::Rejected:
            return "rejected";
        case IssueKind::Collision:
            return "collision";
        case IssueKind::TornTail:
            return "torn-tail";
        case IssueKind::Neutralised:
            return "neutralised";
        case IssueKind::Repaired:
            return "repaired";
    }
    return "?";
}

std::string describe(const Issue& i) {
    std::string where =
        i.index == kNoLogIndex ? std::string("log") : fmt::format("entry {}", i.index);
    return fmt::format("{}: {}: {}: {}", where, to_string(i.kind), i.field, i.message);
}

// Only permission and sticky bits: setuid/setgid from another host's log
// are never served (replay strips them too; this is the last line).
mode_t Node::st_mode() const { return (is_dir() ? S_IFDIR : S_IFREG) | (mode & 01777); }

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

std::string check_relpath(std::string_view path) {
    if (path.empty()) return "empty path";
    if (path.size() >= kMaxPathLen)
        return fmt::format("path is {} bytes; famfs allows at most {}", path.size(),
                           kMaxPathLen - 1);
    if (path.front() == '/') return "absolute path";
    for (size_t start = 0; start <= path.size();) {
        size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) slash = path.size();
        const std::string_view part = path.substr(start, slash - start);
        if (part.empty()) return "empty path component";
        if (part == "." || part == "..") return fmt::format("'{}' path component", part);
        if (part.size() > kMaxNameLen) return "path component longer than 79 bytes";
        start = slash + 1;
    }
    return {};
}

namespace {

// Extents of a map as (offset, len), without std::function (replay's hot path).
template <typename F>
void visit_extents(const Fmap& m, F&& f) {
    if (m.ext_type == ExtentType::Simple) {
        for (uint32_t i = 0; i < std::min<uint32_t>(m.count, kMaxSimpleExtents); ++i)
            f(m.se[i].offset, m.se[i].len);
    } else if (m.ext_type == ExtentType::Interleave && m.count >= 1) {
        const InterleavedExtent& ie = m.ie[0];
        for (uint64_t i = 0; i < std::min<uint64_t>(ie.nstrips, kMaxStrips); ++i)
            f(ie.strips[i].offset, ie.strips[i].len);
    }
}

// SipHash-1-3 of `len` bytes with key (k0, k1).
uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t siphash13(uint64_t k0, uint64_t k1, const uint8_t* in, size_t len) {
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    auto round = [&] {
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
    };
    const size_t whole = len & ~size_t{7};
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m;
        std::memcpy(&m, in + i, 8);
        v3 ^= m;
        round();
        v0 ^= m;
    }
    uint64_t b = static_cast<uint64_t>(len) << 56;
    for (size_t i = 0; i < (len & 7); ++i) b |= static_cast<uint64_t>(in[whole + i]) << (8 * i);
    v3 ^= b;
    round();
    v0 ^= b;
    v2 ^= 0xff;
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
}

constexpr size_t kFirstChunk = 16;
constexpr size_t kMaxChunkBytes = 4 << 20;
constexpr size_t kHugePage = 2 << 20;

// Memory for `bytes`. Blocks of a huge page or more are mapped 2 MiB-aligned
// (huge pages where the system enables them for every mapping; `mapped` is
// then the mapping's length); smaller ones come from operator new (`mapped` 0).
void* big_alloc(size_t bytes, size_t& mapped) {
    mapped = 0;
    if (bytes >= kHugePage) {
        const size_t len = (bytes + kHugePage - 1) & ~(kHugePage - 1);
        void* p = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            const uintptr_t raw = reinterpret_cast<uintptr_t>(p);
            const uintptr_t aligned = (raw + kHugePage - 1) & ~(kHugePage - 1);
            if (aligned > raw) munmap(p, aligned - raw);
            if (const size_t tail = raw + len + kHugePage - (aligned + len))
                munmap(reinterpret_cast<void*>(aligned + len), tail);
            // No MADV_HUGEPAGE: with defrag=madvise (Debian's default) the
            // kernel compacts memory synchronously for it, and on a machine
            // whose memory is fragmented that cost more than the page faults
            // it saves (replay at 490,000 entries: 0.46-1.49 s with it,
            // 0.69-0.91 s without, same minutes).
            mapped = len;
            return reinterpret_cast<void*>(aligned);
        }
    }
    return ::operator new(bytes);
}

void big_free(void* p, size_t mapped) {
    if (!p) return;
    if (mapped)
        munmap(p, mapped);
    else
        ::operator delete(p);
}

}  // namespace

void for_each_extent(const Fmap& m, const std::function<void(uint64_t, uint64_t)>& f) {
    visit_extents(m, f);
}

uint64_t fmap_capacity(const Fmap& m) {
    if (m.ext_type == ExtentType::Interleave && m.count >= 1) {
        // Striping uses whole rows: every strip holds the same number of chunks.
        const InterleavedExtent& ie = m.ie[0];
        if (ie.nstrips == 0 || ie.chunk_size == 0) return 0;
        uint64_t min_len = ~0ULL;
        for (uint64_t i = 0; i < std::min<uint64_t>(ie.nstrips, kMaxStrips); ++i)
            min_len = std::min(min_len, ie.strips[i].len);
        return min_len / ie.chunk_size * ie.chunk_size * ie.nstrips;
    }
    uint64_t total = 0;
    visit_extents(m, [&](uint64_t, uint64_t len) { total += len; });
    return total;
}

bool fmap_resolve(const Fmap& m, uint64_t off, uint64_t& dev_off, uint64_t& contiguous) {
    if (m.ext_type == ExtentType::Simple) {
        uint64_t base = 0;
        for (uint32_t i = 0; i < std::min<uint32_t>(m.count, kMaxSimpleExtents); ++i) {
            const SimpleExtent& e = m.se[i];
            if (off < base + e.len) {
                dev_off = e.offset + (off - base);
                contiguous = e.len - (off - base);
                return true;
            }
            base += e.len;
        }
        return false;
    }
    if (off >= fmap_capacity(m)) return false;
    const InterleavedExtent& ie = m.ie[0];
    const uint64_t chunk = off / ie.chunk_size;
    const uint64_t strip = chunk % ie.nstrips;
    const uint64_t row = chunk / ie.nstrips;
    const uint64_t within = off % ie.chunk_size;
    dev_off = ie.strips[strip].offset + row * ie.chunk_size + within;
    contiguous = ie.chunk_size - within;
    return true;
}

MetaTree::MetaTree(uint64_t device_size, uint64_t log_len)
    : device_size_(device_size), log_len_(log_len) {
    uint64_t key[2];
    if (getrandom(key, sizeof key, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof key)) {
        // No entropy yet (early boot): still unpredictable enough for a hash key.
        key[0] = static_cast<uint64_t>(
            std::chrono::steady_clock::now().time_since_epoch().count());
        key[1] = reinterpret_cast<uintptr_t>(this) ^ 0x9e3779b97f4a7c15ULL;
    }
    hash_key_[0] = key[0];
    hash_key_[1] = key[1];
    Node& root = new_node();
    root.ino = kRootIno;
    root.type = NodeType::Directory;
    root.parent = kRootIno;
    root.mode = 0755;
    root_ = &root;
}

MetaTree::~MetaTree() {
    for (size_t c = 0; c < chunks_.size(); ++c) {
        const size_t n = c + 1 == chunks_.size() ? chunk_used_ : chunks_[c].cap;
        std::destroy_n(chunks_[c].nodes, n);
        big_free(chunks_[c].nodes, chunks_[c].bytes);
    }
    big_free(names_, names_bytes_);
}

void MetaTree::reserve(uint64_t entries) {
    // Stay within what a log can hold; a hint, so cap what it may cost.
    entries = std::min<uint64_t>(entries, uint64_t{1} << 26);
    // Geometric, as push_back would: a refresh of a few entries must not
    // reallocate (and copy) the whole index each time.
    auto grow = [](auto& v, size_t need) {
        if (need > v.capacity()) v.reserve(std::max(need, 2 * v.capacity()));
    };
    grow(entry_nodes_, next_index_ + entries);
    grow(file_order_, file_order_.size() + entries);
    names_grow(2 * (names_used_ + entries));
}

Node& MetaTree::new_node() {
    if (chunk_used_ == chunk_cap_) {
        const size_t cap = chunk_cap_ ? std::min(chunk_cap_ * 2, kMaxChunkBytes / sizeof(Node))
                                      : kFirstChunk;
        chunks_.reserve(chunks_.size() + 1);
        size_t mapped = 0;
        Node* nodes = static_cast<Node*>(big_alloc(cap * sizeof(Node), mapped));
        chunks_.push_back({nodes, cap, mapped});
        chunk_cap_ = cap;
        chunk_used_ = 0;
    }
    Node* n = new (&chunks_.back().nodes[chunk_used_]) Node();
    ++chunk_used_;
    return *n;
}

const Node* MetaTree::get(uint64_t ino) const {
    if (ino == kRootIno) return root_;
    if (ino >= kImplicitInoBase) {
        const uint64_t i = ino - kImplicitInoBase;
        return i < implicit_nodes_.size() ? implicit_nodes_[i] : nullptr;
    }
    if (ino < kFirstEntryIno) return nullptr;
    const uint64_t i = ino - kFirstEntryIno;
    return i < entry_nodes_.size() ? entry_nodes_[i] : nullptr;
}

uint64_t MetaTree::name_hash(uint64_t parent, std::string_view name) const {
    uint8_t buf[8 + kMaxPathLen];
    const size_t n = std::min(name.size(), sizeof buf - 8);
    std::memcpy(buf, &parent, 8);
    std::memcpy(buf + 8, name.data(), n);
    return siphash13(hash_key_[0], hash_key_[1], buf, 8 + n);
}

void MetaTree::names_insert(uint64_t hash, Node* n) {
    if (2 * (names_used_ + 1) > names_cap_) names_grow(2 * (names_used_ + 1));
    const size_t mask = names_cap_ - 1;
    size_t i = hash & mask;
    while (names_[i].node) i = (i + 1) & mask;
    names_[i] = {hash, n};
    ++names_used_;
}

void MetaTree::names_grow(size_t min_slots) {
    size_t cap = names_cap_ ? names_cap_ : 64;
    while (cap < min_slots) cap *= 2;
    if (cap == names_cap_) return;
    size_t mapped = 0;
    auto* slots = static_cast<NameSlot*>(big_alloc(cap * sizeof(NameSlot), mapped));
    std::uninitialized_value_construct_n(slots, cap);
    const size_t mask = cap - 1;
    for (size_t k = 0; k < names_cap_; ++k) {
        const NameSlot& s = names_[k];
        if (!s.node) continue;
        size_t i = s.hash & mask;
        while (slots[i].node) i = (i + 1) & mask;
        slots[i] = s;
    }
    big_free(names_, names_bytes_);
    names_ = slots;
    names_cap_ = cap;
    names_bytes_ = mapped;
}

Node* MetaTree::find_child(const Node& dir, std::string_view name) const {
    if (!names_cap_) return nullptr;
    const uint64_t h = name_hash(dir.ino, name);
    const size_t mask = names_cap_ - 1;
    for (size_t i = h & mask; names_[i].node; i = (i + 1) & mask) {
        const NameSlot& s = names_[i];
        if (s.hash == h && s.node->parent == dir.ino && s.node->name == name) return s.node;
    }
    return nullptr;
}

const Node* MetaTree::lookup(uint64_t parent, std::string_view name) const {
    const Node* dir = get(parent);
    if (!dir || !dir->is_dir()) return nullptr;
    if (name == ".") return dir;
    if (name == "..") return get(dir->parent);
    return find_child(*dir, name);
}

const Node* MetaTree::resolve(std::string_view relpath) const {
    const Node* n = &root();
    if (relpath.empty()) return n;
    for (std::string_view part : split_path(relpath)) {
        if (part.empty()) continue;  // tolerate "a//b" and a trailing slash in lookups
        n = lookup(n->ino, part);
        if (!n) return nullptr;
    }
    return n;
}

std::string MetaTree::path_of(const Node& n) const {
    std::vector<std::string_view> parts;
    for (const Node* p = &n; p->ino != kRootIno; p = get(p->parent)) parts.push_back(p->name);
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (!out.empty()) out += '/';
        out += *it;
    }
    return out;
}

bool MetaTree::has_corruption() const {
    return std::any_of(issues_.begin(), issues_.end(), [](const Issue& i) {
        return i.kind == IssueKind::Corrupt || i.kind == IssueKind::Collision;
    });
}

Node& MetaTree::make_node(uint64_t ino, NodeType type, Node& parent, std::string_view name) {
    Node& node = new_node();
    node.ino = ino;
    node.type = type;
    node.parent = parent.ino;
    node.name = name;
    if (ino >= kImplicitInoBase) {
        implicit_nodes_.push_back(&node);  // numbered in order: ino - base == position
    } else {
        const uint64_t i = ino - kFirstEntryIno;
        if (entry_nodes_.size() <= i) entry_nodes_.resize(i + 1, nullptr);
        entry_nodes_[i] = &node;
    }
    parent.children.push_back(ino);
    names_insert(name_hash(parent.ino, name), &node);
    if (type == NodeType::Directory) {
        ++dirs_;
        ++parent.subdirs;
    } else
        file_order_.push_back(ino);
    return node;
}

// Walks (creating implicit directories) to the parent of the last component.
// Returns nullptr and records an issue when a component is a file.
Node* MetaTree::ensure_parent_dirs(std::string_view path, uint64_t index) {
    Node* dir = root_;
    for (size_t start = 0;;) {
        const size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) return dir;
        const std::string_view part = path.substr(start, slash - start);
        start = slash + 1;
        Node* next = find_child(*dir, part);
        if (!next) {
            Node& d = make_node(next_implicit_++, NodeType::Directory, *dir, part);
            d.mode = 0755;
            d.implicit = true;
            dir = &d;
            continue;
        }
        if (!next->is_dir()) {
            issues_.push_back({IssueKind::Rejected, index, "relpath",
                               fmt::format("'{}' is a file, so nothing can be created under it",
                                           path_of(*next))});
            return nullptr;
        }
        dir = next;
    }
}

std::string MetaTree::check_fmap(const FileEntry& fe) const {
    const Fmap& m = fe.fmap;
    // `what` is "extent" or "strip"; the label is only formatted for a refusal.
    auto check_ext = [&](const SimpleExtent& e, std::string_view what, uint64_t i) -> std::string {
        if (e.devindex != 0)
            return fmt::format("{} {} devindex {}: only device 0 is supported", what, i,
                               e.devindex);
        if (e.len == 0) return fmt::format("{} {} has length 0", what, i);
        if (e.offset % kAllocUnit || e.len % kAllocUnit)
            return fmt::format("{} {} 0x{:x}+0x{:x} is not 2 MiB aligned", what, i, e.offset,
                               e.len);
        if (e.offset > device_size_ || e.len > device_size_ - e.offset)
            return fmt::format("{} {} 0x{:x}+0x{:x} is past the end of the device (0x{:x})", what,
                               i, e.offset, e.len, device_size_);
        return {};
    };
    if (m.ext_type == ExtentType::Simple) {
        if (m.count == 0 || m.count > kMaxSimpleExtents)
            return fmt::format("nextents {} (must be 1..{})", m.count, kMaxSimpleExtents);
        for (uint32_t i = 0; i < m.count; ++i)
            if (auto why = check_ext(m.se[i], "extent", i); !why.empty()) return why;
    } else if (m.ext_type == ExtentType::Interleave) {
        if (m.count != 1) return fmt::format("niext {} (must be 1)", m.count);
        const InterleavedExtent& ie = m.ie[0];
        if (ie.nstrips == 0 || ie.nstrips > kMaxStrips)
            return fmt::format("nstrips {} (must be 1..{})", ie.nstrips, kMaxStrips);
        if (ie.chunk_size == 0 || ie.chunk_size % kAllocUnit ||
            (ie.chunk_size & (ie.chunk_size - 1)))
            return fmt::format("chunk_size 0x{:x} is not a power-of-two multiple of 2 MiB",
                               ie.chunk_size);
        for (uint64_t i = 0; i < ie.nstrips; ++i)
            if (auto why = check_ext(ie.strips[i], "strip", i); !why.empty()) return why;
    } else {
        return fmt::format("ext_type {} is unknown", static_cast<uint32_t>(m.ext_type));
    }
    if (fmap_capacity(m) < fe.size)
        return fmt::format("extents cover {} bytes but the file size is {}", fmap_capacity(m),
                           fe.size);
    return {};
}

const MetaTree::Claim* MetaTree::find_claim(uint64_t off, uint64_t end) const {
    // The sorted vector: the last claim starting before `end` is the only one
    // that can overlap [off, end) (claims are disjoint, so ends are sorted too).
    // At or past the last one (first fit's usual case): nothing to search.
    if (!claims_sorted_.empty() && off < claims_sorted_.back().end) {
        auto it = std::lower_bound(claims_sorted_.begin(), claims_sorted_.end(), end,
                                   [](const Claim& c, uint64_t v) { return c.start < v; });
        if (it != claims_sorted_.begin() && std::prev(it)->end > off) return &*std::prev(it);
    }
    if (claims_.empty()) return nullptr;
    auto next = claims_.lower_bound(off);
    if (next != claims_.end() && next->first < end) return &next->second;
    if (next != claims_.begin() && std::prev(next)->second.end > off)
        return &std::prev(next)->second;
    return nullptr;
}

std::string MetaTree::check_claims(const Fmap& m) const {
    const uint64_t reserved = data_offset(log_len_);
    std::pair<uint64_t, uint64_t> own[kMaxStrips > kMaxSimpleExtents ? kMaxStrips
                                                                      : kMaxSimpleExtents];
    size_t nown = 0;  // this map's extents so far
    std::string why;
    visit_extents(m, [&](uint64_t off, uint64_t len) {
        if (!why.empty()) return;
        const uint64_t end = off + len;  // check_fmap bounded both by the device size
        if (off < reserved) {
            why = fmt::format(
                "extent 0x{:x}+0x{:x} overlaps the superblock/log region [0, 0x{:x}); not served",
                off, len, reserved);
            return;
        }
        for (size_t k = 0; k < nown; ++k)
            if (off < own[k].second && own[k].first < end) {
                why = fmt::format("extent 0x{:x}+0x{:x} overlaps another extent of the same file; "
                                  "not served",
                                  off, len);
                return;
            }
        own[nown++] = {off, end};
        if (const Claim* hit = find_claim(off, end)) {
            const Node* owner = get(kFirstEntryIno + hit->index);
            why = fmt::format(
                "extent 0x{:x}+0x{:x} overlaps another file: 0x{:x}+0x{:x} of '{}' (entry {}) "
                "owns it; not served",
                off, len, hit->start, hit->end - hit->start, owner ? path_of(*owner) : "?",
                hit->index);
        }
    });
    return why;
}

void MetaTree::claim(const Fmap& m, uint64_t index) {
    visit_extents(m, [&](uint64_t off, uint64_t len) {
        const Claim c{off, off + len, index};
        if (claims_sorted_.empty() || off >= claims_sorted_.back().end)
            claims_sorted_.push_back(c);
        else
            claims_.emplace(off, c);
    });
}

void MetaTree::apply(const LogEntry& e, uint64_t index) {
    next_index_ = index + 1;
    if (e.type == EntryType::AddDaxdev) return;  // single-device filesystems only for now
    if (e.type != EntryType::File && e.type != EntryType::Mkdir) {
        issues_.push_back({IssueKind::Rejected, index, "type",
                           fmt::format("entry type {} ignored", static_cast<uint32_t>(e.type))});
        return;
    }
    const char* raw = e.type == EntryType::File ? e.file.relpath : e.mkdir.relpath;
    if (strnlen(raw, kMaxPathLen) == kMaxPathLen) {
        issues_.push_back({IssueKind::Rejected, index, "relpath", "path is not NUL-terminated"});
        return;
    }
    std::string_view path(raw);
    if (std::string why = check_relpath(path); !why.empty()) {
        issues_.push_back(
            {IssueKind::Rejected, index, "relpath", fmt::format("'{}': {}", path, why)});
        return;
    }
    if (e.type == EntryType::File) {
        if (std::string why = check_fmap(e.file); !why.empty()) {
            issues_.push_back(
                {IssueKind::Rejected, index, "fmap", fmt::format("'{}': {}", path, why)});
            return;
        }
        // A map over the superblock/log would let anyone who can write the
        // file rewrite the metadata of every host; one over another file's
        // space would serve (and overwrite) its bytes. First owner wins.
        if (std::string why = check_claims(e.file.fmap); !why.empty()) {
            issues_.push_back(
                {IssueKind::Collision, index, "fmap", fmt::format("'{}': {}", path, why)});
            return;
        }
    }
    const uint32_t raw_mode = e.type == EntryType::File ? e.file.mode : e.mkdir.mode;
    const uint32_t mode = raw_mode & 01777;
    const uint32_t type_bits = raw_mode & S_IFMT;
    const uint32_t own_type = e.type == EntryType::File ? S_IFREG : S_IFDIR;
    if ((raw_mode & 06000) || (raw_mode & ~(S_IFMT | 07777)) ||
        (type_bits && type_bits != own_type))
        issues_.push_back({IssueKind::Neutralised, index, "mode",
                           fmt::format("'{}': mode 0{:o} served as 0{:o} (setuid/setgid, "
                                       "file-type and unknown bits are never served)",
                                       path, raw_mode, mode)});
    Node* dir = ensure_parent_dirs(path, index);
    if (!dir) return;
    const size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (Node* found = find_child(*dir, name)) {
        Node& existing = *found;
        if (e.type == EntryType::Mkdir && existing.is_dir() && existing.implicit) {
            // An explicit MKDIR after a file implied the directory: adopt its
            // attributes, keep the inode.
            existing.implicit = false;
            existing.mode = mode;
            existing.uid = e.mkdir.uid;
            existing.gid = e.mkdir.gid;
            existing.log_index = index;
            return;
        }
        issues_.push_back({IssueKind::Rejected, index, "relpath",
                           fmt::format("'{}' already exists (entry {}); the first one is kept",
                                       path, existing.log_index)});
        return;
    }
    const uint64_t ino = kFirstEntryIno + index;
    if (e.type == EntryType::Mkdir) {
        Node& d = make_node(ino, NodeType::Directory, *dir, name);
        d.mode = mode;
        d.uid = e.mkdir.uid;
        d.gid = e.mkdir.gid;
        d.log_index = index;
    } else {
        Node& f = make_node(ino, NodeType::File, *dir, name);
        f.mode = mode;
        f.uid = e.file.uid;
        f.gid = e.file.gid;
        f.size = e.file.size;
        f.flags = e.file.flags;
        f.fmap = e.file.fmap;
        f.log_index = index;
        claim(f.fmap, index);
    }
}

void MetaTree::skip(uint64_t index, Issue issue) {
    next_index_ = index + 1;
    issues_.push_back(std::move(issue));
}

void MetaTree::for_each_file(const std::function<void(const Node&)>& f) const {
    for (uint64_t ino : file_order_) f(*get(ino));
}

}  // namespace famfs
