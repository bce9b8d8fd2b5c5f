#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/fs.hpp"
#include "common/unix_socket.hpp"

using namespace berth;

// A socket in a directory whose path alone is longer than sun_path (108 bytes): bound and
// reached through the directory's fd, as the VM shim's control socket under a containerd root.
TEST(UnixSocket, ADirectoryPathLongerThanSunPathStillBindsAndConnects) {
    char tmpl[] = "/tmp/berth-unix-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = std::string(tmpl) + "/" + std::string(120, 'd');
    ASSERT_TRUE(fs::mkdirAll(dir).ok());
    UniqueFd dirFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dirFd);
    UnixAddress a = unixAddressAt(dirFd.get(), "x.sock");
    UniqueFd l(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(l.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len), 0);
    ASSERT_EQ(::listen(l.get(), 1), 0);
    struct stat st;
    EXPECT_EQ(::stat((dir + "/x.sock").c_str(), &st), 0);  // made where the long path says
    auto c = connectUnixAt(dir, "x.sock", SOCK_SEQPACKET);
    EXPECT_TRUE(c.ok());
    auto missing = connectUnixAt(dir, "nope.sock", SOCK_SEQPACKET);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().what().find(dir + "/nope.sock"), std::string::npos);
    ASSERT_TRUE(fs::removeAll(tmpl).ok());
}
