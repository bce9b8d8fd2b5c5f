// vps/guest_files: /etc/hostname, /etc/hosts, /etc/resolv.conf for a VPS.
#include "vps/guest_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/unique_fd.hpp"
#include "namespaces/rootfs_path.hpp"

namespace berth::vps {
namespace {

Status validateLabels(const std::string& name, const char* what, size_t maxLen) {
    if (name.empty() || name.size() > maxLen)
        return Error(EINVAL, strCat(what, " \"", name, "\" must be 1..", maxLen, " characters"));
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        std::string label =
            name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        bool okChars =
            !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-';
        for (char c : label)
            okChars = okChars && (std::isalnum(static_cast<unsigned char>(c)) || c == '-');
        if (!okChars)
            return Error(EINVAL, strCat(what, " \"", name,
                                        "\" is not a valid name (letters, digits, '-', dots)"));
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return {};
}

// Replace dir/name with data: temp file, owner, fsync, rename over (a symlink there is replaced).
Status replaceFile(int dirFd, const std::string& name, const std::string& data, uid_t uid,
                   gid_t gid) {
    std::string tmp = "." + name + ".berth-tmp";
    ::unlinkat(dirFd, tmp.c_str(), 0);
    UniqueFd fd(
        ::openat(dirFd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) return Error::fromErrno("create /etc/", tmp);
    ScopeGuard removeTmp([&] { ::unlinkat(dirFd, tmp.c_str(), 0); });
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
        if (n < 0) return Error::fromErrno("write /etc/", name);
        off += static_cast<size_t>(n);
    }
    if (::fchown(fd.get(), uid, gid) < 0) return Error::fromErrno("chown /etc/", name);
    if (::fchmod(fd.get(), 0644) < 0) return Error::fromErrno("chmod /etc/", name);
    if (::fsync(fd.get()) < 0) return Error::fromErrno("fsync /etc/", name);
    if (::renameat(dirFd, tmp.c_str(), dirFd, name.c_str()) < 0)
        return Error::fromErrno("rename /etc/", name);
    removeTmp.dismiss();
    return {};
}

}  // namespace

Status validateHostname(const std::string& name) {
    return validateLabels(name, "hostname", 64);
}
Status validateDomain(const std::string& name) {
    return validateLabels(name, "search domain", 253);
}

std::string renderHostname(const GuestNetworkFiles& f) {
    return f.hostname + "\n";
}

std::string renderHosts(const GuestNetworkFiles& f) {
    std::string names = f.hostname;
    auto dot = f.hostname.find('.');
    if (dot != std::string::npos) names += " " + f.hostname.substr(0, dot);
    std::string out =
        "# written by berth from the VPS's config\n"
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n";
    // Debian's convention for a host without a static address: 127.0.1.1 names it.
    if (f.addresses.empty()) out += "127.0.1.1\t" + names + "\n";
    for (const auto& a : f.addresses) out += a.addr.str() + "\t" + names + "\n";
    return out;
}

std::string renderResolvConf(const GuestNetworkFiles& f) {
    std::string out = "# written by berth from the VPS's config\n";
    if (!f.searchDomains.empty()) {
        out += "search";
        for (const auto& d : f.searchDomains) out += " " + d;
        out += "\n";
    }
    for (const auto& n : f.nameservers) out += "nameserver " + n.str() + "\n";
    return out;
}

Status writeGuestNetworkFiles(const std::string& rootfsDir, const GuestNetworkFiles& f) {
    if (!f.hostname.empty()) TRY(validateHostname(f.hostname));
    for (const auto& d : f.searchDomains) TRY(validateDomain(d));
    ASSIGN_OR_RETURN(auto root, namespaces::RootDir::open(rootfsDir));
    ASSIGN_OR_RETURN(auto etc, root.resolve("/etc", namespaces::Create::Directory));
    if (!f.hostname.empty()) {
        TRY(replaceFile(etc.get(), "hostname", renderHostname(f), f.uid, f.gid));
        TRY(replaceFile(etc.get(), "hosts", renderHosts(f), f.uid, f.gid));
    }
    if (!f.nameservers.empty() || !f.searchDomains.empty())
        TRY(replaceFile(etc.get(), "resolv.conf", renderResolvConf(f), f.uid, f.gid));
    return {};
}

}  // namespace berth::vps

// ---- the template's own network configuration ----------------------------------------------
namespace berth::vps {
namespace {

constexpr const char* kDisabled = "#berth-disabled: ";
constexpr const char* kBlockBegin = "# --- berth: begin (written at every start and set) ---";
constexpr const char* kBlockEnd = "# --- berth: end ---";

std::vector<std::string> splitWords(const std::string& line) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < line.size()) {
        size_t b = line.find_first_not_of(" \t", i);
        if (b == std::string::npos) break;
        size_t e = line.find_first_of(" \t", b);
        out.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
        i = e == std::string::npos ? line.size() : e;
    }
    return out;
}

bool stanzaKeyword(const std::string& w) {
    return w == "iface" || w == "mapping" || w == "auto" || w.rfind("allow-", 0) == 0 ||
           w == "source" || w == "source-directory" || w == "rename" || w == "no-auto-down" ||
           w == "no-scripts";
}

