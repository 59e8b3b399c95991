// Checkpoint serialization: a byte buffer built in memory, checksummed, written to a temp file,
// fsync'ed and renamed; reading verifies the checksum before trusting any length field.
#include "host/train/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

namespace pfce {

static_assert(std::endian::native == std::endian::little,
              "checkpoint I/O assumes a little-endian host");

namespace {

constexpr char kMagic[8] = {'P', 'F', 'C', 'E', 'C', 'K', 'P', 'T'};

template <typename T>
void put(std::vector<std::uint8_t>& buf, T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    buf.insert(buf.end(), p, p + sizeof(T));
}

void put_bytes(std::vector<std::uint8_t>& buf, const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    buf.insert(buf.end(), p, p + n);
}

// Bounds-checked reader over the verified payload.
struct Reader {
    const std::vector<std::uint8_t>& buf;
    std::size_t pos;
    std::size_t end;
    const std::string& path;

    void need(std::size_t n) const {
        if (n > end - pos)
            PFCE_THROW(InputError, "checkpoint ", path, ": truncated record at byte ", pos,
                       " (needs ", n, " more bytes)");
    }
    template <typename T>
    T get() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, buf.data() + pos, sizeof(T));
        pos += sizeof(T);
        return v;
    }
    std::string get_string(std::size_t n) {
        need(n);
        std::string s(reinterpret_cast<const char*>(buf.data() + pos), n);
        pos += n;
        return s;
    }
};

}  // namespace

const Tensor* Checkpoint::find(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t.value;
    return nullptr;
}

void Checkpoint::add(Backend& backend, const std::string& name, const Tensor& t) {
    tensors.push_back({name, host_copy(backend, t)});
}

void Checkpoint::load_into(Backend& backend, const std::string& name, Tensor& dst,
                           const std::string& source) const {
    const Tensor* src = find(name);
    if (!src) PFCE_THROW(InputError, "checkpoint ", source, ": missing tensor \"", name, "\"");
    if (src->shape() != dst.shape() || src->dtype() != dst.dtype())
        PFCE_THROW(InputError, "checkpoint ", source, ": tensor \"", name, "\" is ",
                   src->describe(), ", the model expects ", dst.describe());
    if (dst.device() == DeviceKind::cpu) {
        if (src->bytes()) std::memcpy(dst.raw(), src->raw(), src->bytes());
    } else {
        backend.copy(dst, *src);
    }
}

void write_checkpoint(const std::string& path, const Checkpoint& ckpt) {
    std::vector<std::uint8_t> buf;
    std::size_t total = 64;
    for (const auto& t : ckpt.tensors) total += t.value.bytes() + t.name.size() + 64;
    const std::string meta = ckpt.meta.dump();
    buf.reserve(total + meta.size());
    put_bytes(buf, kMagic, sizeof kMagic);
    put<std::uint32_t>(buf, kCheckpointVersion);
    put<std::uint64_t>(buf, meta.size());
    put_bytes(buf, meta.data(), meta.size());
    put<std::uint32_t>(buf, static_cast<std::uint32_t>(ckpt.tensors.size()));
    for (const auto& t : ckpt.tensors) {
        PFCE_CHECK_SHAPE(t.value.device() == DeviceKind::cpu, "checkpoint tensor ", t.name,
                         " must be on the host, got ", t.value.describe());
        put<std::uint32_t>(buf, static_cast<std::uint32_t>(t.name.size()));
        put_bytes(buf, t.name.data(), t.name.size());
        put<std::uint8_t>(buf, static_cast<std::uint8_t>(t.value.dtype()));
        put<std::uint8_t>(buf, static_cast<std::uint8_t>(t.value.shape().rank));
        for (int d = 0; d < t.value.shape().rank; ++d) put<std::int64_t>(buf, t.value.dim(d));
        put<std::uint64_t>(buf, t.value.bytes());
        put_bytes(buf, t.value.raw(), t.value.bytes());
    }
    put<std::uint64_t>(buf, fnv1a64(buf.data(), buf.size()));
    write_file_atomically(path,
                          std::string_view(reinterpret_cast<const char*>(buf.data()), buf.size()));
    log_debug("checkpoint ", path, ": ", ckpt.tensors.size(), " tensors, ", buf.size(), " bytes");
}

bool is_checkpoint_file(const std::string& path) {
    if (!special_file_kind(path).empty()) return false;  // a FIFO would wait for a writer
    char head[sizeof kMagic] = {};
    std::ifstream f(path, std::ios::binary);
    return f.read(head, sizeof head) && std::memcmp(head, kMagic, sizeof kMagic) == 0;
}

std::string checkpoint_weights_checksum(const std::string& path) {
    if (!is_checkpoint_file(path)) return "absent";
    try {
        const Checkpoint ck = read_checkpoint(path);
        std::uint64_t h = fnv1a64(nullptr, 0);
        for (const NamedTensor& t : ck.tensors) {
            h = fnv1a64(t.name.data(), t.name.size() + 1, h);  // with its NUL: names stay apart
            h = fnv1a64(t.value.raw(), t.value.bytes(), h);
        }
        return hex64(h);
    } catch (const InputError&) {
        return "absent";
    }
}

