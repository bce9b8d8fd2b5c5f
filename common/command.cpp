// common/command: fork/exec of host tools with stdin, stdout and stderr on pipes.
#include "common/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"

extern char** environ;

namespace berth {
namespace {

// The line of a tool's stderr the user needs to read: its first "error..." line (procps prints
// usage after it), else its last non-empty line (mkfs, nft, resize2fs end with the reason).
std::string reasonLine(const std::string& text) {
    auto lines = fs::split(fs::trim(text), '\n');
    for (const auto& line : lines) {
        std::string l = fs::trim(line);
        if (l.size() >= 5 && ::strncasecmp(l.c_str(), "error", 5) == 0) return l;
    }
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        std::string l = fs::trim(*it);
        if (!l.empty()) return l;
    }
    return "exit status non-zero";
}

// Read out and err until both close.
void drain(UniqueFd& out, UniqueFd& err, std::string& outText, std::string& errText) {
    char buf[4096];
    while (out.valid() || err.valid()) {
        pollfd fds[2] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        UniqueFd* readers[2] = {&out, &err};
        std::string* texts[2] = {&outText, &errText};
        for (int i = 0; i < 2; i++) {
            if (!readers[i]->valid() || !fds[i].revents) continue;
            ssize_t n = ::read(readers[i]->get(), buf, sizeof buf);
            if (n <= 0)
                readers[i]->reset();
            else
                texts[i]->append(buf, static_cast<size_t>(n));
        }
    }
}

// The child's stdin: a memfd holding `input` (no pipe to write into, so no SIGPIPE when the
// tool exits before reading it all).
Result<UniqueFd> stdinWith(const std::string& input) {
    UniqueFd fd(::memfd_create("berth-stdin", MFD_CLOEXEC));
    if (!fd) return Error::fromErrno("memfd_create");
    size_t off = 0;
    while (off < input.size()) {
        ssize_t n = ::write(fd.get(), input.data() + off, input.size() - off);
        if (n < 0) return Error::fromErrno("write tool input");
        off += static_cast<size_t>(n);
    }
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) return Error::fromErrno("lseek");
    return fd;
}

}  // namespace

Result<std::string> runCommand(const std::vector<std::string>& args, const std::string& input,
                                   int maxOkStatus) {
    int pout[2], perr[2];
    ASSIGN_OR_RETURN(UniqueFd inRd, stdinWith(input));
    if (::pipe2(pout, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd outRd(pout[0]), outWr(pout[1]);
    if (::pipe2(perr, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd errRd(perr[0]), errWr(perr[1]);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, inRd.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, outWr.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, errWr.get(), 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid;
    int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return Error(rc, strCat("run ", args[0]));
    inRd.reset();
    outWr.reset();
    errWr.reset();

    std::string outText, errText;
    drain(outRd, errRd, outText, errText);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) > maxOkStatus)
        return Error(0,
                     strCat(args[0], " failed: ", reasonLine(errText.empty() ? outText : errText)));
    return outText;
}

}  // namespace berth
