#include "famfs/fs.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "famfs/cache.h"
#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/uuid.h"

namespace famfs {

std::string_view to_string(Role r) { return r == Role::Owner ? "owner" : "client"; }

bool has_valid_superblock(const Device& dev) {
    if (dev.size() < sizeof(Superblock)) return false;
    const Superblock* sb = dev.at<Superblock>(0);
    invalidate(sb, sizeof *sb);
    return sb->magic == kSuperblockMagic && sb->crc == superblock_crc(*sb);
}

Uuid mkfs(Device& dev, const MkfsOptions& opt) {
    if (!dev.writable()) fail(EROFS, "{} is opened read-only", dev.path());
    if (opt.log_len < kMinLogLen || (opt.log_len & (opt.log_len - 1)))
        fail(EINVAL, "log length {} must be a power of two of at least 8 MiB", opt.log_len);
    const uint64_t need = data_offset(opt.log_len) + kAllocUnit;
    if (dev.size() < need)
        fail(ENOSPC, "{} has {} bytes; a famfs with a {} MiB log needs at least {}", dev.path(),
             dev.size(), opt.log_len >> 20, need);
    if (has_valid_superblock(dev) && !opt.force)
        fail(EEXIST,
             "{} already holds a famfs filesystem (fs uuid {}); use --force to overwrite it",
             dev.path(), to_string(dev.at<Superblock>(0)->fs_uuid));

    // Invalidate any old superblock first: from here until the new one is
    // written, the device is not a valid famfs.
    Superblock* sb = dev.at<Superblock>(0);
    std::memset(sb, 0, sizeof *sb);
    flush(sb, sizeof *sb);

    // Log: header plus zeroed entries.
    uint8_t* log = dev.base() + kLogOffset;
    std::memset(log, 0, opt.log_len);
    auto* hdr = reinterpret_cast<LogHeader*>(log);
    hdr->magic = kLogMagic;
    hdr->log_len = opt.log_len;
    hdr->last_index = log_last_index(opt.log_len);
    hdr->crc = log_header_crc(*hdr);
    hdr->next_seqnum = 0;
    hdr->next_index = 0;
    flush(log, opt.log_len);

    Superblock fresh{};
    fresh.magic = kSuperblockMagic;
    fresh.version = kSuperblockVersion;
    fresh.log_offset = kLogOffset;
    fresh.log_len = opt.log_len;
    fresh.alloc_unit = kAllocUnit;
    fresh.omf_ver_major = kOmfMajor;
    fresh.omf_ver_minor = kOmfMinor;
    fresh.fs_uuid = random_uuid();
    fresh.device_uuid = random_uuid();
    fresh.system_uuid = opt.system_uuid;
    fresh.sb_flags = 0;
    fresh.daxdev.size = dev.size() / kAllocUnit * kAllocUnit;
    fresh.daxdev.uuid = fresh.device_uuid;
    std::strncpy(fresh.daxdev.name, dev.path().c_str(), kDevNameLen - 1);
    fresh.crc = superblock_crc(fresh);
    std::memcpy(sb, &fresh, sizeof fresh);
    flush(sb, sizeof *sb);
    return fresh.fs_uuid;
}

std::unique_ptr<Filesystem> Filesystem::open(const std::string& device_path, const Options& opt) {
    Device dev = opt.through_mount.empty()
                     ? Device::open(device_path, opt.access)
                     : Device::open_through_mount(device_path, opt.through_mount, opt.access);
    std::unique_ptr<Filesystem> fs(
        new Filesystem(std::move(dev), system_uuid_path(opt.system_uuid_file)));
    fs->opened_sb_ = fs->superblock();
    if (opt.identify_host) {
        fs->host_uuid_ = load_system_uuid(fs->host_uuid_file_);
        fs->role_ = fs->host_uuid_ == fs->superblock().system_uuid ? Role::Owner : Role::Client;
    }
    fs->refresh();
    return fs;
}

Filesystem::Filesystem(Device dev, std::string uuid_file)
    : dev_(std::move(dev)),
      log_(dev_),
      tree_(log_.superblock().daxdev.size, log_.superblock().log_len),
      host_uuid_file_(std::move(uuid_file)) {}

ReplayResult Filesystem::refresh() { return replay(log_, tree_); }

std::string Filesystem::check_identity() const {
    const uint64_t now = dev_.current_size();
    const uint64_t need = std::max<uint64_t>(opened_sb_.daxdev.size, data_offset(opened_sb_.log_len));
    if (now < need)
        return fmt::format("{}: the device shrank to {} bytes; the filesystem needs {}", dev_.path(),
                           now, need);
    Superblock sb;
    invalidate(dev_.base(), sizeof sb);
    std::memcpy(&sb, dev_.base(), sizeof sb);
    if (auto p = check_superblock(sb, now))
        return fmt::format("{}: the superblock is no longer valid ({}: {})", dev_.path(), p->field,
                           p->detail);
    if (!(sb.fs_uuid == opened_sb_.fs_uuid))
        return fmt::format("{}: the device was re-formatted (fs uuid {} is now {})", dev_.path(),
                           to_string(opened_sb_.fs_uuid), to_string(sb.fs_uuid));
    if (sb.log_len != opened_sb_.log_len || sb.daxdev.size != opened_sb_.daxdev.size)
        return fmt::format("{}: the superblock's geometry changed", dev_.path());
    return {};
}

void Filesystem::require_owner(std::string_view what) const {
    if (role_ == Role::Owner) return;
    fail(EPERM,
         "cannot {}: this host is a client of {} (host uuid {} from {}; owner uuid {}); only the "
         "owner host can create files",
         what, dev_.path(), to_string(host_uuid_), host_uuid_file_,
         to_string(superblock().system_uuid));
}

void Filesystem::catch_up_locked() {
    // An interrupted append or a damaged next_index: keep every committed
    // entry (or refuse to write at all) before anything is appended.
    if (std::string what = repair_header_locked(log_); !what.empty())
        tree_.add_issue({IssueKind::Repaired, kNoLogIndex, "next_index", what});
    // Under the lock nothing can be in flight: a bad tail is corruption.
    replay(log_, tree_, /*torn_tail_is_final=*/true);
    if (tree_.has_corruption()) {
        for (const Issue& i : tree_.issues())
            if (i.kind == IssueKind::Corrupt)
                fail(EUCLEAN,
                     "the log on {} is damaged ({}); run famfs fsck {} — nothing was written",
                     dev_.path(), describe(i), dev_.path());
    }
    sync_allocator();
}

void Filesystem::sync_allocator() {
    if (!alloc_) {
        alloc_.emplace(superblock().daxdev.size, superblock().log_len);
        alloc_synced_files_ = 0;
    }
    const auto& files = tree_.files_in_log_order();
    std::vector<Issue> collisions;
    for (; alloc_synced_files_ < files.size(); ++alloc_synced_files_)
        alloc_->mark(*tree_.get(files[alloc_synced_files_]), &collisions);
    for (Issue& c : collisions) tree_.add_issue(std::move(c));
}

Allocator Filesystem::allocator_snapshot() const {
    Allocator a(superblock().daxdev.size, superblock().log_len);
    a.mark_tree(tree_);
    return a;
}

Filesystem::Batch::Batch(Filesystem& fs) : fs_(fs), lock_(fs.dev_) {
    fs_.require_owner("create files or directories");
    if (!fs_.dev_.writable()) fail(EROFS, "{} is opened read-only", fs_.dev_.path());
    fs_.catch_up_locked();
}

Filesystem::Batch::~Batch() {
    // Staged allocations that were never appended: forget them by rebuilding
    // the free-space map from the tree next time.
    if (!committed_ && !staged_.empty()) fs_.alloc_.reset();
}

Filesystem::Batch Filesystem::batch() { return Batch(*this); }

const Node& Filesystem::create_file(const FileSpec& spec) {
    Batch b(*this);
    b.create_file(spec);
    b.commit();
    return *tree_.resolve(spec.relpath);
}

const Node& Filesystem::mkdir(const DirSpec& spec) {
    Batch b(*this);
    b.mkdir(spec);
    b.commit();
    return *tree_.resolve(spec.relpath);
}

const Node& Filesystem::mkdir_p(const DirSpec& spec) {
    Batch b(*this);
    b.mkdir(spec, /*parents=*/true);
    b.commit();
    return *tree_.resolve(spec.relpath);
}

namespace {

void copy_path(char (&dst)[kMaxPathLen], const std::string& path) {
    std::memset(dst, 0, sizeof dst);
    std::memcpy(dst, path.data(), path.size());
}

std::string_view parent_of(std::string_view relpath) {
    const size_t slash = relpath.rfind('/');
    return slash == std::string_view::npos ? std::string_view() : relpath.substr(0, slash);
}

}  // namespace

Filesystem::Batch::Kind Filesystem::Batch::kind(std::string_view relpath) const {
    if (const Node* n = fs_.tree_.resolve(relpath)) return n->is_dir() ? Kind::Dir : Kind::File;
    auto it = staged_kind_.find(std::string(relpath));
    return it == staged_kind_.end() ? Kind::None : it->second;
}

uint64_t Filesystem::Batch::file_size(std::string_view relpath) const {
    if (const Node* n = fs_.tree_.resolve(relpath)) return n->is_dir() ? 0 : n->size;
    auto it = staged_size_.find(std::string(relpath));
    return it == staged_size_.end() ? 0 : it->second;
}

void Filesystem::Batch::stage(const LogEntry& e, std::string relpath, Kind k, uint64_t size) {
    staged_.push_back(e);
    if (k == Kind::File) staged_size_[relpath] = size;
    staged_kind_[std::move(relpath)] = k;
}

namespace {
// Every mount shows /.meta (the superblock and log files, as upstream famfs):
// an entry there would be hidden behind it.
void refuse_meta_path(const std::string& relpath) {
    const auto parts = split_path(relpath);
    if (!parts.empty() && parts[0] == ".meta")
        fail(EINVAL,
             "'{}': '.meta' at the root is reserved for the metadata files every mount shows "
             "(.meta/.superblock, .meta/.log)",
             relpath);
}
}  // namespace

void Filesystem::Batch::create_file(const FileSpec& spec) {
    if (std::string why = check_relpath(spec.relpath); !why.empty())
        fail(EINVAL, "invalid famfs path '{}': {}", spec.relpath, why);
    refuse_meta_path(spec.relpath);
    if (spec.size == 0)
        fail(EINVAL, "'{}': famfs files are pre-allocated; give a size > 0", spec.relpath);
    if (kind(spec.relpath) != Kind::None) fail(EEXIST, "'{}' already exists", spec.relpath);
    const std::string_view parent = parent_of(spec.relpath);
    switch (kind(parent)) {
        case Kind::Dir:
            break;
        case Kind::File:
            fail(ENOTDIR, "'{}' is not a directory", parent);
        case Kind::None:
            fail(ENOENT, "parent directory '{}' does not exist (use mkdir -p)", parent);
    }

    const Superblock& sb = fs_.superblock();
    // A size the device cannot hold is refused here, before any arithmetic
    // on it (sizes near 2^64 wrap when rounded to allocation units).
    const uint64_t data_bytes = sb.daxdev.size - data_offset(sb.log_len);
    if (spec.size > data_bytes)
        fail(ENOSPC,
             "no room for '{}' ({} bytes): the filesystem on {} has only {} bytes of data space; "
             "nothing was created",
             spec.relpath, spec.size, fs_.dev_.path(), data_bytes);
    std::optional<Fmap> m;
    if (spec.interleave) {
        if (std::string why = check_interleave(*spec.interleave, sb.daxdev.size, sb.log_len);
            !why.empty())
            fail(EINVAL, "'{}': interleave parameters: {}", spec.relpath, why);
        m = fs_.alloc_->allocate_interleaved(spec.size, *spec.interleave);
    } else {
        m = fs_.alloc_->allocate(spec.size);
    }
    if (!m)
        fail(ENOSPC, "no room for '{}' ({} bytes): {} bytes free on {}", spec.relpath, spec.size,
             fs_.alloc_->free_bytes(), fs_.dev_.path());
    if (fmap_capacity(*m) < spec.size) {  // never log an entry that replay would refuse
        fs_.alloc_.reset();
        fail(EIO, "'{}': allocated {} bytes for a {}-byte file (a bug); nothing was created",
             spec.relpath, fmap_capacity(*m), spec.size);
    }

    LogEntry e{};
    e.type = EntryType::File;
    e.file.size = spec.size;
    e.file.flags = kFileFlagAllHostsRw;
    e.file.uid = spec.uid;
    e.file.gid = spec.gid;
    e.file.mode = spec.mode & 07777;
    copy_path(e.file.relpath, spec.relpath);
    e.file.fmap = *m;
    stage(e, spec.relpath, Kind::File, spec.size);
}

bool Filesystem::Batch::mkdir(const DirSpec& spec, bool parents, bool exist_ok) {
    if (spec.relpath.empty()) {
        if (parents || exist_ok) return false;
        fail(EEXIST, "'/': the root directory already exists");
    }
    if (std::string why = check_relpath(spec.relpath); !why.empty())
        fail(EINVAL, "invalid famfs path '{}': {}", spec.relpath, why);
    refuse_meta_path(spec.relpath);
    // Check every component before staging any, so a failure stages nothing.
    const auto parts = split_path(spec.relpath);
    std::vector<std::string> missing;
    std::string prefix;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (!prefix.empty()) prefix += '/';
        prefix += parts[i];
        const bool last = i + 1 == parts.size();
        switch (kind(prefix)) {
            case Kind::Dir:
                if (last && !parents && !exist_ok) fail(EEXIST, "'{}' already exists", prefix);
                break;
            case Kind::File:
                fail(ENOTDIR, "'{}' exists and is not a directory", prefix);
            case Kind::None:
                if (!last && !parents)
                    fail(ENOENT, "parent directory '{}' does not exist (use mkdir -p)", prefix);
                missing.push_back(prefix);
                break;
        }
    }
    for (const std::string& path : missing) {
        LogEntry e{};
        e.type = EntryType::Mkdir;
        e.mkdir.uid = spec.uid;
        e.mkdir.gid = spec.gid;
        e.mkdir.mode = spec.mode & 07777;
        copy_path(e.mkdir.relpath, path);
        stage(e, path, Kind::Dir, 0);
    }
    return !missing.empty();
}