nlohmann::json peek_checkpoint_meta(const std::string& path) {
    if (!special_file_kind(path).empty()) return nullptr;
    std::ifstream f(path, std::ios::binary);
    char head[sizeof kMagic] = {};
    std::uint32_t version = 0;
    std::uint64_t n = 0;
    if (!f.read(head, sizeof head) || std::memcmp(head, kMagic, sizeof kMagic) != 0 ||
        !f.read(reinterpret_cast<char*>(&version), sizeof version) ||
        !f.read(reinterpret_cast<char*>(&n), sizeof n) || n > (std::uint64_t{1} << 30))
        return nullptr;
    std::string text(static_cast<std::size_t>(n), '\0');
    if (!f.read(text.data(), static_cast<std::streamsize>(n))) return nullptr;
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

Checkpoint read_checkpoint(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        PFCE_THROW(InputError, "checkpoint ", path,
                   " is a directory; expected a checkpoint file (a run's last.ckpt or best.ckpt)");
    refuse_special_file(path, "a checkpoint file (a run's last.ckpt or best.ckpt)");
    std::ifstream f(path, std::ios::binary);
    if (!f) PFCE_THROW(InputError, "cannot open checkpoint ", path, ": ", std::strerror(errno));
    std::vector<std::uint8_t> buf;
    try {  // a read error surfaces as an exception from the stream buffer, naming no file
        // The magic first: a file that is not a checkpoint (a 3 GB image, /dev/zero) is refused
        // after 8 bytes, not after reading it whole (or running out of memory trying).
        char head[sizeof kMagic] = {};
        f.read(head, sizeof head);
        buf.assign(head, head + f.gcount());
        if (buf.size() == sizeof kMagic && std::memcmp(head, kMagic, sizeof kMagic) != 0)
            PFCE_THROW(InputError, "checkpoint ", path,
                       ": not a pfce checkpoint (bad magic; a run's last.ckpt or best.ckpt starts "
                       "with PFCECKPT)");
        if (f) buf.insert(buf.end(), std::istreambuf_iterator<char>(f), {});
    } catch (const InputError&) {
        throw;
    } catch (const std::exception& e) {
        PFCE_THROW(InputError, "cannot read checkpoint ", path, ": ", e.what());
    }
    if (f.bad()) PFCE_THROW(InputError, "cannot read checkpoint ", path);
    constexpr std::size_t kMinSize = sizeof kMagic + 4 + 8 + 4 + 8;
    if (buf.size() < kMinSize)
        PFCE_THROW(InputError, "checkpoint ", path, ": truncated (", buf.size(), " bytes)");
    std::uint32_t version;
    std::memcpy(&version, buf.data() + sizeof kMagic, 4);
    if (version != kCheckpointVersion)
        PFCE_THROW(InputError, "checkpoint ", path, ": format version ", version,
                   ", this build reads ", kCheckpointVersion);
    std::uint64_t stored;
    std::memcpy(&stored, buf.data() + buf.size() - 8, 8);
    if (fnv1a64(buf.data(), buf.size() - 8) != stored)
        PFCE_THROW(InputError, "checkpoint ", path,
                   ": checksum mismatch (the file is corrupted or truncated)");

    Reader r{buf, sizeof kMagic + 4, buf.size() - 8, path};
    Checkpoint ck;
    const auto meta_len = r.get<std::uint64_t>();
    r.need(meta_len);
    try {
        ck.meta = nlohmann::json::parse(r.get_string(meta_len));
    } catch (const nlohmann::json::exception& e) {
        PFCE_THROW(InputError, "checkpoint ", path, ": bad metadata: ", e.what());
    }
    const auto count = r.get<std::uint32_t>();
    for (std::uint32_t i = 0; i < count; ++i) {
        NamedTensor nt;
        nt.name = r.get_string(r.get<std::uint32_t>());
        const auto dtype = r.get<std::uint8_t>();
        const auto rank = r.get<std::uint8_t>();
        if (dtype > static_cast<std::uint8_t>(DType::i32) || rank > Shape::kMaxRank)
            PFCE_THROW(InputError, "checkpoint ", path, ": tensor \"", nt.name,
                       "\" has bad dtype/rank");
        Shape s;
        s.rank = rank;
        for (int d = 0; d < rank; ++d) {
            const auto v = r.get<std::int64_t>();
            if (v < 0)
                PFCE_THROW(InputError, "checkpoint ", path, ": tensor \"", nt.name,
                           "\" has a negative dimension");
            s.dims[static_cast<std::size_t>(d)] = v;
        }
        const auto bytes = r.get<std::uint64_t>();
        // The shape's size is checked against the bytes stored and the bytes left in the file
        // before anything is allocated: a damaged header must not ask for terabytes.
        std::uint64_t need = dtype_size(static_cast<DType>(dtype));
        for (int d = 0; d < rank; ++d) {
            const auto dim = static_cast<std::uint64_t>(s.dims[static_cast<std::size_t>(d)]);
            if (dim != 0 && need > (std::uint64_t{1} << 62) / dim)
                PFCE_THROW(InputError, "checkpoint ", path, ": tensor \"", nt.name,
                           "\" has a shape too large to be real (", s.str(), ")");
            need *= dim;
        }
        if (bytes != need)
            PFCE_THROW(InputError, "checkpoint ", path, ": tensor \"", nt.name, "\" holds ", bytes,
                       " bytes, its shape needs ", need);
        r.need(bytes);
        nt.value = Tensor::host(s, static_cast<DType>(dtype));
        if (bytes) std::memcpy(nt.value.raw(), buf.data() + r.pos, bytes);
        r.pos += bytes;
        ck.tensors.push_back(std::move(nt));
    }
    if (r.pos != r.end)
        PFCE_THROW(InputError, "checkpoint ", path, ": ", r.end - r.pos,
                   " unexpected bytes after the tensors");
    return ck;
}

}  // namespace pfce
