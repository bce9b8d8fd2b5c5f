// vps/guest_files: /etc/hostname, /etc/hosts, /etc/resolv.conf for a VPS.
#include "vps/guest_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

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