void Filesystem::Batch::commit() {
    if (committed_) fail(EINVAL, "this batch was already committed");
    const uint64_t free_slots = fs_.log_.capacity() - fs_.log_.published_count();
    if (staged_.size() > free_slots)
        fail(ENOSPC, "the famfs log is full: {} needed, {} left (of {}); nothing was created",
             staged_.size() == 1 ? "1 entry" : fmt::format("{} entries", staged_.size()),
             free_slots == 1 ? "1 slot" : fmt::format("{} slots", free_slots), fs_.log_.capacity());
    committed_ = true;
    for (const LogEntry& e : staged_) append_entry(fs_.log_, e);
    // Replay what we appended. The allocator already holds the staged
    // extents, so count the new files as marked rather than marking them
    // twice (which would look like collisions).
    replay(fs_.log_, fs_.tree_, /*torn_tail_is_final=*/true);
    fs_.alloc_synced_files_ = fs_.tree_.files_in_log_order().size();
    for (const auto& [path, k] : staged_kind_)
        if (!fs_.tree_.resolve(path))
            fail(EIO, "'{}' was logged but did not replay; run famfs fsck {}", path,
                 fs_.dev_.path());
}

size_t Filesystem::write_data(const Node& f, uint64_t off, const void* src, size_t len) {
    if (!dev_.writable()) fail(EROFS, "{} is opened read-only", dev_.path());
    size_t done = 0;
    for_each_range(f, off, len, [&](uint8_t* p, uint64_t n) {
        std::memcpy(p, static_cast<const uint8_t*>(src) + done, n);
        flush(p, n);
        done += n;
    });
    return done;
}

size_t Filesystem::read_data(const Node& f, uint64_t off, void* dst, size_t len) const {
    size_t done = 0;
    for_each_range(f, off, len, [&](uint8_t* p, uint64_t n) {
        invalidate(p, n);
        std::memcpy(static_cast<uint8_t*>(dst) + done, p, n);
        done += n;
    });
    return done;
}

}  // namespace famfs