// "auto lo eth0" → "auto lo" (and the original kept, disabled); a line naming only ifname is
// disabled whole.
void dropFromList(const std::vector<std::string>& w, const std::string& line,
                  const std::string& ifname, std::string& out) {
    std::string kept = w[0];
    size_t n = 0;
    for (size_t i = 1; i < w.size(); i++)
        if (w[i] != ifname) kept += " " + w[i], n++;
    out += kDisabled + line + "\n";
    if (n) out += kept + "\n";
}

// Reads a regular file inside the rootfs (not through a symlink); nullopt when missing or not one.
std::optional<std::string> readInside(const namespaces::RootDir& root, const std::string& path) {
    auto parent = root.resolveParent(path, false);
    if (!parent) return std::nullopt;
    UniqueFd fd(::openat(parent->first.get(), parent->second.c_str(),
                         O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    std::string data;
    char buf[8192];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) data.append(buf, static_cast<size_t>(n));
    return data;
}

Status editInterfacesFile(const namespaces::RootDir& root, const std::string& path,
                          const std::string& ifname, bool appendBlock) {
    auto text = readInside(root, path);
    if (!text) return {};
    std::string edited = disableIfupdownStanzas(*text, ifname, appendBlock);
    if (edited == *text) return {};
    ASSIGN_OR_RETURN(auto parent, root.resolveParent(path, false));
    struct stat st {};
    if (::fstatat(parent.first.get(), parent.second.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("stat ", path);
    return replaceFile(parent.first.get(), parent.second, edited, st.st_uid, st.st_gid);
}

}  // namespace

std::string renderNetworkdFile(const GuestInterface& i) {
    std::string out =
        "# Written by berth from the VPS's config (berth vps set --ip/--gateway/--nameserver):\n"
        "# " + i.name + " is configured from the host, and this tells systemd-networkd the same,\n"
        "# so that it keeps what berth set. Rewritten at every start and set.\n"
        "[Match]\nName=" + i.name + "\n\n"
        "[Network]\nDHCP=no\nIPv6AcceptRA=no\nLinkLocalAddressing=ipv6\nKeepConfiguration=static\n";
    for (const auto& g : i.gateways) out += "Gateway=" + g.str() + "\n";
    for (const auto& n : i.nameservers) out += "DNS=" + n.str() + "\n";
    if (!i.searchDomains.empty()) {
        out += "Domains=";
        for (size_t k = 0; k < i.searchDomains.size(); k++) out += (k ? " " : "") + i.searchDomains[k];
        out += "\n";
    }
    for (const auto& a : i.addresses)
        out += "\n[Address]\nAddress=" + a.str() + "\nDuplicateAddressDetection=none\n";
    return out;
}

std::string disableIfupdownStanzas(const std::string& text, const std::string& ifname,
                                   bool appendBlock) {
    std::string out;
    bool inStanza = false, inBlock = false;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        if (line == kBlockBegin) inBlock = true;
        if (inBlock) {
            if (line == kBlockEnd) inBlock = false;
            continue;
        }
        auto w = splitWords(line);
        if (w.empty() || w[0][0] == '#') {
            out += line + "\n";
            continue;
        }
        if (stanzaKeyword(w[0])) {
            inStanza = (w[0] == "iface" || w[0] == "mapping") && w.size() > 1 && w[1] == ifname;
            bool listed = !inStanza && w[0] != "iface" && w[0] != "mapping" &&
                          std::find(w.begin() + 1, w.end(), ifname) != w.end();
            if (inStanza) out += kDisabled + line + "\n";
            else if (listed) dropFromList(w, line, ifname, out);
            else out += line + "\n";
            continue;
        }
        out += (inStanza ? kDisabled : "") + line + "\n";
    }
    if (appendBlock)
        out += std::string(kBlockBegin) + "\n# " + ifname +
               " is configured from the host (berth vps set --ip); ifupdown leaves it alone.\n" +
               "iface " + ifname + " inet manual\n" + kBlockEnd + "\n";
    return out;
}

Status writeGuestNetworkConfig(const std::string& rootfsDir, const GuestInterface& i, uid_t uid,
                               gid_t gid) {
    ASSIGN_OR_RETURN(auto root, namespaces::RootDir::open(rootfsDir));
    if (root.resolve("/etc/systemd")) {
        ASSIGN_OR_RETURN(auto dir, root.resolve("/etc/systemd/network", namespaces::Create::Directory));
        TRY(replaceFile(dir.get(), kNetworkdFile, renderNetworkdFile(i), uid, gid));
    }
    if (readInside(root, "/etc/network/interfaces")) {
        TRY(editInterfacesFile(root, "/etc/network/interfaces", i.name, true));
        if (auto d = root.resolve("/etc/network/interfaces.d")) {
            UniqueFd dir(::openat(d->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            std::vector<std::string> names;
            if (DIR* dp = dir ? ::fdopendir(::dup(dir.get())) : nullptr) {
                while (auto* e = ::readdir(dp))
                    if (e->d_name[0] != '.') names.push_back(e->d_name);
                ::closedir(dp);
            }
            for (const auto& n : names)
                TRY(editInterfacesFile(root, "/etc/network/interfaces.d/" + n, i.name, false));
        }
    }
    return {};
}

}  // namespace berth::vps
