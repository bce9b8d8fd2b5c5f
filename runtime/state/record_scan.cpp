#include "runtime/state/record_scan.hpp"

#include <charconv>
#include <cstdint>
#include <utility>

namespace berth::runtime::state::detail {
namespace {

// A cursor over the text; every reader returns false for anything it does not take, and the
// whole scan then gives up (the caller falls back to nlohmann).
class Scanner {
public:
    explicit Scanner(std::string_view t) : t_(t) {}

    void ws() {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\t' || t_[i_] == '\r')) i_++;
    }
    bool eat(char c) {
        ws();
        if (i_ >= t_.size() || t_[i_] != c) return false;
        i_++;
        return true;
    }
    bool peek(char c) {
        ws();
        return i_ < t_.size() && t_[i_] == c;
    }
    bool atEnd() {
        ws();
        return i_ == t_.size();
    }

    // A string with the escapes nlohmann's dump writes for ASCII text. A \u escape or a byte
    // outside ASCII (which nlohmann would check as UTF-8) is left to nlohmann.
    // out null: checked and skipped.
    bool string(std::string* out) {
        if (!eat('"')) return false;
        if (out) out->clear();
        size_t run = i_;
        while (i_ < t_.size()) {
            auto c = static_cast<unsigned char>(t_[i_]);
            if (c == '"') {
                if (out) out->append(t_.data() + run, i_ - run);
                i_++;
                return true;
            }
            if (c < 0x20 || c >= 0x80) return false;
            if (c != '\\') {
                i_++;
                continue;
            }
            if (out) out->append(t_.data() + run, i_ - run);
            if (++i_ >= t_.size()) return false;
            char e;
            switch (t_[i_]) {
                case '"': e = '"'; break;
                case '\\': e = '\\'; break;
                case '/': e = '/'; break;
                case 'b': e = '\b'; break;
                case 'f': e = '\f'; break;
                case 'n': e = '\n'; break;
                case 'r': e = '\r'; break;
                case 't': e = '\t'; break;
                default: return false;
            }
            if (out) *out += e;
            run = ++i_;
        }
        return false;
    }

    // A JSON integer (no fraction, no exponent) that fits T, as readInteger takes it.
    template <typename T>
    bool integer(T& out) {
        ws();
        size_t start = i_;
        if (i_ < t_.size() && t_[i_] == '-') i_++;
        size_t digits = i_;
        while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') i_++;
        if (i_ == digits || (t_[digits] == '0' && i_ - digits > 1)) return false;
        if (i_ < t_.size() && (t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E')) return false;
        auto [end, ec] = std::from_chars(t_.data() + start, t_.data() + i_, out);
        return ec == std::errc() && end == t_.data() + i_;
    }

    bool boolean(bool& out) {
        ws();
        if (t_.substr(i_, 4) == "true") {
            i_ += 4;
            out = true;
            return true;
        }
        if (t_.substr(i_, 5) == "false") {
            i_ += 5;
            out = false;
            return true;
        }
        return false;
    }

    bool null() {
        ws();
        if (t_.substr(i_, 4) != "null") return false;
        i_ += 4;
        return true;
    }

    // {"k":"v",...} into out (the last of a repeated key wins, as in nlohmann).
    // out null: checked and skipped.
    bool stringMap(std::map<std::string, std::string>* out) {
        if (!eat('{')) return false;
        if (out) out->clear();
        if (eat('}')) return true;
        std::string k, v;
        do {
            if (!string(out ? &k : nullptr) || !eat(':') || !string(out ? &v : nullptr)) return false;
            if (out) out->insert_or_assign(std::move(k), std::move(v));
        } while (eat(','));
        return eat('}');
    }

    bool stringArray(std::vector<std::string>* out) {
        if (!eat('[')) return false;
        if (out) out->clear();
        if (eat(']')) return true;
        std::string v;
        do {
            if (!string(out ? &v : nullptr)) return false;
            if (out) out->push_back(std::move(v));
        } while (eat(','));
        return eat(']');
    }

private:
    std::string_view t_;
    size_t i_ = 0;
};

bool statusNamed(const std::string& n, ContainerStatus& out) {
    for (auto s : {ContainerStatus::Creating, ContainerStatus::Created, ContainerStatus::Running, ContainerStatus::Paused,
                   ContainerStatus::Stopped})
        if (n == statusName(s)) {
            out = s;
            return true;
        }
    return false;
}

// One member's value into s; false for a member or a value this scanner does not take.
bool member(Scanner& in, std::string_view key, ContainerState& s, bool summary, unsigned& required) {
    std::string saved;
    auto need = [&](unsigned bit, bool ok) {
        required |= bit;
        return ok;
    };
    if (key == "id") return need(1, in.string(&s.id));
    if (key == "pid") return need(2, in.integer(s.pid));
    if (key == "pidStartTime") return need(4, in.integer(s.pidStartTime));
    if (key == "bundle") return need(8, in.string(&s.bundle));
    if (key == "rootfs") return need(16, in.string(&s.rootfs));
    if (key == "created") return need(32, in.string(&s.created));
    if (key == "saved") return need(64, in.string(&saved) && statusNamed(saved, s.saved));
    if (key == "creatorPid") return in.integer(s.creatorPid);
    if (key == "creatorStartTime") return in.integer(s.creatorStartTime);
    if (key == "owner") return in.string(&s.owner);
    if (key == "annotations") return in.stringMap(&s.annotations);
    if (key == "cgroupDriver") return in.string(&s.cgroup.driver);
    if (key == "cgroupPaths") return in.stringMap(summary ? nullptr : &s.cgroup.paths);
    if (key == "cgroupUnit") return in.string(&s.cgroup.unit);
    if (key == "cgroupParentsMade") return in.stringArray(summary ? nullptr : &s.cgroup.madeParents);
    if (key == "systemdCgroup") return in.boolean(s.systemdCgroup);
    if (key == "noPivot") return in.boolean(s.noPivot);
    if (key == "noNewKeyring") return in.boolean(s.noNewKeyring);
    if (key == "imageBundle") return in.string(&s.imageBundle);
    if (key == "handler") return in.string(&s.handler);
    if (key == "config") return in.null();  // an older build's record holds its config: nlohmann
    return false;
}

}  // namespace

std::optional<ContainerState> scanRecord(std::string_view text, bool summary) {
    constexpr unsigned kAllRequired = 127;
    Scanner in(text);
    ContainerState s;
    s.cgroup.driver = "cgroupfs";  // fromJson's default for a record without the member
    unsigned required = 0;
    if (!in.eat('{')) return std::nullopt;
    if (!in.peek('}')) {
        std::string key;
        do {
            if (!in.string(&key) || !in.eat(':') || !member(in, key, s, summary, required)) return std::nullopt;
        } while (in.eat(','));
    }
    if (!in.eat('}') || !in.atEnd() || required != kAllRequired) return std::nullopt;
    return s;
}

}  // namespace berth::runtime::state::detail
