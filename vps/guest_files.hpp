// vps/guest_files: the network files a VPS's OS reads at boot — /etc/hostname, /etc/hosts,
// /etc/resolv.conf — rendered from the VPS config and written into its rootfs from the host.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "vps/ip_prefix.hpp"

namespace berth::vps {

struct GuestNetworkFiles {
    std::string hostname;                // empty: /etc/hostname and /etc/hosts are left alone
    std::vector<IpPrefix> addresses;     // named in /etc/hosts after the hostname
    std::vector<IpAddress> nameservers;  // with searchDomains: /etc/resolv.conf (else left alone)
    std::vector<std::string> searchDomains;
    uid_t uid = 0;  // owner of the written files on the host (the VPS's root, mapped)
    gid_t gid = 0;
};

// RFC 1123 host name, at most 64 bytes (the kernel's limit for sethostname).
Status validateHostname(const std::string& name);
Status validateDomain(const std::string& name);

std::string renderHostname(const GuestNetworkFiles& f);
std::string renderHosts(const GuestNetworkFiles& f);
std::string renderResolvConf(const GuestNetworkFiles& f);

// Write the files into rootfsDir/etc (created if missing). Paths resolve inside the rootfs: a
// symlink the VPS planted (/etc/resolv.conf -> /etc/shadow) is replaced, never followed out.
// Each file is replaced atomically (write a temp file, rename over).
Status writeGuestNetworkFiles(const std::string& rootfsDir, const GuestNetworkFiles& f);

// The template's own network configuration, told that berth configures the VPS's interface from
// the host (so the guest's tools keep, rather than flush or fight, what berth set):
//   systemd-networkd  /etc/systemd/network/10-berth-eth0.network: the same static configuration
//                     (KeepConfiguration=static, no DHCP, no RA, no DAD), when /etc/systemd exists;
//   ifupdown          /etc/network/interfaces (+ interfaces.d/*): the interface's stanzas commented
//                     out ("#berth-disabled: "), and a marked block "iface eth0 inet manual"
//                     appended, when /etc/network/interfaces exists.
struct GuestInterface {
    std::string name = "eth0";
    std::vector<IpPrefix> addresses;
    std::vector<IpAddress> gateways;
    std::vector<IpAddress> nameservers;
    std::vector<std::string> searchDomains;
};
inline constexpr const char* kNetworkdFile = "10-berth-eth0.network";
std::string renderNetworkdFile(const GuestInterface& i);
// interfaces(5) text with every stanza and auto/allow- mention of `ifname` disabled; with
// `appendBlock`, berth's block (replacing an older one) at the end. Idempotent.
std::string disableIfupdownStanzas(const std::string& text, const std::string& ifname,
                                   bool appendBlock);
Status writeGuestNetworkConfig(const std::string& rootfsDir, const GuestInterface& i, uid_t uid,
                               gid_t gid);

}  // namespace berth::vps
