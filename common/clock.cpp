#include "common/clock.hpp"

#include <time.h>

#include <chrono>
#include <cstdio>

namespace berth {

std::string rfc3339Now() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    // The civil date by std::chrono's calendar, not gmtime_r/strftime: glibc's gmtime_r and
    // strftime both run tzset, which opens and reads /etc/localtime (8 system calls in every
    // `create`) for a UTC time that needs no zone.
    using namespace std::chrono;
    sys_seconds t{seconds{ts.tv_sec}};
    sys_days day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss hms{t - day};
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lld.%09ldZ", static_cast<int>(ymd.year()),
             static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
             static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
             static_cast<long long>(hms.seconds().count()), ts.tv_nsec);
    return buf;
}

}  // namespace berth
